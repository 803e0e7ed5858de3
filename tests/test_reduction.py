"""Edge cases of the reduction and sorting families (the op table covers the
generic forward/gradient checks)."""
import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")


def _pair(a, grad=True):
    a = np.asarray(a, dtype=np.float64)
    return cr.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _grad_close(y, x, ty, tx, w=None):
    w = np.ones(y.shape) if w is None else w
    (g,) = cr.autograd.grad(y, [x], cr.tensor(w))
    (tg,) = torch.autograd.grad(ty, [tx], torch.tensor(w))
    np.testing.assert_allclose(g.numpy(), tg.numpy(), atol=1e-12)


# ---------------------------------------------------------------- named tuples
def test_max_dim_returns_named_tuple():
    x = cr.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    r = x.max(dim=1)
    values, indices = r
    assert r.values is values and r.indices is indices and r[0] is values
    assert values.tolist() == [5.0, 6.0] and indices.tolist() == [1, 2]
    assert indices.dtype == cr.int64 and not indices.requires_grad
    assert repr(r).startswith("chainrule.return_types.max(\nvalues=")
    assert type(cr.sort(x)).__name__ == "sort" and type(cr.topk(x, 1)).__name__ == "topk"
    assert cr.min(x, 0, True).values.shape == (1, 3)
    assert isinstance(cr.median(x, 1), cr.return_types.median)


def test_named_tuple_values_are_differentiable():
    x, tx = _pair([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    for f in (lambda m, t: m.max(t, 1).values, lambda m, t: m.sort(t, 0, True).values,
              lambda m, t: m.topk(t, 2).values, lambda m, t: m.median(t, 1).values):
        y = f(cr, x)
        assert y.requires_grad and y.grad_fn is not None
        _grad_close(y, x, f(torch, tx), tx, np.arange(y.numel()).reshape(y.shape) + 1.0)


def test_max_binary_delegates_to_maximum():
    a, b = cr.tensor([1.0, 4.0]), cr.tensor([3.0, 2.0])
    assert cr.max(a, b).tolist() == [3.0, 4.0] and a.min(b).tolist() == [1.0, 2.0]
    assert cr.max(a, other=b).tolist() == [3.0, 4.0]


# ---------------------------------------------------------------- ties
@pytest.mark.parametrize("op", [
    lambda m, t: m.amax(t), lambda m, t: m.amax(t, 1), lambda m, t: m.amin(t, (0, 1)),
    lambda m, t: m.max(t), lambda m, t: m.min(t), lambda m, t: m.median(t),
    lambda m, t: m.norm(t, float("inf"), 1), lambda m, t: m.amax(t, 0, keepdim=True),
])
def test_tie_gradients_match_torch(op):
    data = [[1.0, 3.0, 3.0, -3.0], [2.0, 2.0, -1.0, 2.0], [3.0, 0.5, 3.0, 1.0]]
    x, tx = _pair(data)
    y, ty = op(cr, x), op(torch, tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    _grad_close(y, x, ty, tx, np.random.default_rng(0).standard_normal(y.shape))


def test_sort_is_stable_with_ties_like_torch():
    data = [[2.0, 1.0, 2.0, 1.0, 3.0, 2.0], [0.0, 0.0, -1.0, 0.0, 5.0, 5.0]]
    x, tx = _pair(data, grad=False)
    for desc in (False, True):
        a, ta = cr.sort(x, descending=desc), torch.sort(tx, descending=desc, stable=True)
        assert a.indices.tolist() == ta.indices.tolist()
        assert cr.argsort(x, 1, desc).tolist() == ta.indices.tolist()


def test_nan_handling_matches_torch():
    data = [[1.0, math.nan, 3.0, 0.0], [2.0, 5.0, -1.0, 4.0]]
    x, tx = _pair(data, grad=False)
    for f in (lambda m, t: m.max(t, 1), lambda m, t: m.sort(t, 1),
              lambda m, t: m.sort(t, 1, descending=True), lambda m, t: m.median(t, 1)):
        r, tr = f(cr, x), f(torch, tx)
        np.testing.assert_array_equal(r.values.numpy(), tr.values.numpy())
        assert r.indices.tolist() == tr.indices.tolist()
    assert math.isnan(cr.max(x).item()) and math.isnan(cr.median(x).item())
    assert cr.argmax(x).item() == torch.argmax(tx).item()


# ---------------------------------------------------------------- argmax & friends
def test_argmax_keepdim_and_flatten():
    x = cr.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    assert cr.argmax(x).item() == 5 and cr.argmax(x).shape == ()
    assert cr.argmax(x, keepdim=True).shape == (1, 1)
    assert x.argmax(dim=1, keepdim=True).tolist() == [[1], [2]]
    assert x.argmin(0).tolist() == [0, 1, 0] and x.argmin(0).dtype == cr.int64
    assert cr.argmax(cr.tensor(3.0), 0, True).shape == ()


def test_integer_dtypes_follow_torch():
    i = cr.tensor([[1, 2, 3], [4, 5, 6]], dtype=cr.int32)
    b = cr.tensor([True, True, False])
    assert cr.sum(i).dtype == cr.int64 and cr.prod(i, 1).dtype == cr.int64
    assert cr.prod(b).dtype == cr.int64 and cr.cumsum(b, 0).tolist() == [1, 2, 2]
    assert cr.cumprod(i, 1, dtype=cr.float32).dtype == cr.float32
    assert cr.amax(i).dtype == cr.int32 and cr.max(i, 1).values.dtype == cr.int32
    assert cr.logsumexp(i, 1).dtype == cr.float32
    assert cr.all(cr.tensor([1, 2], dtype=cr.uint8)).dtype == cr.uint8
    assert cr.any(i > 5).dtype == cr.bool and cr.count_nonzero(i - 1).item() == 5


def test_empty_tuple_dim_reduces_everything_like_torch():
    x = cr.tensor([[1.0, 5.0], [4.0, 2.0]])
    assert cr.sum(x, ()).item() == 12.0 and cr.amax(x, ()).item() == 5.0
    assert cr.mean(x, dim=()).item() == 3.0


def test_method_forms():
    x = cr.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    tx = torch.tensor(x.numpy())
    pairs = [(x.std(unbiased=False), tx.std(unbiased=False)),
             (x.var(1, keepdim=True), tx.var(1, keepdim=True)),
             (x.topk(2, largest=False).values, tx.topk(2, largest=False).values),
             (x.norm(p=1, dim=0), tx.norm(p=1, dim=0)), (x.prod(1), tx.prod(1)),
             (x.cumprod(dim=1), tx.cumprod(dim=1)), (x.logsumexp(1), tx.logsumexp(1)),
             (x.nansum(), tx.nansum()), (x.median(), tx.median())]
    for a, b in pairs:
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


# ---------------------------------------------------------------- zeros and stability
def test_norm_gradient_at_zero_is_zero():
    for p in (2, 3, 1.5):
        x, tx = _pair([[0.0, 0.0], [1.0, -2.0]])
        _grad_close(cr.norm(x, p, 1), x, torch.norm(tx, p, 1), tx)
        assert np.isfinite(cr.autograd.grad(cr.norm(x, p, 1).sum(), [x])[0].numpy()).all()


@pytest.mark.parametrize("data", [[2.0, 0.0, 3.0, -1.5], [0.0, 2.0, 0.0, 1.5],
                                  [1.0, 2.0, 3.0, 0.0]])
def test_zeros_in_prod_and_cumprod_match_torch(data):
    x, tx = _pair(data)
    _grad_close(cr.prod(x), x, torch.prod(tx), tx)
    w = np.array([0.3, -1.0, 2.0, 0.7])
    _grad_close(cr.cumprod(x, 0), x, torch.cumprod(tx, 0), tx, w)
    assert gradgradcheck(lambda t: cr.cumprod(t, 0), (x,))
    assert gradgradcheck(lambda t: cr.prod(t), (x,))


def test_prod_third_derivative_with_zero():
    x = cr.tensor([0.0, 2.0, 3.0, -1.0], dtype=cr.float64, requires_grad=True)
    g = lambda t: cr.autograd.grad(cr.prod(t), [t], create_graph=True)[0].sum()  # noqa: E731
    assert gradgradcheck(g, (x,))


def test_logsumexp_is_stable():
    x = cr.tensor([[1000.0, 1000.0], [-math.inf, -math.inf], [-1000.0, -1001.0]])
    y = cr.logsumexp(x, 1)
    t = torch.logsumexp(torch.tensor(x.numpy()), 1)
    np.testing.assert_allclose(y.numpy(), t.numpy())


def test_var_without_degrees_of_freedom_warns_and_gives_nan():
    with pytest.warns(UserWarning, match="degrees of freedom"):
        v = cr.var(cr.tensor([1.5]))
    assert math.isnan(v.item())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cr.var(cr.tensor([1.5]), correction=0).item() == 0.0


def test_second_order_through_sort_and_max():
    x = cr.tensor(np.random.default_rng(1).permutation(6).reshape(2, 3) * 0.5,
                  requires_grad=True)
    assert gradgradcheck(lambda t: cr.sort(t, 1).values ** 2, (x,))
    assert gradgradcheck(lambda t: cr.max(t, 0).values ** 3, (x,))
    assert gradcheck(lambda t: cr.std(t, 1), (x,))


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("fn,exc,match", [
    (lambda: cr.max(cr.zeros(0)), RuntimeError, r"max\(\): Expected reduction dim"),
    (lambda: cr.argmax(cr.zeros(0, 3)), RuntimeError, r"argmax\(\)"),
    (lambda: cr.amax(cr.zeros(0, 3), 0), IndexError, r"amax\(\).*dim 0.*\(0, 3\)"),
    (lambda: cr.max(cr.zeros(2, 0), 1), IndexError, r"max\(\).*dim 1"),
    (lambda: cr.topk(cr.zeros(2, 3), 4), RuntimeError, r"topk\(\).*k=4.*\(2, 3\)"),
    (lambda: cr.var(cr.tensor([1, 2])), RuntimeError, r"var\(\).*floating point"),
    (lambda: cr.mean(cr.tensor([1, 2])), RuntimeError, r"mean\(\)"),
    (lambda: cr.norm(cr.tensor([1, 2])), RuntimeError, r"norm\(\).*floating"),
    (lambda: cr.norm(cr.zeros(2, 2), "nuc"), NotImplementedError, r"norm\(\)"),
    (lambda: cr.sum(cr.zeros(2, 3), 2), IndexError, r"sum.*range"),
    (lambda: cr.cumsum(cr.zeros(2, 3), -3), IndexError, r"cumsum.*range"),
    (lambda: cr.sort(cr.zeros(2, 3), 5), IndexError, r"sort.*range"),
    (lambda: cr.var(cr.zeros(3), unbiased=True, correction=0), RuntimeError, r"var\(\)"),
    (lambda: cr.median(cr.zeros(2, 0), 1), IndexError, r"median\(\)"),
])
def test_errors_name_the_op(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()
