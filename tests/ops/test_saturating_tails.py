"""sigmoid and silu keep their relative precision in the saturated tails, as torch's do.

The op table draws samples from moderate ranges and compares with an absolute tolerance,
which a value of 2e-9 computed as 0 passes.  That was chainrule's sigmoid(-20) in float32
(``tanh(x/2)/2 + 1/2`` cancels below ~1e-8), and it made ``BCELoss(sigmoid(z))`` flat at
its clamp of 100 with a zero gradient for z < -17, where torch's gradient is -1: a DCGAN
discriminator's confident fake scores then stopped the generator (torch's own DCGAN
example, issue #12's client comparison).  Relative errors are what is checked here.
"""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sigmoid", "silu"])
def test_tails_match_torch_to_relative_precision(name, dtype):
    # down to where torch's float32 sigmoid leaves the normal range (e^-87)
    x = np.concatenate([np.linspace(-87, 40, 509), [-30.5, -17.25, 0.0]]).astype(dtype)
    ours = getattr(cr.nn.functional, name)(cr.tensor(x)).numpy()
    want = getattr(torch.nn.functional, name)(torch.tensor(x)).numpy()
    assert ours.dtype == want.dtype
    assert _rel(ours, want) < (1e-6 if dtype == np.float32 else 1e-14)


def test_sigmoid_limits_and_nan():
    x = np.array([-np.inf, np.inf, np.nan, -1e4, 1e4], np.float32)
    np.testing.assert_array_equal(cr.sigmoid(cr.tensor(x)).numpy(),
                                  np.array([0, 1, np.nan, 0, 1], np.float32))


def test_bce_of_sigmoid_gradient_in_the_tail_matches_torch():
    z = np.linspace(-60, 10, 141).astype(np.float32)
    tz = torch.tensor(z, requires_grad=True)
    torch.nn.BCELoss()(torch.sigmoid(tz), torch.ones(z.size)).backward()
    cz = cr.tensor(z, requires_grad=True)
    cr.nn.BCELoss()(cr.sigmoid(cz), cr.ones(z.size)).backward()
    assert _rel(cz.grad.numpy(), tz.grad.numpy()) < 1e-5
    assert cz.grad.numpy()[np.searchsorted(z, -20.0)] == pytest.approx(-1 / z.size, rel=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_keeps_small_losses_and_gradients(dtype):
    """Confident-correct logits: the loss and its gradient are ~e^-|x|, not 0.  The
    composed ``(1 - y) x - logsigmoid(x)`` cancelled both to 0 in float32 (x = -20,
    y = 0: torch gives 2.1e-9); the fused op keeps them to relative precision."""
    x = np.concatenate([np.linspace(-80, 80, 321), [0.0, -20.0, 20.0]]).astype(dtype)
    for y in (np.zeros_like(x), np.ones_like(x), np.full_like(x, 0.25)):
        xt, yt = cr.tensor(x, requires_grad=True), cr.tensor(y, requires_grad=True)
        loss = cr.nn.functional.binary_cross_entropy_with_logits(xt, yt, reduction="none")
        loss.sum().backward()
        rx, ry = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
        ref = torch.nn.functional.binary_cross_entropy_with_logits(rx, ry, reduction="none")
        ref.sum().backward()
        tol = 1e-5 if dtype == np.float32 else 1e-12
        # torch's own forward cancels in the tail (7.1e-15 for 4.7e-15 at x = -33.5 in
        # float64), so the loss is checked against y softplus(-x) + (1 - y) softplus(x)
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        exact = y64 * np.logaddexp(0, -x64) + (1 - y64) * np.logaddexp(0, x64)
        assert _rel(loss.detach().numpy(), exact) < tol
        np.testing.assert_allclose(loss.detach().numpy(), ref.detach().numpy(), atol=1e-5)
        g, want = xt.grad.numpy(), rx.grad.numpy()
        keep = np.abs(want) > 1e-30
        assert _rel(g[keep], want[keep]) < tol and np.all(np.abs(g[~keep]) < 1e-30)
        np.testing.assert_allclose(yt.grad.numpy(), ry.grad.numpy(), rtol=1e-6)
