"""Tensor's in-place forms of the elementwise, comparison, cumulative and triangular ops
(``x.acos_()``, ``x.eq_(y)``, ``x.cumsum_(1)``...) and the torch.* ops that are methods
too (``x.addmm(a, b)``, ``x.fliplr()``...) give torch's values and dtypes, and in-place
ops keep autograd's history."""
import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)
A = RNG.uniform(0.1, 0.9, (3, 3))
B = RNG.uniform(0.1, 0.9, (3, 3))

UNARY = ["acos_", "asin_", "atan_", "cosh_", "sinh_", "tan_", "erf_", "exp2_", "expm1_",
         "log10_", "log1p_", "log2_", "rsqrt_", "sign_", "square_", "trunc_", "frac_",
         "logical_not_", "tril_", "triu_", "negative_"]
BINARY = ["atan2_", "fmod_", "remainder_", "floor_divide_", "eq_", "ne_", "lt_", "le_",
          "gt_", "ge_", "logical_and_", "logical_or_", "logical_xor_", "divide_",
          "multiply_", "subtract_", "true_divide_"]


def _pair(name, *args):
    x, y = torch.tensor(A), cr.tensor(A)
    rx = getattr(x, name)(*[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
    ry = getattr(y, name)(*[cr.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
    assert rx is x and ry is y
    np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=1e-12)
    assert str(y.dtype) == "chainrule.float64"


@pytest.mark.parametrize("name", UNARY)
def test_unary_in_place_forms(name):
    _pair(name)


@pytest.mark.parametrize("name", BINARY)
def test_binary_in_place_forms(name):
    _pair(name, B)


@pytest.mark.parametrize("name", ["cumsum_", "cumprod_"])
def test_cumulative_in_place_forms_keep_history(name):
    _pair(name, 1)
    x, y = torch.tensor(A, requires_grad=True), cr.tensor(A, requires_grad=True)
    xx, yy = x * 1, y * 1
    getattr(xx, name)(0)
    getattr(yy, name)(0)
    xx.sum().backward()
    yy.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), x.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name, args", [
    ("addmm", (A, B)), ("baddbmm", (A[None], B[None])), ("addmv", (A, B[0])),
    ("fliplr", ()), ("flipud", ()), ("moveaxis", (0, 1)), ("swapdims", (0, 1)),
    ("broadcast_to", ((2, 3, 3),)), ("diag_embed", ()), ("inner", (B,)),
    ("hardshrink", (0.5,)), ("argwhere", ()),
])
def test_torch_ops_as_methods(name, args):
    def conv(lib, a):
        return lib.tensor(a) if isinstance(a, np.ndarray) else a
    base = A if name != "addmv" else A[0]
    rx = getattr(torch.tensor(base), name)(*[conv(torch, a) for a in args])
    ry = getattr(cr.tensor(base), name)(*[conv(cr, a) for a in args])
    np.testing.assert_allclose(ry.numpy(), rx.numpy(), rtol=1e-12)


def test_sinc_is_smooth_at_zero():
    x = cr.tensor([0.0], dtype=cr.float64, requires_grad=True)
    y = cr.sinc(x)
    (g,) = cr.autograd.grad(y.sum(), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x)
    assert y.item() == 1.0 and g.item() == 0.0
    np.testing.assert_allclose(h.item(), -np.pi ** 2 / 3, rtol=1e-12)


def test_more_torch_ops_small_cases():
    assert cr.broadcast_shapes((2, 1), (3,)) == (2, 3)
    a, b = cr.broadcast_tensors(cr.ones(2, 1), cr.zeros(3))
    assert a.shape == b.shape == (2, 3)
    np.testing.assert_array_equal(cr.tril_indices(3, 3).numpy(),
                                  torch.tril_indices(3, 3).numpy())
    np.testing.assert_array_equal(cr.triu_indices(3, 4, 1).numpy(),
                                  torch.triu_indices(3, 4, 1).numpy())
    assert cr.is_floating_point(cr.ones(1)) and not cr.is_complex(cr.ones(1))
    assert cr.is_signed(cr.ones(1)) and not cr.is_signed(cr.ones(1, dtype=cr.uint8))
    np.testing.assert_array_equal(cr.signbit(cr.tensor([-0.0, 1.0, -2.0])).numpy(),
                                  [True, False, True])
    np.testing.assert_array_equal(
        cr.heaviside(cr.tensor([-1.0, 0.0, 2.0]), cr.tensor([0.5])).numpy(), [0, 0.5, 1])
    assert cr.logaddexp(cr.tensor(float("-inf")), cr.tensor(float("-inf"))).item() == \
        float("-inf")
    assert [t.shape for t in cr.hsplit(cr.ones(2, 6), 3)] == [(2, 2)] * 3
    with pytest.raises(RuntimeError, match="vsplit: the size of dimension 0 \\(5\\) is not "
                       "divisible by the number of sections 2"):
        cr.vsplit(cr.ones(5, 2), 2)
