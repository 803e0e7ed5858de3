"""clip_grad_norm_'s fast 2-norm (squares in float32, summed in float64) keeps the
float64 result when a square overflows float32."""
import numpy as np

import chainrule as cr
from chainrule.nn.utils import clip_grad_norm_, get_total_norm


def test_float32_norm_is_accurate():
    a = np.random.default_rng(0).standard_normal(100_000).astype(np.float32)
    got = get_total_norm([cr.tensor(a)]).item()
    assert abs(got - np.linalg.norm(a.astype(np.float64))) < 1e-6 * got


def test_float32_squares_that_overflow_fall_back_to_float64():
    p = cr.tensor(np.zeros(2, np.float32), requires_grad=True)
    p.grad = cr.tensor(np.array([3e20, 4e20], np.float32))
    total = clip_grad_norm_([p], 1.0)
    assert np.isclose(total.item(), 5e20, rtol=1e-6)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)


def test_nonfinite_gradients_give_a_nonfinite_norm():
    assert np.isinf(get_total_norm([cr.tensor(np.array([np.inf, 1], np.float32))]).item())
    assert np.isnan(get_total_norm([cr.tensor(np.array([np.nan, 1], np.float32))]).item())
