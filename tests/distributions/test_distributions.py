"""chainrule.distributions against torch.distributions (the oracle): log_prob, entropy,
moments, KL and their gradients; sample shapes and statistics."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.distributions as CD

torch = pytest.importorskip("torch")
TD = torch.distributions

RNG = np.random.default_rng(0)
LOC, SCALE = RNG.normal(size=(2, 3)), RNG.uniform(0.5, 2.0, (2, 3))
PROBS = RNG.uniform(0.1, 1.0, (2, 4))
BIN_P = RNG.uniform(0.05, 0.95, (3,))


def _pair(name, *params, **kw):
    """(ours, torch's) distribution from float64 numpy params (tensors requiring grad)."""
    ours = [cr.tensor(p, requires_grad=True) if isinstance(p, np.ndarray) else p for p in params]
    theirs = [torch.tensor(p, requires_grad=True) if isinstance(p, np.ndarray) else p
              for p in params]
    okw = {k: cr.tensor(v, requires_grad=True) for k, v in kw.items()}
    tkw = {k: torch.tensor(v, requires_grad=True) for k, v in kw.items()}
    return getattr(CD, name)(*ours, **okw), getattr(TD, name)(*theirs, **tkw), ours + \
        list(okw.values()), theirs + list(tkw.values())


def _check(ours, theirs, oparams, tparams):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6,
                               atol=1e-9)
    ours.sum().backward()
    theirs.sum().backward()
    for o, t in zip(oparams, tparams):
        if isinstance(o, cr.Tensor) and (o.grad is None or t.grad is None):
            assert o.grad is None and t.grad is None  # the value does not depend on it
        elif isinstance(o, cr.Tensor):
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-9)


CASES = {
    "Normal": (("Normal", LOC, SCALE), {}, lambda: RNG.normal(size=(2, 3))),
    "Uniform": (("Uniform", LOC, LOC + SCALE), {}, lambda: LOC + 0.5 * SCALE),
    "Bernoulli-probs": (("Bernoulli",), {"probs": BIN_P}, lambda: np.array([0., 1., 1.])),
    "Bernoulli-logits": (("Bernoulli",), {"logits": BIN_P - 0.5}, lambda: np.array([1., 0., 1.])),
    "Categorical-probs": (("Categorical",), {"probs": PROBS}, lambda: np.array([[0, 3], [2, 1]])),
    "Categorical-logits": (("Categorical",), {"logits": PROBS}, lambda: np.array([1, 2])),
    "Multinomial": (("Multinomial", 5), {"probs": PROBS},
                    lambda: np.array([[1., 2., 0., 2.], [0., 0., 5., 0.]])),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_log_prob(case):
    args, kw, value = CASES[case]
    o, t, op, tp = _pair(*args, **kw)
    v = value()
    _check(o.log_prob(cr.tensor(v)), t.log_prob(torch.tensor(v)), op, tp)


@pytest.mark.parametrize("case", sorted(CASES))
def test_entropy(case):
    args, kw, _ = CASES[case]
    o, t, op, tp = _pair(*args, **kw)
    _check(o.entropy(), t.entropy(), op, tp)


@pytest.mark.parametrize("case", ["Normal", "Uniform", "Bernoulli-probs", "Multinomial"])
def test_moments(case):
    args, kw, _ = CASES[case]
    o, t, _, _ = _pair(*args, **kw)
    for attr in ("mean", "variance", "stddev"):
        np.testing.assert_allclose(getattr(o, attr).detach().numpy(),
                                   getattr(t, attr).detach().numpy(), rtol=1e-6)
    assert o.batch_shape == tuple(t.batch_shape) and o.event_shape == tuple(t.event_shape)


@pytest.mark.parametrize("kind", [("Normal", (LOC, SCALE), (LOC * 0.5, SCALE * 2)),
                                  ("Bernoulli", (BIN_P,), (BIN_P[::-1].copy(),)),
                                  ("Categorical", (PROBS,), (PROBS[::-1].copy(),)),
                                  ("Uniform", (LOC, LOC + 1), (LOC - 1, LOC + 2))])
def test_kl_divergence(kind):
    name, p1, p2 = kind
    o1, t1, op1, tp1 = _pair(name, *p1)
    o2, t2, op2, tp2 = _pair(name, *p2)
    _check(CD.kl_divergence(o1, o2), TD.kl_divergence(t1, t2), op1 + op2, tp1 + tp2)


def test_kl_missing_pair():
    with pytest.raises(NotImplementedError, match="Bernoulli"):
        CD.kl_divergence(CD.Bernoulli(probs=0.3), CD.Normal(0.0, 1.0))


def test_samples_shapes_and_statistics():
    cr.manual_seed(0)
    n = CD.Normal(cr.tensor([0.0, 3.0]), cr.tensor([1.0, 0.5]))
    s = n.sample((20000,))
    assert s.shape == (20000, 2) and not s.requires_grad
    np.testing.assert_allclose(s.numpy().mean(0), [0.0, 3.0], atol=0.03)
    np.testing.assert_allclose(s.numpy().std(0), [1.0, 0.5], atol=0.03)
    c = CD.Categorical(probs=cr.tensor([[0.1, 0.9, 0.0], [0.5, 0.0, 0.5]]))
    cs = c.sample((5000,)).numpy()
    assert cs.shape == (5000, 2) and cs.dtype == np.int64
    np.testing.assert_allclose((cs[:, 0] == 1).mean(), 0.9, atol=0.03)
    assert not (cs[:, 1] == 1).any()
    b = CD.Bernoulli(probs=cr.full((4,), 0.25)).sample((3000,))
    assert b.shape == (3000, 4) and abs(float(b.mean()) - 0.25) < 0.03
    m = CD.Multinomial(10, probs=cr.tensor([0.2, 0.8])).sample((7,))
    assert m.shape == (7, 2) and (m.sum(-1).numpy() == 10).all()
    u = CD.Uniform(-1.0, 1.0).sample((1000,))
    assert u.shape == (1000,) and float(u.min()) >= -1 and float(u.max()) < 1


def test_rsample_is_differentiable():
    loc = cr.tensor([0.5], requires_grad=True)
    scale = cr.tensor([2.0], requires_grad=True)
    s = CD.Normal(loc, scale).rsample((4,))
    s.sum().backward()
    assert loc.grad.item() == 4.0 and scale.grad is not None
    assert not CD.Categorical(probs=cr.ones(3)).has_rsample
    with pytest.raises(NotImplementedError, match="rsample"):
        CD.Bernoulli(probs=0.5).rsample()
