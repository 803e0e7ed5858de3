"""More torch.* ops: the inverse hyperbolic functions and ``erfc`` (Functions with their
derivatives), torch's alias names, and ops written as compositions of other ops (so
their gradients, of every order, come from the ops they use).

Compositions, each with the formula it computes::

    logaddexp(a, b)  = max + log1p(exp(-|a - b|))         (stable)
    logaddexp2(a, b) = logaddexp(a ln2, b ln2) / ln2
    hypot(a, b)      = sqrt(a^2 + b^2)
    xlogy(x, y)      = x * log(y), 0 where x == 0
    logit(p, eps)    = log(p / (1 - p)), p clamped to [eps, 1 - eps]
    sinc(x)          = sin(pi x) / (pi x), 1 at 0
    diff(x, n)       = x[1:] - x[:-1], n times along dim
    trace(m)         = sum of the diagonal
    kron(a, b)       = (a[:, None, :, None] * b[None, :, None, :]).reshape
    cross(a, b)      = (a2 b3 - a3 b2, a3 b1 - a1 b3, a1 b2 - a2 b1) along dim
    cdist(x1, x2, p) = ||x1_i - x2_j||_p for all pairs
    rot90(x, k, dims), var_mean, std_mean, atleast_*d, *stack, *split, block_diag,
    diagflat, cartesian_prod, nan_to_num, nanmean, heaviside, signbit
"""
import itertools
import math
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core import dtype as D
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.autocast import autocast_op
from chainrule.functional._util import norm_dim
from chainrule.functional.binary import atan2, div, ge, gt, le, lt, maximum, mul, ne, sub
from chainrule.functional.elementwise import (
    _Unary, abs as _abs, acos, asin, atan, clamp, exp, log, log1p, neg, rsqrt, sin, sqrt,
    trunc)
from chainrule.functional.indexing import slice_dim
from chainrule.functional.join import cat, diag, diagonal, stack
from chainrule.functional.masking import where
from chainrule.functional.reduction import mean, norm, std, sum as _sum, var
from chainrule.functional.replicate import meshgrid
from chainrule.functional.shape import broadcast_to, flip, reshape, transpose, unsqueeze

__all__ = [
    "acosh", "asinh", "atanh", "erfc", "arccos", "arccosh", "arcsin", "arcsinh", "arctan",
    "arctan2", "arctanh", "absolute", "greater", "greater_equal", "less", "less_equal",
    "not_equal", "multiply", "divide", "subtract", "negative", "true_divide", "positive",
    "fix", "clamp_min", "clamp_max", "rad2deg", "deg2rad", "logaddexp", "logaddexp2",
    "hypot", "xlogy", "logit", "sinc", "signbit", "heaviside", "nan_to_num", "nanmean",
    "diff", "trace", "kron", "cross", "cdist", "rot90", "var_mean", "std_mean",
    "atleast_1d", "atleast_2d", "atleast_3d", "column_stack", "row_stack", "dstack",
    "hsplit", "vsplit", "dsplit", "tensor_split", "block_diag", "diagflat",
    "cartesian_prod", "tril_indices", "triu_indices", "broadcast_tensors",
    "broadcast_shapes", "is_floating_point", "is_complex", "is_nonzero", "is_same_size",
    "is_signed",
]


# ---------------------------------------------------------------- Functions
class Acosh(_Unary):
    def forward(self, x):
        with np.errstate(invalid="ignore"):
            return B.xp_of(x).arccosh(self.prep(x))

    def backward(self, gy):  # 1/sqrt(x^2 - 1)
        x = self.inputs[0]
        return gy * rsqrt(x * x - 1)


class Asinh(_Unary):
    def forward(self, x):
        return B.xp_of(x).arcsinh(self.prep(x))

    def backward(self, gy):  # 1/sqrt(x^2 + 1)
        x = self.inputs[0]
        return gy * rsqrt(x * x + 1)


class Atanh(_Unary):
    def forward(self, x):
        with np.errstate(invalid="ignore", divide="ignore"):
            return B.xp_of(x).arctanh(self.prep(x))

    def backward(self, gy):  # 1/(1 - x^2)
        x = self.inputs[0]
        return gy / (1 - x * x)


class Erfc(_Unary):
    def forward(self, x):
        return 1 - B.kernels_of(x).erf(self.prep(x))

    def backward(self, gy):  # -2/sqrt(pi) exp(-x^2)
        x = self.inputs[0]
        return gy * exp(-(x * x)) * float(-2 / np.sqrt(np.pi))


def acosh(input):
    return Acosh()(input)


def asinh(input):
    return Asinh()(input)


def atanh(input):
    return Atanh()(input)


def erfc(input):
    return Erfc()(input)


# ---------------------------------------------------------------- torch's aliases
arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh = (
    acos, acosh, asin, asinh, atan, atan2, atanh)
absolute, fix, negative = _abs, trunc, neg
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
multiply, subtract = mul, sub


def divide(input, other, *, rounding_mode=None):
    return div(input, other, rounding_mode=rounding_mode)


def true_divide(dividend, divisor):
    return div(dividend, divisor)


def positive(input):
    if input.dtype == D.bool_:
        raise TypeError("The `+` operator, on a bool tensor is not supported.")
    return input


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def rad2deg(input):
    return input * (180.0 / math.pi)


def deg2rad(input):
    return input * (math.pi / 180.0)


# ---------------------------------------------------------------- elementwise compositions
def _float(x):
    return x if x.dtype.is_floating_point else x.to(D.get_default_dtype())


def logaddexp(input, other):
    a, b = _float(input), _float(other)
    m = maximum(a, b)
    both_neg_inf = m == float("-inf")  # -inf - -inf would be NaN
    d = where(both_neg_inf, 0.0, a) - where(both_neg_inf, 0.0, b)
    return where(both_neg_inf, m, m + log1p(exp(-_abs(d))))


def logaddexp2(input, other):
    ln2 = math.log(2.0)
    return logaddexp(_float(input) * ln2, _float(other) * ln2) / ln2


def hypot(input, other):
    return sqrt(input * input + other * other)


def xlogy(input, other):
    """``input * log(other)``, 0 where ``input == 0`` (unless ``other`` is NaN)."""
    x = input if isinstance(input, Tensor) else _make(np.asarray(input, dtype=np.float64))
    y = other if isinstance(other, Tensor) else _make(np.asarray(other, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = where(x == 0, 1.0, y)
        out = x * log(safe)
    return where((x == 0) & (y == y), out * 0, out)


def logit(input, eps=None):
    p = _float(input)
    if eps is not None:
        p = clamp(p, eps, 1 - eps)
    with np.errstate(divide="ignore"):
        return log(p / (1 - p))


def sinc(input):
    """sin(pi x) / (pi x); near 0 its Taylor series 1 - (pi x)^2 / 6, so the value and
    the first two derivatives at 0 are exact (1, 0, -pi^2/3; torch gives NaN for the
    second)."""
    x = _float(input) * math.pi
    small = _abs(x) < 1e-4
    safe = where(small, 1.0, x)
    return where(small, 1 - x * x / 6, sin(safe) / safe)


def signbit(input):
    a = input.array
    return _make(B.xp_of(a).signbit(a))


def heaviside(input, values):
    """0 where input < 0, ``values`` where input == 0, 1 where input > 0 (no gradient)."""
    a, v = input.array, values.array
    xp = B.xp_of(a)
    return _make(xp.where(a == 0, v, (a > 0).astype(a.dtype)).astype(
        np.result_type(a.dtype, v.dtype)))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> ``nan``, +-inf -> ``posinf``/``neginf`` (default: the dtype's extremes);
    gradient 1 where the value is kept, 0 where it is replaced."""
    a = input.array
    if a.dtype.kind != "f":
        return input
    fi = np.finfo(a.dtype)
    posinf = fi.max if posinf is None else posinf
    neginf = fi.min if neginf is None else neginf
    out = where(input != input, float(nan), input)
    out = where(input == float("inf"), float(posinf), out)
    return where(input == float("-inf"), float(neginf), out)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over the non-NaN elements (NaN where all are NaN)."""
    keep = input == input
    total = _sum(where(keep, input, 0.0), dim, keepdim=keepdim)
    count = _sum(keep.to(input.dtype), dim, keepdim=keepdim)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


# ---------------------------------------------------------------- shape and linear algebra
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim``."""
    d = norm_dim(dim, input.ndim, "diff")
    x = input
    if prepend is not None or append is not None:
        x = cat([t for t in (prepend, x, append) if t is not None], d)
    for _ in range(n):
        m = x.shape[d]
        if m == 0:
            break
        hi, lo = slice_dim(x, d, 1, m), slice_dim(x, d, 0, m - 1)
        x = (hi != lo) if x.dtype == D.bool_ else hi - lo
    return x


def trace(input):
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return diagonal(input).sum()


def kron(input, other):
    """The Kronecker product (shapes multiply dim by dim, leading dims padded with 1)."""
    nd = max(input.ndim, other.ndim)
    a = reshape(input, (1,) * (nd - input.ndim) + tuple(input.shape))
    b = reshape(other, (1,) * (nd - other.ndim) + tuple(other.shape))
    # a[i0, None, i1, None, ...] * b[None, j0, None, j1, ...]
    ea = reshape(a, tuple(itertools.chain.from_iterable((s, 1) for s in a.shape)))
    eb = reshape(b, tuple(itertools.chain.from_iterable((1, s) for s in b.shape)))
    out = ea * eb
    return reshape(out, tuple(sa * sb for sa, sb in zip(a.shape, b.shape)))


@autocast_op("cross")
def cross(input, other, dim=None):
    """The cross product of 3-vectors along ``dim`` (default: the first dim of size 3)."""
    shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
    if dim is None:
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dimension of size 3 in input {tuple(input.shape)}")
    d = norm_dim(dim, len(shape), "cross")
    if shape[d] != 3:
        raise RuntimeError(f"cross: inputs dimension {dim} must have length 3, got "
                           f"{shape[d]}")
    a1, a2, a3 = (slice_dim(input, d, i, i + 1) for i in range(3))
    b1, b2, b3 = (slice_dim(other, d, i, i + 1) for i in range(3))
    return cat([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], d)


@autocast_op("cdist")
def cdist(x1, x2, p=2.0, compute_mode=None):
    """p-norm distances between the rows of ``x1`` (.., P, M) and ``x2`` (.., R, M)."""
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: X1 and X2 must be (..., P, M) and (..., R, M) with the "
                           f"same M, got {tuple(x1.shape)} and {tuple(x2.shape)}")
    d = unsqueeze(x1, -2) - unsqueeze(x2, -3)  # (.., P, R, M)
    return norm(d, p, -1)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane ``dims`` (from the first towards
    the second)."""
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, got {len(dims)}")
    d0, d1 = (norm_dim(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, got {dims}")
    k %= 4
    if k == 1:
        return transpose(flip(input, [d1]), d0, d1)
    if k == 2:
        return flip(input, [d0, d1])
    if k == 3:
        return flip(transpose(input, d0, d1), [d1])
    return input


def var_mean(input, dim=None, *, correction=1, keepdim=False, unbiased=None):
    if unbiased is not None:
        correction = int(bool(unbiased))
    return var(input, dim, keepdim=keepdim, correction=correction), \
        mean(input, dim, keepdim=keepdim)


def std_mean(input, dim=None, *, correction=1, keepdim=False, unbiased=None):
    if unbiased is not None:
        correction = int(bool(unbiased))
    return std(input, dim, keepdim=keepdim, correction=correction), \
        mean(input, dim, keepdim=keepdim)


def _atleast(n, tensors):
    one = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    seq = tensors if one or len(tensors) != 1 else tensors[0]
    out = []
    for t in seq:
        s = tuple(t.shape)
        if t.ndim < n:  # numpy's rules: (N,) -> (1, N) -> (1, N, 1); (H, W) -> (H, W, 1)
            s = {0: (1,) * n, 1: (1,) + s + (1,) * (n - 2)}.get(t.ndim, s + (1,))
            t = reshape(t, s)
        out.append(t)
    return out[0] if one else tuple(out)


def atleast_1d(*tensors):
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    return _atleast(3, tensors)


def column_stack(tensors):
    return cat([reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in tensors], 1)


def row_stack(tensors):
    return cat([reshape(t, (1, -1)) if t.ndim <= 1 else t for t in atleast_2d(*tensors)], 0)


def dstack(tensors):
    return cat(list(atleast_3d(*tensors)), 2)


def tensor_split(input, indices_or_sections, dim=0):
    """Split into ``n`` nearly equal parts (the first ``size % n`` one longer), or at the
    given indices."""
    d = norm_dim(dim, input.ndim, "tensor_split")
    size = input.shape[d]
    if isinstance(indices_or_sections, numbers.Integral):
        n = int(indices_or_sections)
        if n <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, "
                               f"got {n}")
        q, r = divmod(size, n)
        bounds = np.cumsum([0] + [q + (i < r) for i in range(n)]).tolist()
    else:
        idx = [int(i) for i in indices_or_sections]
        bounds = [0] + [min(max(i, 0), size) for i in idx] + [size]
    return tuple(slice_dim(input, d, lo, max(lo, hi)) for lo, hi in zip(bounds, bounds[1:]))


def _split_dim(name, input, sections, dim):
    if isinstance(sections, numbers.Integral) and input.shape[dim] % sections:
        raise RuntimeError(f"{name}: the size of dimension {dim} ({input.shape[dim]}) is not "
                           f"divisible by the number of sections {sections}")
    return tensor_split(input, sections, dim)


def hsplit(input, indices_or_sections):
    return _split_dim("hsplit", input, indices_or_sections, 0 if input.ndim == 1 else 1)


def vsplit(input, indices_or_sections):
    if input.ndim < 2:
        raise RuntimeError(f"vsplit: requires a tensor with at least 2 dimensions, got "
                           f"{input.ndim}")
    return _split_dim("vsplit", input, indices_or_sections, 0)


def dsplit(input, indices_or_sections):
    if input.ndim < 3:
        raise RuntimeError(f"dsplit: requires a tensor with at least 3 dimensions, got "
                           f"{input.ndim}")
    return _split_dim("dsplit", input, indices_or_sections, 2)


def block_diag(*tensors):
    """The tensors (0-, 1- or 2-d) as the diagonal blocks of one matrix."""
    mats = [reshape(t, (1, -1)) if t.ndim < 2 else t for t in tensors]
    if not mats:
        return _make(np.zeros((1, 0)))
    cols = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        right = cols - left - m.shape[1]
        parts = [p for p in (_zeros_like_rows(m, left), m, _zeros_like_rows(m, right))
                 if p.shape[1]]
        rows.append(cat(parts, 1) if len(parts) > 1 else parts[0])
        left += m.shape[1]
    return cat(rows, 0)


def _zeros_like_rows(m, n):
    a = m.array
    return _make(B.xp_of(a).zeros((m.shape[0], n), dtype=a.dtype))


def diagflat(input, offset=0):
    return diag(reshape(input, (-1,)), offset)


def cartesian_prod(*tensors):
    """All combinations of the 1-d tensors' elements, one per row."""
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


def _tri_indices(row, col, offset, upper, dtype):
    r, c = (np.triu_indices if upper else np.tril_indices)(row, offset, col)
    return _make(np.stack([r, c]).astype(D.to_np_dtype(dtype) if dtype else np.int64))


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, False, dtype)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, True, dtype)


def broadcast_shapes(*shapes):
    return tuple(np.broadcast_shapes(*[(s,) if isinstance(s, numbers.Integral) else tuple(s)
                                      for s in shapes]))


def broadcast_tensors(*tensors):
    shape = np.broadcast_shapes(*[tuple(t.shape) for t in tensors])
    return tuple(broadcast_to(t, shape) for t in tensors)


# ---------------------------------------------------------------- predicates
def is_floating_point(input):
    return input.dtype.is_floating_point


def is_complex(input):
    return False  # chainrule has no complex dtypes (docs/torch_differences.md)


def is_signed(input):
    return input.array.dtype.kind in "if"


def is_nonzero(input):
    if input.numel() != 1:
        raise RuntimeError(f"Boolean value of Tensor with {'no' if input.numel() == 0 else 'more than one'} values is ambiguous")
    return bool(input.array.reshape(()) != 0)


def is_same_size(input, other):
    return tuple(input.shape) == tuple(other.shape)
