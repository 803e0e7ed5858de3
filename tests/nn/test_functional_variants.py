"""The random variants: rrelu in training (per-element slopes in [lower, upper], which
are also its gradient) and gumbel_softmax (soft samples on the simplex whose argmax
follows softmax(logits); hard samples one-hot with the soft gradient)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


def test_rrelu_training_draws_slopes_that_are_its_gradient():
    cr.manual_seed(0)
    x = cr.tensor(np.linspace(-3, 3, 2001), requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    y.sum().backward()
    neg = x.detach().numpy() <= 0
    g = x.grad.numpy()
    assert np.all((g[neg] >= 0.1) & (g[neg] <= 0.3)) and np.all(g[~neg] == 1)
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() * g)
    assert 0.19 < g[neg].mean() < 0.21 and g[neg].std() > 0.05
    m = nn.RReLU(0.1, 0.3).eval()
    np.testing.assert_allclose(m(cr.tensor([-1.0, 2.0])).numpy(), [-0.2, 2.0])
    with pytest.raises(ValueError, match="rrelu: lower bound"):
        F.rrelu(x, 0.5, 0.1, training=True)


def test_rrelu_inplace_writes_the_input():
    cr.manual_seed(1)
    x = cr.tensor([-1.0, 1.0])
    F.rrelu_(x, training=True)
    assert 1 / 8 <= -x[0].item() <= 1 / 3 and x[1].item() == 1.0


def test_gumbel_softmax_samples_follow_softmax():
    cr.manual_seed(0)
    logits = cr.tensor(np.log([0.6, 0.3, 0.1]))
    ys = F.gumbel_softmax(logits.expand(20000, 3), tau=0.5)
    y = ys.numpy()
    np.testing.assert_allclose(y.sum(1), 1, rtol=1e-6)
    freq = np.bincount(y.argmax(1), minlength=3) / len(y)
    np.testing.assert_allclose(freq, [0.6, 0.3, 0.1], atol=0.015)


def test_gumbel_softmax_hard_is_one_hot_with_the_soft_gradient():
    logits = cr.randn(4, 5, requires_grad=True)
    w = cr.randn(4, 5)
    cr.manual_seed(0)
    y = F.gumbel_softmax(logits, tau=1.0, hard=True)
    assert set(np.unique(y.detach().numpy())) == {0.0, 1.0}
    np.testing.assert_array_equal(y.detach().numpy().sum(1), 1)
    (y * w).sum().backward()
    cr.manual_seed(0)
    logits2 = cr.tensor(logits.detach().numpy(), requires_grad=True)
    soft = F.gumbel_softmax(logits2, tau=1.0)
    (soft * w).sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), logits2.grad.numpy(), rtol=1e-6)
