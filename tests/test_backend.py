"""The backend's scatter-add: the sorted-rows fast path equals np.add.at."""
import numpy as np
import pytest

from chainrule import backend as B


@pytest.mark.parametrize("index", [[3, 0, 3, 1, 3], [-1, 0, -1, 2], [4, 4], [2, 1, 0]])
def test_scatter_add_rows_matches_add_at(index):
    rng = np.random.default_rng(0)
    index = np.array(index)
    values = rng.standard_normal((len(index), 3, 2))
    want = np.zeros((5, 3, 2))
    np.add.at(want, index, values)
    got = B.scatter_add(np.zeros((5, 3, 2)), index, values)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_scatter_add_rows_out_of_range_raises():
    with pytest.raises(IndexError):
        B.scatter_add(np.zeros((3, 2)), np.array([0, 3]), np.ones((2, 2)))


def test_generic_special_kernels_match_scipy():
    # the fallback without SciPy and the CuPy path: lgamma, digamma, polygamma
    sp = pytest.importorskip("scipy.special")
    from chainrule.backend.kernels import special as K
    x = np.concatenate([np.linspace(-5.5, 0.4, 301), np.linspace(0.01, 60, 1000),
                        [1e-8, 1e3, 1e6, -1e-9, 0.0, -1.0, -2.0]])
    for ours, ref, xs in [(K.lgamma(x), sp.gammaln(x), x), (K.digamma(x), sp.psi(x), x),
                          (K.polygamma(1, x), sp.polygamma(1, x), x),
                          (K.polygamma(3, x[x > 0]), sp.polygamma(3, x[x > 0]), x[x > 0])]:
        finite = np.isfinite(ref)
        assert (np.isfinite(ours) == finite)[xs != 0].all()
        np.testing.assert_allclose(ours[finite], ref[finite], rtol=1e-11, atol=1e-11)
    assert K.digamma(np.array([0.0]))[0] == -np.inf  # torch's value at 0
    assert K.lgamma(np.array([np.float32(3.5)])).dtype == np.float32



def test_cpu_digamma_reflects_negative_arguments_like_scipy():
    """digamma and trigamma on the CPU with SciPy: negative arguments through the reflection formula
    (SciPy's own psi is 10x slower there) give SciPy's float32 results bit for bit, NaN
    at the negative integers, -inf at 0 (torch's values); float64 to 1e-12."""
    sp = pytest.importorskip("scipy.special")
    from chainrule.backend.cpu import layout as K
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal(5000) * 3, rng.uniform(-50, 0, 5000),
                        [-1.0, -2.0, 0.0, -0.5, -1e-8, -30.5, 2.0]])
    x32 = x.astype(np.float32)
    ref = np.where(x32 == 0, -np.inf, sp.psi(x32.astype(np.float64))).astype(np.float32)
    got = K.digamma(x32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, ref)
    assert np.isnan(K.digamma(np.array([-1.0, -3.0]))).all()
    assert K.digamma(np.array([0.0]))[0] == -np.inf
    fin = np.isfinite(sp.psi(x)) & (x != 0)
    np.testing.assert_allclose(K.digamma(x)[fin], sp.psi(x)[fin], rtol=1e-12, atol=1e-12)
    # trigamma (digamma's derivative) the same way
    ref1 = sp.polygamma(1, x32.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(K.polygamma(1, x32), ref1)
    fin = np.isfinite(sp.polygamma(1, x))
    np.testing.assert_allclose(K.polygamma(1, x)[fin], sp.polygamma(1, x)[fin], rtol=1e-12)
    assert np.isinf(K.polygamma(1, np.array([-1.0, -2.0, 0.0]))).all()


def test_generic_erf_is_within_a_few_ulps():
    """The erf used without SciPy: float32 within 6 ulps of the correctly rounded value
    (mean under 1), odd, exact at 0, +-1 at +-inf, NaN kept; float16 through float32;
    float64 exact (math.erf per element)."""
    import math
    from chainrule.backend.kernels import special as K
    x = np.concatenate([np.linspace(-6, 6, 200001), np.geomspace(1e-38, 1, 2000),
                        -np.geomspace(1e-38, 1, 200)]).astype(np.float32)
    ref = np.array([math.erf(float(v)) for v in x]).astype(np.float32)
    got = K.erf(x)
    assert got.dtype == np.float32
    ulp = np.abs(got.view(np.int32).astype(np.int64) - ref.view(np.int32))
    assert ulp.max() <= 6 and ulp.mean() < 1.0
    np.testing.assert_array_equal(K.erf(-x), -got)
    sp = K.erf(np.array([0.0, -0.0, np.inf, -np.inf, np.nan], np.float32))
    assert sp[0] == 0 and np.signbit(sp[1]) and sp[2] == 1 and sp[3] == -1 and np.isnan(sp[4])
    h = K.erf(x[::1000].astype(np.float16))
    assert h.dtype == np.float16
    np.testing.assert_allclose(h, ref[::1000], atol=1e-3)
    d = np.linspace(-3, 3, 101)
    np.testing.assert_array_equal(K.erf(d), [math.erf(v) for v in d])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("layout", ["c", "channels_last", "small", "scalar"])
def test_select_is_np_where_bit_for_bit(dtype, layout):
    from chainrule.backend.cpu import select
    rng = np.random.default_rng(1)
    shape = (2, 3, 4, 5) if layout == "small" else (8, 16, 20, 20)
    a, b = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    cond = rng.random(shape) < 0.5
    a.reshape(-1)[:6] = [np.inf, -np.inf, np.nan, -0.0, np.nan, 0.0]
    b.reshape(-1)[:6] = [-0.0, np.nan, 1.0, np.inf, -0.0, np.nan]
    cond.reshape(-1)[:6] = [True, False, True, False, True, False]
    if layout == "channels_last":  # a conv output's memory against a C-contiguous mask
        a = np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    if layout == "scalar":
        b = dtype(-0.0)
    out = select(cond, a, b)
    ref = np.where(cond, a, b)
    assert out.dtype == dtype and out.shape == shape
    u = f"u{out.itemsize}"
    assert np.array_equal(out.view(u), ref.view(u))    # the same bits: NaN, inf, -0.0
    assert not np.shares_memory(out, a)
    mixed = select(cond, a, b.astype(np.float64) if layout != "scalar" else 0.5)
    np.testing.assert_array_equal(mixed, np.where(cond, a, mixed.dtype.type(0) + (
        b if layout != "scalar" else 0.5)))        # other dtypes: np.where itself


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("layout", ["c", "channels_last", "small"])
def test_zero_where_is_np_where_bit_for_bit(dtype, layout):
    from chainrule.backend.cpu import zero_where
    rng = np.random.default_rng(0)
    shape = (2, 3, 4, 5) if layout == "small" else (8, 16, 20, 20)
    g = rng.standard_normal(shape).astype(dtype)
    drop = rng.random(shape) < 0.5
    g.reshape(-1)[:6] = [np.inf, -np.inf, np.nan, -0.0, np.nan, np.inf]
    drop.reshape(-1)[:6] = [True, False, True, False, False, True]
    if layout == "channels_last":  # a conv output's memory, C-contiguous mask
        g = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    out = zero_where(drop, g)
    ref = np.where(drop, dtype(0), g)
    assert out.dtype == dtype and out.shape == shape
    u = f"u{out.itemsize}"
    assert np.array_equal(out.view(u), ref.view(u))    # the same bits: NaN, inf, -0.0
    assert not np.shares_memory(out, g)


@pytest.mark.parametrize("dtype,cols", [(np.float32, 100), (np.float32, 7), (np.float64, 10),
                                        (np.float16, 4)])
@pytest.mark.parametrize("reuse", [False, True])
def test_add_rows_equals_add_at_bit_for_bit(dtype, cols, reuse):
    """add_rows (complex-pair view for even float32/float64 widths, reused flat index)
    gives exactly np.add.at's sums, repeated rows included, call after call."""
    from chainrule.backend.kernels.embedding import Workspace, add_rows
    rng = np.random.default_rng(0)
    ws = Workspace() if reuse else None
    table = rng.standard_normal((50, cols)).astype(dtype)
    want = table.copy()
    for n in (300, 40, 300):  # shrinking and growing batches through one workspace
        idx = rng.zipf(1.5, n) % 50
        vals = rng.standard_normal((n, cols)).astype(dtype)
        np.add.at(want, idx, vals)
        assert add_rows(table, idx, vals, ws) is table
        np.testing.assert_array_equal(table, want)


def test_take_rows_into_workspace():
    from chainrule.backend.kernels.embedding import Workspace, take_rows
    rng = np.random.default_rng(1)
    table = rng.standard_normal((20, 6)).astype(np.float32)
    ws = Workspace()
    idx = rng.integers(0, 20, (5, 3))
    got = take_rows(table, idx, ws, "u")
    np.testing.assert_array_equal(got, table[idx])
    again = take_rows(table, idx[:2], ws, "u")       # same buffer, smaller view
    assert np.shares_memory(got, again) and again.shape == (2, 3, 6)
    np.testing.assert_array_equal(again, table[idx[:2]])


# ------------------------------------------------------------ gemv sums (kernels.reduce)
@pytest.mark.parametrize("shape,axes", [((512, 128), (1,)), ((16, 4, 32, 32), (3,)),
                                        ((16, 32, 128), (2,)), ((6, 5, 40), (1, 2)),
                                        ((512, 384), (0,)), ((8, 16, 30), (0, 1)),
                                        ((64, 10), (-1,)), ((3, 4), (1,)), ((40, 7), (0, 1)),
                                        ((30, 20, 10), (1,))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("keepdims", [False, True])
def test_fast_sum_matches_numpy_sum(shape, axes, dtype, keepdims):
    from chainrule.backend.kernels.reduce import fast_sum
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    got, ref = fast_sum(a, axes, keepdims), a.sum(axis=axes, keepdims=keepdims)
    assert np.shape(got) == ref.shape and np.asarray(got).dtype == dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    scale = np.abs(a).sum(axis=axes, keepdims=keepdims)
    assert (np.abs(got - ref) <= rtol * scale).all()


def test_fast_sum_falls_back_where_gemv_does_not_apply():
    from chainrule.backend.kernels.reduce import fast_sum
    rng = np.random.default_rng(1)
    for a, axes in [(rng.integers(0, 9, (50, 20)), (1,)),          # integers
                    (rng.standard_normal((50, 20)).astype(np.float16), (1,)),
                    (rng.standard_normal((20, 50)).T, (1,)),       # not C-contiguous
                    (np.zeros((0, 5), np.float32), (1,))]:
        np.testing.assert_array_equal(fast_sum(a, axes), a.sum(axis=axes))
    a = np.array([[np.inf, 1.0], [np.nan, 2.0]] * 8, np.float32)
    np.testing.assert_array_equal(fast_sum(a, (1,)), a.sum(axis=1))   # inf and NaN kept


def test_softmax_skips_the_shift_only_where_exp_cannot_overflow():
    torch = pytest.importorskip("torch")
    import chainrule as cr
    rng = np.random.default_rng(2)
    for x in (rng.standard_normal((64, 32)).astype(np.float32) * 20,        # no shift
              np.array([[1000.0, 1001.0, -3.0]] * 10, np.float32),          # shifted
              np.array([[-1000.0, -1001.0, -999.0]] * 10, np.float32),
              np.array([[79.0, -79.0, 0.0]] * 10, np.float32)):
        for f, g in ((cr.softmax, torch.softmax), (cr.log_softmax, torch.log_softmax)):
            a = cr.tensor(x, requires_grad=True)
            t = torch.tensor(x, requires_grad=True)
            ya, yt = f(a, -1), g(t, -1)
            np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), rtol=1e-5,
                                       atol=1e-6)
            w = rng.standard_normal(x.shape).astype(np.float32)
            (ya * cr.tensor(w)).sum().backward()
            (yt * torch.tensor(w)).sum().backward()
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
