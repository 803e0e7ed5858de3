"""The distributions of chainrule/distributions/more.py against torch.distributions:
log_prob, entropy, moments and KL with their gradients in the parameters; samples'
shapes and statistics."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.distributions as CD

torch = pytest.importorskip("torch")
TD = torch.distributions

RNG = np.random.default_rng(1)
POS = RNG.uniform(0.5, 3.0, (2, 3))
POS2 = RNG.uniform(0.5, 3.0, (2, 3))
LOC = RNG.normal(size=(2, 3))
P = RNG.uniform(0.1, 0.9, (2, 3))
ALPHA = RNG.uniform(0.5, 3.0, (2, 4))


def _mk(lib, name, params, kw):
    def conv(v):
        if isinstance(v, np.ndarray):
            return lib.tensor(v, requires_grad=True)
        return v
    ps = [conv(v) for v in params]
    kws = {k: conv(v) for k, v in kw.items()}
    mod = CD if lib is cr else TD
    return getattr(mod, name)(*ps, **kws), [v for v in ps + list(kws.values())
                                              if hasattr(v, "requires_grad")]


# name -> (params, kwargs, value drawn in the support, has entropy in torch)
CASES = {
    "Exponential": ((POS,), {}, lambda: RNG.uniform(0.1, 3, (2, 3))),
    "Laplace": ((LOC, POS), {}, lambda: RNG.normal(size=(2, 3))),
    "LogNormal": ((LOC, POS), {}, lambda: RNG.uniform(0.1, 3, (2, 3))),
    "Gumbel": ((LOC, POS), {}, lambda: RNG.normal(size=(2, 3))),
    "Cauchy": ((LOC, POS), {}, lambda: RNG.normal(size=(2, 3))),
    "HalfNormal": ((POS,), {}, lambda: RNG.uniform(0.1, 3, (2, 3))),
    "Gamma": ((POS, POS2), {}, lambda: RNG.uniform(0.1, 3, (2, 3))),
    "Beta": ((POS, POS2), {}, lambda: RNG.uniform(0.05, 0.95, (2, 3))),
    "Dirichlet": ((ALPHA,), {}, lambda: RNG.dirichlet(np.ones(4), 2)),
    "Poisson": ((POS,), {}, lambda: RNG.poisson(2.0, (2, 3)).astype(float)),
    "Geometric": ((), {"probs": P}, lambda: RNG.integers(0, 5, (2, 3)).astype(float)),
    "Binomial": ((7.0,), {"probs": P}, lambda: RNG.integers(0, 8, (2, 3)).astype(float)),
    "Binomial-logits": ((7.0,), {"logits": LOC}, lambda: RNG.integers(0, 8, (2, 3)).astype(float)),
    "OneHotCategorical": ((), {"probs": ALPHA},
                          lambda: np.eye(4)[RNG.integers(0, 4, 2)]),
}
NO_ENTROPY = {"Poisson", "Binomial", "Binomial-logits"}  # torch's needs enumeration


def _both(case):
    params, kw, value = CASES[case]
    name = case.split("-")[0]
    o, op = _mk(cr, name, params, kw)
    t, tp = _mk(torch, name, params, kw)
    return o, t, op, tp, value


def _check(ours, theirs, op, tp):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-7,
                               atol=1e-9)
    ours.sum().backward()
    theirs.sum().backward()
    for o, t in zip(op, tp):
        if t.grad is None:
            assert o.grad is None or np.allclose(o.grad.numpy(), 0)
        else:
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("case", sorted(CASES))
def test_log_prob(case):
    o, t, op, tp, value = _both(case)
    v = value()
    _check(o.log_prob(cr.tensor(v)), t.log_prob(torch.tensor(v)), op, tp)


@pytest.mark.parametrize("case", sorted(set(CASES) - NO_ENTROPY))
def test_entropy(case):
    o, t, op, tp, _ = _both(case)
    _check(o.entropy(), t.entropy(), op, tp)


@pytest.mark.parametrize("case", sorted(set(CASES) - {"Cauchy"}))
def test_moments_and_shapes(case):
    o, t, _, _, _ = _both(case)
    for attr in ("mean", "variance"):
        np.testing.assert_allclose(getattr(o, attr).detach().numpy(),
                                   getattr(t, attr).detach().numpy(), rtol=1e-7)
    assert o.batch_shape == tuple(t.batch_shape) and o.event_shape == tuple(t.event_shape)


@pytest.mark.parametrize("name, a, b", [
    ("Exponential", (POS,), (POS2,)), ("Laplace", (LOC, POS), (LOC * 0.3, POS2)),
    ("Gamma", (POS, POS2), (POS2, POS)), ("Beta", (POS, POS2), (POS2, POS)),
    ("Dirichlet", (ALPHA,), (ALPHA[::-1].copy(),)), ("Poisson", (POS,), (POS2,)),
])
def test_kl_divergence(name, a, b):
    o1, op1 = _mk(cr, name, a, {})
    o2, op2 = _mk(cr, name, b, {})
    t1, tp1 = _mk(torch, name, a, {})
    t2, tp2 = _mk(torch, name, b, {})
    _check(CD.kl_divergence(o1, o2), TD.kl_divergence(t1, t2), op1 + op2, tp1 + tp2)


def test_independent_sums_the_reinterpreted_dims_like_torch():
    o, op = _mk(cr, "Normal", (LOC, POS), {})
    t, tp = _mk(torch, "Normal", (LOC, POS), {})
    oi, ti = CD.Independent(o, 1), TD.Independent(t, 1)
    assert oi.batch_shape == (2,) and oi.event_shape == (3,)
    v = RNG.normal(size=(2, 3))
    _check(oi.log_prob(cr.tensor(v)) + oi.entropy(),
           ti.log_prob(torch.tensor(v)) + ti.entropy(), op, tp)
    o2, _ = _mk(cr, "Normal", (LOC * 0, POS), {})
    t2, _ = _mk(torch, "Normal", (LOC * 0, POS), {})
    np.testing.assert_allclose(
        CD.kl_divergence(oi, CD.Independent(o2, 1)).detach().numpy(),
        TD.kl_divergence(ti, TD.Independent(t2, 1)).detach().numpy(), rtol=1e-7)


def test_samples_have_the_right_shapes_and_statistics():
    cr.manual_seed(0)
    n = 20000
    checks = [(CD.Exponential(cr.tensor(2.0)), 0.5, 0.25),
              (CD.Laplace(cr.tensor(1.0), cr.tensor(0.5)), 1.0, 0.5),
              (CD.Gumbel(cr.tensor(0.0), cr.tensor(1.0)), 0.5772, np.pi ** 2 / 6),
              (CD.HalfNormal(cr.tensor(1.0)), np.sqrt(2 / np.pi), 1 - 2 / np.pi),
              (CD.LogNormal(cr.tensor(0.0), cr.tensor(0.5)), np.exp(0.125),
               (np.exp(0.25) - 1) * np.exp(0.25)),
              (CD.Gamma(cr.tensor(3.0), cr.tensor(2.0)), 1.5, 0.75),
              (CD.Beta(cr.tensor(2.0), cr.tensor(3.0)), 0.4, 0.04),
              (CD.Poisson(cr.tensor(4.0)), 4.0, 4.0),
              (CD.Geometric(probs=cr.tensor(0.25)), 3.0, 12.0),
              (CD.Binomial(10, probs=cr.tensor(0.3)), 3.0, 2.1)]
    for d, mean, var in checks:
        s = d.sample((n,)).numpy()
        assert s.shape == (n,), type(d).__name__
        assert abs(s.mean() - mean) < 4 * np.sqrt(var / n) + 1e-3, type(d).__name__
        assert abs(s.var() - var) < 0.1 * var, type(d).__name__
    dr = CD.Dirichlet(cr.tensor([1.0, 2.0, 3.0])).sample((n,)).numpy()
    assert dr.shape == (n, 3) and np.allclose(dr.sum(-1), 1)
    np.testing.assert_allclose(dr.mean(0), [1 / 6, 2 / 6, 3 / 6], atol=0.01)
    oh = CD.OneHotCategorical(probs=cr.tensor([0.2, 0.8])).sample((n,)).numpy()
    assert oh.shape == (n, 2) and (oh.sum(-1) == 1).all() and abs(oh[:, 1].mean() - 0.8) < 0.02


def test_reparameterized_samples_carry_gradients_and_gamma_family_refuses():
    rate = cr.tensor(2.0, requires_grad=True)
    CD.Exponential(rate).rsample((5,)).sum().backward()
    assert rate.grad is not None and rate.grad.item() < 0
    for d in (CD.Gamma(2.0, 1.0), CD.Beta(2.0, 1.0), CD.Dirichlet(cr.ones(3))):
        assert not d.has_rsample
        with pytest.raises(NotImplementedError, match="rsample"):
            d.rsample()
