"""Reductions over ``dim`` (int, tuple or None) with ``keepdim``, like torch.

Sums, products, moments, norms, extrema, logical reductions and the
cumulative scans.  The sorting/index-returning family (max/min with ``dim``,
argmax, sort, topk, median) lives in ``sorting.py``.
"""
import builtins as _bi
import math
import warnings

import numpy as np

from chainrule import backend as B
from chainrule.backend.kernels.reduce import fast_sum
from chainrule.core import dtype as D
from chainrule.core import grad_mode as _gm
from chainrule.core.function import Function
from chainrule.core.tensor import _make
from chainrule.functional.autocast import autocast_op
from chainrule.functional._util import norm_dim, norm_dims, float_np
from chainrule.functional.elementwise import abs, cast, grad_where, grad_zeros, isnan, sign, sqrt
from chainrule.functional.masking import where
from chainrule.functional.shape import broadcast_to, reshape

__all__ = ["sum", "mean", "nansum", "prod", "var", "std", "logsumexp", "norm", "amax",
           "amin", "all", "any", "count_nonzero", "cumsum", "cumprod"]


# ---------------------------------------------------------------- helpers
def _axes(dim, ndim, op):
    """``dim`` as sorted non-negative axes; None and ``()`` mean every axis (torch)."""
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    return norm_dims(dim, ndim, op)


def _keep_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _out_shape(shape, axes, keepdim):
    if keepdim:
        return _keep_shape(shape, axes)
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _expand_back(gy, in_shape, axes, keepdim):
    """Broadcast a reduced gradient back to the input shape."""
    if not keepdim and axes:
        gy = reshape(gy, _keep_shape(in_shape, axes))
    return broadcast_to(gy, in_shape)


def _check_nonempty(x, axes, op):
    for a in axes:
        if x.shape[a] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {a} to have non-zero size "
                             f"(input shape {tuple(x.shape)})")


def _const(array, like):
    """A constant (non-differentiable) tensor with ``like``'s dtype."""
    return _make(array.astype(like._data.dtype, copy=False))


def _int_to_i64(input, dtype):
    if dtype is not None:
        return D.to_np_dtype(dtype)
    k = input._data.dtype
    return k if k.kind == "f" else np.dtype(np.int64)


class _Permute(Function):
    """Private axis permutation (shape.py owns the public ``permute``)."""
    save_inputs = False

    def __init__(self, perm):
        self.perm = tuple(perm)

    def forward(self, x):
        return B.xp_of(x).transpose(x, self.perm)

    def backward(self, gy):  # the inverse permutation
        return _Permute(np.argsort(self.perm))(gy)


def _to_last(x, axes):
    """Move ``axes`` to the end and flatten them into one: (..., n)."""
    rest = [i for i in range(x.ndim) if i not in axes]
    perm = rest + list(axes)
    y = _Permute(perm)(x) if perm != list(range(x.ndim)) else x
    n = int(np.prod([x.shape[a] for a in axes]))
    return reshape(y, tuple(x.shape[i] for i in rest) + (n,)), perm


def _from_last(y, shape, perm):
    """Inverse of :func:`_to_last`."""
    y = reshape(y, tuple(shape[p] for p in perm))
    return _Permute(np.argsort(perm))(y) if perm != list(range(len(shape))) else y


# ---------------------------------------------------------------- sum / mean
class Sum(Function):
    save_inputs = False

    def __init__(self, axes, keepdim, npd):
        self.axes, self.keepdim, self.npd = axes, keepdim, npd

    def forward(self, x):
        if self.npd is None or self.npd == x.dtype:
            return fast_sum(x, self.axes, self.keepdim)   # gemv for rows and columns
        return x.sum(axis=self.axes, keepdims=self.keepdim, dtype=self.npd)

    def backward(self, gy):  # d sum = 1 for every element
        return _expand_back(gy, self._in_meta[0][0], self.axes, self.keepdim)


@autocast_op("sum")
def sum(input, dim=None, keepdim=False, dtype=None):
    """Sum over ``dim``; integer and bool inputs sum to int64 like torch."""
    axes = _axes(dim, input.ndim, "sum")
    return Sum(axes, keepdim, _int_to_i64(input, dtype))(input)


def nansum(input, dim=None, keepdim=False, dtype=None):
    """Sum treating NaN as zero (NaN entries get zero gradient)."""
    if input._data.dtype.kind == "f":
        input = where(isnan(input), 0.0, input)
    return sum(input, dim, keepdim, dtype=dtype)


class Mean(Function):
    save_inputs = False

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        self.n = int(np.prod([x.shape[a] for a in self.axes])) if self.axes else 1
        if self.n and x.dtype in (np.float32, np.float64):   # NumPy's mean is sum / n too
            return fast_sum(x, self.axes, self.keepdim) / self.n
        return x.mean(axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):  # 1/n for every element
        return _expand_back(gy / self.n, self._in_meta[0][0], self.axes, self.keepdim)


def mean(input, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        input = cast(input, dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be "
                           f"either a floating point or complex dtype. Got: {input.dtype}")
    axes = _axes(dim, input.ndim, "mean")
    return Mean(axes, keepdim)(input)


# ---------------------------------------------------------------- prod
class Prod(Function):
    save_output = True

    all_dims = False   # prod() of all elements (not over a dim): torch's shortcut below

    def __init__(self, axes, keepdim, npd):
        self.axes, self.keepdim, self.npd = axes, keepdim, npd

    def forward(self, x):
        return x.prod(axis=self.axes, keepdims=self.keepdim, dtype=self.npd)

    def backward(self, gy):  # d prod / dx_k = prod_{j != k} x_j
        x = self.inputs[0]
        if x.ndim == 0:   # like torch (not y / x, NaN at inf)
            return gy
        g = _expand_back(gy, x.shape, self.axes, self.keepdim)
        zeros = int((x._data == 0).sum())
        if not zeros:
            return g * _expand_back(self.output(0), x.shape, self.axes, self.keepdim) / x
        if self.all_dims and zeros > 1 and not _gm._State.enabled:
            return grad_zeros(g)   # torch: two zeros make every partial product 0
        xl, perm = _to_last(x, self.axes)  # zeros present: exclusive products
        return g * _from_last(ProdExcl()(xl), x.shape, perm)


class ProdExcl(Function):
    """``out[..., k] = prod_{j != k} x[..., j]`` along the last axis, zero-safe."""

    def forward(self, x):
        xp = B.xp_of(x)
        if x.shape[-1] == 0:
            return x.copy()
        ones = xp.ones(x.shape[:-1] + (1,), dtype=x.dtype)
        left = xp.cumprod(xp.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)
        right = xp.flip(xp.cumprod(xp.flip(xp.concatenate([x[..., 1:], ones], axis=-1),
                                           axis=-1), axis=-1), axis=-1)
        return left * right

    def backward(self, gy):  # d out_k / dx_m = prod_{j not in (k, m)} x_j  (m != k)
        x = self.inputs[0]
        n = x.shape[-1]
        eye = B.xp_of(x._data).eye(n)
        off, eye = _const(1 - eye, x), _const(eye, x)
        m = reshape(x, x.shape[:-1] + (1, n)) * off + eye      # row k: x with x_k -> 1
        r = ProdExcl()(m)                                      # r[k, m] = prod_{j!=k,m} x_j
        return sum(reshape(gy, gy.shape + (1,)) * r * off, -2)


@autocast_op("prod")
def prod(input, dim=None, keepdim=False, dtype=None):
    """Product over ``dim``; integer and bool inputs give int64 like torch.
    The gradient is exact (to any order) even when the input has zeros."""
    axes = _axes(dim, input.ndim, "prod")
    fn = Prod(axes, keepdim, _int_to_i64(input, dtype))
    fn.all_dims = dim is None
    return fn(input)


# ---------------------------------------------------------------- var / std
def _correction(op, dim, unbiased, correction):
    if isinstance(dim, bool):             # var(x, False): the old unbiased-only form
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{op}(): cannot specify both unbiased and correction")
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    return dim, correction


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim`` with ``correction`` (1 = Bessel, the default;
    ``unbiased=False`` is ``correction=0``)."""
    dim, correction = _correction("var", dim, unbiased, correction)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"var(): std and var only support floating point and complex "
                           f"dtypes, got {input.dtype}")
    axes = _axes(dim, input.ndim, "var")
    n = int(np.prod([input.shape[a] for a in axes]))
    dof = _bi.max(0, n - correction)
    if dof == 0:
        warnings.warn(f"var(): degrees of freedom is <= 0 (reducing {n} elements of shape "
                      f"{tuple(input.shape)} with correction={correction})", stacklevel=2)
    return Var(axes, keepdim, n, correction, input.ndim == 0 or dim is None)(input)


class Var(Function):
    """Variance over ``axes``; torch's backward ``2 / (n - correction) * gy * (x - mean)``
    (differentiable; not through the mean, so inf/NaN elements do not spread to the
    whole slice).  With no degrees of freedom left, var of all elements (``all_dims``)
    has torch's constant gradient ``gy * (nan where x == mean else inf)``."""

    def __init__(self, axes, keepdim, n, correction, all_dims):
        self.axes, self.keepdim, self.n, self.c = axes, keepdim, n, correction
        self.all_dims = all_dims

    def forward(self, x):
        xp = B.xp_of(x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            m = x.mean(axis=self.axes, keepdims=True) if self.n else \
                xp.zeros(_keep_shape(x.shape, self.axes), x.dtype)
            d = x - m
            s = (d * d).sum(axis=self.axes, keepdims=self.keepdim)
            return xp.asarray(s / x.dtype.type(_bi.max(0, self.n - self.c)), dtype=x.dtype)

    def backward(self, gy):
        x = self.inputs[0]
        xp = B.xp_of(x._data)
        if self.all_dims and self.n - self.c <= 0:
            m = x._data.mean() if x._data.size else x._data.dtype.type(0)
            return gy * _make(xp.where(x._data == m, xp.nan, xp.inf).astype(x._data.dtype))
        g = _expand_back(gy, x.shape, self.axes, self.keepdim)
        k = 2.0 / (self.n - self.c) if self.n != self.c else math.inf
        return g * k * (x - mean(x, self.axes, keepdim=True))


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: ``sqrt(var(...))`` with the same arguments."""
    dim, correction = _correction("std", dim, unbiased, correction)
    v = var(input, dim, keepdim=keepdim, correction=correction)
    flat = v.detach() == 0  # zero variance: gradient 0 like torch's, not 0 * inf = nan
    if not flat._data.any():
        return sqrt(v)
    return where(flat, 0.0, sqrt(where(flat, 1.0, v)))


# ---------------------------------------------------------------- extrema
class _Select(Function):
    """A value-selecting reduction (amax, amin, median of all): the gradient
    is split evenly among the elements equal to the result, like torch.  A NaN
    result: max()/min()/median() of all (``nan_ties``) give the gradient to the NaN
    elements (torch's evenly_distribute_backward); amax/amin compare ``x == y``,
    which no element passes, so the slice's gradient is NaN (scale_grad_by_count)."""
    save_output = True

    def __init__(self, kind, axes, keepdim, nan_ties=True):
        self.kind, self.axes, self.keepdim, self.nan_ties = kind, axes, keepdim, nan_ties

    def forward(self, x):
        if self.kind == "median":
            xp = B.xp_of(x)
            flat = x.reshape(-1)
            if x.dtype.kind == "f" and xp.isnan(flat).any():
                return xp.asarray(xp.nan, dtype=x.dtype)
            return xp.sort(flat)[(flat.size - 1) // 2]
        f = x.max if self.kind == "max" else x.min
        return f(axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):  # gy / (number of ties) at each selected element
        x = self.inputs[0]._data
        xp = B.xp_of(x)
        y = self._ys[0].reshape(_keep_shape(x.shape, self.axes))
        mask = x == y
        if self.nan_ties:
            mask |= xp.isnan(x) & xp.isnan(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = mask / mask.sum(axis=self.axes, keepdims=True)
        g = _expand_back(gy, x.shape, self.axes, self.keepdim)
        if self.nan_ties:   # torch: zeros, with gy / count filled in at the mask
            return grad_where(mask, g * _const(w, g))
        return g * _const(w, g)   # torch's amax/amin: (gy / count) * mask


def _extreme(kind, op, input, dim, keepdim):
    axes = _axes(dim, input.ndim, op)
    _check_nonempty(input, axes, op)
    return _Select(kind, axes, keepdim, nan_ties=op not in ("amax", "amin"))(input)


def amax(input, dim=(), keepdim=False):
    """Maximum over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _extreme("max", "amax", input, dim, keepdim)


def amin(input, dim=(), keepdim=False):
    """Minimum over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _extreme("min", "amin", input, dim, keepdim)


# ---------------------------------------------------------------- logsumexp
class LogSumExp(Function):
    save_output = True

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        xp = B.xp_of(x)
        keep = _keep_shape(x.shape, self.axes)
        if x.size == 0:
            m = xp.zeros(keep, dtype=x.dtype)
        else:
            m = x.max(axis=self.axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            y = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        return y if self.keepdim else y.reshape(_out_shape(x.shape, self.axes, False))

    def backward(self, gy):  # d lse = softmax(x) = exp(x - lse)
        x = self.inputs[0]
        y = _expand_back(self.output(0), x.shape, self.axes, self.keepdim)
        return _expand_back(gy, x.shape, self.axes, self.keepdim) * (x - y).exp()


@autocast_op("logsumexp")
def logsumexp(input, dim=None, keepdim=False):
    """``log(sum(exp(x)))`` over ``dim``, computed stably (max subtracted)."""
    if input._data.dtype.kind != "f":
        input = cast(input, float_np(input._data.dtype))
    return LogSumExp(_axes(dim, input.ndim, "logsumexp"), keepdim)(input)


# ---------------------------------------------------------------- norm
class Norm(Function):
    save_output = True

    def __init__(self, p, axes, keepdim):
        self.p, self.axes, self.keepdim = p, axes, keepdim

    def forward(self, x):
        xp, p, ax = B.xp_of(x), self.p, self.axes
        a = xp.abs(x)
        if p == math.inf:
            return a.max(axis=ax, keepdims=self.keepdim)
        if p == -math.inf:
            return a.min(axis=ax, keepdims=self.keepdim)
        if p == 1:
            return a.sum(axis=ax, keepdims=self.keepdim)
        if p == 2:
            return xp.sqrt((x * x).sum(axis=ax, keepdims=self.keepdim))
        return ((a ** p).sum(axis=ax, keepdims=self.keepdim)) ** (1.0 / p)

    def backward(self, gy):  # d||x||_p = sign(x) |x|^(p-1) / ||x||^(p-1); 0 where ||x|| = 0
        x, p = self.inputs[0], self.p
        xd = x._data
        xp = B.xp_of(xd)
        ex = lambda t: _expand_back(t, x.shape, self.axes, self.keepdim)  # noqa: E731
        g, yd = ex(gy), self._ys[0].reshape(_keep_shape(x.shape, self.axes))
        if p == 1:
            return g * sign(x)
        if p in (math.inf, -math.inf):
            mask = xp.abs(xd) == yd
            return g * sign(x) * _const(mask / mask.sum(axis=self.axes, keepdims=True), x)
        y = ex(self.output(0))
        nz = _const(xp.broadcast_to(yd != 0, xd.shape), x)
        y_safe = where(nz != 0, y, 1.0)
        if p == 2:
            return x * g / y_safe * nz
        if p < 1:  # torch: |x|^(p-1) is masked to 0 where x == 0
            xnz = _const(xd != 0, x)
            x_safe = where(xnz != 0, x, 1.0)
            return sign(x) * abs(x_safe) ** (p - 1) * xnz * g * y ** (1 - p)
        return sign(x) * abs(x) ** (p - 1) * g / y_safe ** (p - 1) * nz


@autocast_op("norm")
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (all dims by default), like ``torch.norm``:
    ``p`` is a number, ``inf``/``-inf`` or ``'fro'`` (= 2 over up to two dims)."""
    if dtype is not None:
        input = cast(input, dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"norm(): expected a floating point tensor as input, got "
                           f"{input.dtype}")
    if isinstance(p, str):
        if p != "fro":
            raise NotImplementedError(f"norm(): p={p!r} (matrix norms other than 'fro') is "
                                      f"not supported; use p='fro' or a number")
        if isinstance(dim, (tuple, list)) and len(dim) > 2:
            raise RuntimeError(f"norm(): p='fro' expects at most 2 dims, got dim={dim}")
        p = 2
    p = 2.0 if p is None else float(p)
    axes = _axes(dim, input.ndim, "norm")
    if p == 0:  # the number of non-zeros (not differentiable)
        return sum(cast(input != 0, input.dtype), axes, keepdim)
    if p in (math.inf, -math.inf) and _bi.any(input.shape[a] == 0 for a in axes):
        raise RuntimeError(f"norm(): cannot compute the {p} norm over an empty dim of "
                           f"shape {tuple(input.shape)} (the op has no identity)")
    return Norm(p, axes, keepdim)(input)


# ---------------------------------------------------------------- logical / counting
def _bool_reduce(name, input, dim, keepdim):
    x = input._data
    axes = _axes(dim, x.ndim, name)
    y = getattr(x, name)(axis=axes, keepdims=keepdim)
    y = B.xp_of(x).asarray(y)
    return _make(y.astype(np.uint8) if x.dtype == np.uint8 else y)


def all(input, dim=None, keepdim=False):
    """True where every element over ``dim`` is non-zero (uint8 in, uint8 out)."""
    return _bool_reduce("all", input, dim, keepdim)


def any(input, dim=None, keepdim=False):
    """True where some element over ``dim`` is non-zero (uint8 in, uint8 out)."""
    return _bool_reduce("any", input, dim, keepdim)


def count_nonzero(input, dim=None):
    """The number of non-zero elements over ``dim`` (int64)."""
    x = input._data
    axes = _axes(dim, x.ndim, "count_nonzero")
    xp = B.xp_of(x)
    return _make(xp.asarray(xp.count_nonzero(x, axis=axes)).astype(np.int64))


# ---------------------------------------------------------------- cumulative scans
def _scan_axis(input, dim, op):
    return norm_dim(dim, input.ndim, op)


class Cumsum(Function):
    save_inputs = False

    def __init__(self, axis, npd=None):
        self.axis, self.npd = axis, npd

    def forward(self, x):
        if x.ndim == 0:
            return x.astype(self.npd or x.dtype)
        return B.xp_of(x).cumsum(x, axis=self.axis, dtype=self.npd)

    def backward(self, gy):  # the adjoint of a prefix sum is a suffix sum
        return RevCumsum(self.axis)(gy)


class RevCumsum(Function):
    """Suffix sums ``out[i] = sum_{j >= i} x[j]`` along ``axis``."""
    save_inputs = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        if x.ndim == 0:
            return x.copy()
        xp = B.xp_of(x)
        return xp.flip(xp.cumsum(xp.flip(x, self.axis), axis=self.axis), self.axis)

    def backward(self, gy):  # adjoint: the prefix sum
        return Cumsum(self.axis)(gy)


@autocast_op("cumsum")
def cumsum(input, dim, *, dtype=None):
    """Cumulative sum along ``dim``; integer and bool inputs give int64."""
    axis = _scan_axis(input, dim, "cumsum")
    return Cumsum(axis, _int_to_i64(input, dtype))(input)


class Cumprod(Function):
    save_output = True

    def __init__(self, axis, npd):
        self.axis, self.npd = axis, npd

    def forward(self, x):
        if x.ndim == 0:
            return x.astype(self.npd)
        return B.xp_of(x).cumprod(x, axis=self.axis, dtype=self.npd)

    def backward(self, gy):  # dx_k = sum_{i >= k} gy_i prod_{j <= i, j != k} x_j
        x = self.inputs[0]
        if x.ndim == 0:
            return gy
        if not (x._data == 0).any():
            return RevCumsum(self.axis)(gy * self.output(0)) / x
        # zeros: build m[k, j] = x_j (j != k), 1 (j == k) along the scanned axis
        xl, perm = _to_last(x, (self.axis,))
        gl, _ = _to_last(gy, (self.axis,))
        n = xl.shape[-1]
        xp = B.xp_of(x._data)
        eye = xp.eye(n)
        # (selected with where, not by multiplying with 0/1 masks: inf * 0 would be NaN)
        m = where(_make(eye.astype(bool)), 1.0, reshape(xl, xl.shape[:-1] + (1, n)))
        c = cumprod(m, -1)                               # c[k, i] = prod_{j<=i, j!=k} x_j
        # terms i >= k; like torch's first-order formula, without create_graph only those
        # without the slice's first zero z as a factor (k < z: i < z; k == z: all; k > z:
        # none; exactly 0 otherwise, even where a later factor is inf or NaN)
        i, k = xp.arange(n)[None, :], xp.arange(n)[:, None]
        keep = i >= k
        if not _gm._State.enabled:
            xd = xl._data
            z = xp.where((xd == 0).any(-1), (xd == 0).argmax(-1), n)[..., None, None]
            keep = keep & ((i < z) | (k == z))
        keep = _make(keep)
        gx = sum(where(keep, reshape(gl, gl.shape[:-1] + (1, n)) * c, 0.0), -1)
        return _from_last(gx, x.shape, perm)


@autocast_op("cumprod")
def cumprod(input, dim, *, dtype=None):
    """Cumulative product along ``dim``; integer and bool inputs give int64.
    The gradient is exact also where the input has zeros."""
    axis = _scan_axis(input, dim, "cumprod")
    return Cumprod(axis, _int_to_i64(input, dtype))(input)
