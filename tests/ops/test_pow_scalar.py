"""``x ** n`` for a scalar integral ``n``, on negative bases, signed zeros,
infinities and NaN, in float32 and float64: 3 and -2 are torch's ``x*x*x`` and
``1/(x*x)``, bit for bit (as are NumPy's own fast 2, 1, 0, -1); other exponents of
float32 values are computed in float64 and rounded once: the float64 ``pow``'s value
rounded to float32, within an ulp of torch's (its SLEEF ``pow``).  Gradients match
torch's."""
import numpy as np
import pytest
import torch

import chainrule as cr

VALUES = [-3.5, -2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 2.5, np.inf, -np.inf, np.nan, 1e-30, -1e-30,
          3e12, -3e12, -0.75, 7.0]


def _same(a, b):
    """Equal bit for bit, signed zeros included (a NaN's sign bit is not compared)."""
    nan = np.isnan(a)
    return (np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan], b[~nan])
            and np.array_equal(np.signbit(a[~nan]), np.signbit(b[~nan])))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [3, -2, 2, -1, 0, 1, 3.0, -2.0])
def test_torchs_special_exponents_equal_torch_bitwise(n, dtype):
    x = np.array(VALUES, dtype)
    with np.errstate(all="ignore"):
        got = (cr.tensor(x) ** n).numpy()
        assert got.dtype == dtype
        assert _same(got, (torch.tensor(x) ** n).numpy())
        assert _same(cr.pow(cr.tensor(x), n).numpy(), torch.pow(torch.tensor(x), n).numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [4, 5, -3, -4, 7, -7, 10])
def test_other_integral_exponents_are_rounded_once_and_torchs_to_an_ulp(n, dtype):
    x = np.array(VALUES, dtype)
    with np.errstate(all="ignore"):
        got = (cr.tensor(x) ** n).numpy()
        assert got.dtype == dtype
        assert _same(got, (x.astype(np.float64) ** float(n)).astype(dtype))
        want = (torch.tensor(x) ** n).numpy()
    fin = np.isfinite(want) & (want != 0)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[~fin & ~np.isnan(got)], want[~fin & ~np.isnan(want)])
    np.testing.assert_allclose(got[fin], want[fin], rtol=2 * np.finfo(dtype).eps)


@pytest.mark.parametrize("n", [3, 4, 5, -3])
def test_integral_scalar_pow_gradient_equals_torch(n):
    rng = np.random.default_rng(n + 10)
    x = rng.standard_normal(50).astype(np.float32) * 2
    a = cr.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    (a ** n).sum().backward()
    (t ** n).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_non_integral_and_tensor_exponents_are_unchanged():
    x = np.array([-2.0, 0.25, 4.0], np.float32)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal((cr.tensor(x) ** 1.5).numpy(), x ** np.float32(1.5))
    e = np.array([3.0, 2.0, -1.0], np.float32)
    np.testing.assert_array_equal((cr.tensor(x) ** cr.tensor(e)).numpy(), x ** e)
