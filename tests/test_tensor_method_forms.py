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
