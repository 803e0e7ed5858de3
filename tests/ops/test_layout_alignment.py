"""Binary elementwise ops on large operands of different memory layouts (NCHW and
channels-last) copy one operand into the other's layout first: same values,
dtypes and gradients as NumPy on the plain arrays, the channels-last layout kept."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.backend.cpu.layout import align_layouts as _aligned, _dense_permuted


def _cl(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def test_dense_permuted():
    a = np.zeros((2, 3, 4, 5), np.float32)
    assert _dense_permuted(a) and _dense_permuted(_cl(a)) and _dense_permuted(a.T)
    assert not _dense_permuted(a[:, :, ::2]) and not _dense_permuted(a[..., 1:])


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("cl_first", [True, False])
def test_mixed_layouts(op, cl_first):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((8, 6, 28, 28)).astype(np.float32)
    b = (rng.standard_normal((8, 6, 28, 28)) + 3).astype(np.float64)
    x, y = (_cl(a), b) if cl_first else (a, _cl(b))
    fa, fb = _aligned(x, y)
    order = lambda t: np.argsort(t.strides).tolist()  # noqa: E731
    assert order(fa) == order(fb) and not fa.flags.c_contiguous  # channels-last kept
    tx = cr.tensor(x, requires_grad=True)
    ty = cr.tensor(y, requires_grad=True)
    out = getattr(cr, op)(tx, ty)
    expect = getattr(np, {"sub": "subtract", "mul": "multiply", "div": "divide"}.get(op, op))(
        x, y)
    assert out.dtype == cr.float64
    np.testing.assert_allclose(out.detach().numpy(), expect, rtol=1e-12)
    out.sum().backward()
    assert tx.grad.shape == x.shape and ty.grad.shape == y.shape


def test_small_or_broadcast_operands_are_left_alone():
    a = np.zeros((2, 3, 4, 5), np.float32)
    assert _aligned(_cl(a), a)[1] is a                     # small
    big = np.zeros((8, 6, 28, 28), np.float32)
    row = np.zeros((1, 6, 1, 1), np.float32)
    assert _aligned(_cl(big), row)[1] is row               # broadcast
    assert _aligned(big[:, :, ::2], _cl(big)[:, :, ::2])[0] is not None
