"""Index-returning reductions: max/min with ``dim``, argmax/argmin, sort,
argsort, topk and median.

Values are differentiable (their gradient is routed back to the selected
positions by a gather/scatter pair whose backwards are each other's
adjoints, so higher-order gradients work); indices are int64 and never
require grad.  Results with both come back as ``(values, indices)`` named
tuples like ``torch.return_types``.
"""
import collections

import numpy as np

from chainrule import backend as B
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional._util import norm_dim
from chainrule.functional.elementwise import maximum, minimum
from chainrule.functional.reduction import _Select, _extreme
from chainrule.functional.shape import reshape

__all__ = ["max", "min", "argmax", "argmin", "sort", "argsort", "topk", "median",
           "return_types"]


# ---------------------------------------------------------------- result tuples
def _result_type(name):
    cls = collections.namedtuple(name, ["values", "indices"])
    cls.__module__ = "chainrule.return_types"
    cls.__repr__ = lambda self: (f"chainrule.return_types.{name}(\nvalues={self.values!r},"
                                 f"\nindices={self.indices!r})")
    return cls


class return_types:
    """The ``(values, indices)`` named tuples returned by max/min/sort/topk/median."""
    max = _result_type("max")
    min = _result_type("min")
    sort = _result_type("sort")
    topk = _result_type("topk")
    median = _result_type("median")


# ---------------------------------------------------------------- gather / scatter pair
def _full_index(idx, axis):
    """Advanced-index tuple addressing ``idx`` along ``axis`` (broadcast aranges)."""
    xp = B.xp_of(idx)
    out = []
    for i, s in enumerate(idx.shape):
        if i == axis:
            out.append(idx)
        else:
            shape = [1] * idx.ndim
            shape[i] = s
            out.append(xp.arange(s).reshape(shape))
    return tuple(out)


class TakeAlong(Function):
    """``x`` picked at ``idx`` along ``axis`` (``idx`` has ``x``'s ndim)."""
    save_inputs = False

    def __init__(self, idx, axis):
        self.idx, self.axis = idx, axis

    def forward(self, x):
        return B.xp_of(x).take_along_axis(x, self.idx, axis=self.axis)

    def backward(self, gy):  # scatter-add gy back to the picked positions
        return PutAlong(self.idx, self.axis, self._in_meta[0][0])(gy)


class PutAlong(Function):
    """Zeros of ``shape`` with ``g`` scatter-added at ``idx`` along ``axis``."""
    save_inputs = False

    def __init__(self, idx, axis, shape):
        self.idx, self.axis, self.shape = idx, axis, shape

    def forward(self, g):
        out = B.xp_of(g).zeros(self.shape, dtype=g.dtype)
        return B.scatter_add(out, _full_index(self.idx, self.axis), g)

    def backward(self, gg):  # the adjoint of scatter-add is the gather
        return TakeAlong(self.idx, self.axis)(gg)


def _pick(input, idx, axis, keepdim=True):
    """``(values, indices)`` for per-slice indices ``idx`` (kept dims) along ``axis``."""
    values = TakeAlong(idx, axis)(input)
    if not keepdim:
        shape = idx.shape[:axis] + idx.shape[axis + 1:]
        values, idx = reshape(values, shape), idx.reshape(shape)
    return values, _make(idx.astype(np.int64, copy=False))


def _as_1d(input, dim, op):
    """Normalise ``dim``; 0-d inputs are handled as shape (1,)."""
    axis = norm_dim(dim, input.ndim, op)
    if input.ndim == 0:
        return reshape(input, (1,)), 0, True
    return input, axis, False


def _scalar_back(res, was_0d, cls):
    if not was_0d:
        return cls(*res)
    return cls(reshape(res[0], ()), _make(res[1]._data.reshape(())))


def _argsort_array(x, axis, descending):
    """Stable argsort; descending keeps equal elements in order and puts NaN first."""
    xp, stable_argsort = B.xp_of(x), B.kernels_of(x).stable_argsort
    if not descending:
        return stable_argsort(x, axis)
    i = stable_argsort(xp.flip(x, axis), axis)
    return x.shape[axis] - 1 - xp.flip(i, axis)


# ---------------------------------------------------------------- max / min
def _arg_extreme(name, input, axis, keepdim):
    x = input._data
    if x.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size "
                         f"(input shape {tuple(x.shape)})")
    f = B.xp_of(x).argmax if name in ("max", "argmax") else B.xp_of(x).argmin
    return f(x, axis=axis, keepdims=True)


def _max_min(name, input, dim, keepdim, other):
    if isinstance(dim, Tensor) or other is not None:
        return (maximum if name == "max" else minimum)(input, dim if other is None else other)
    if dim is None:
        if input._data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0 (input shape {tuple(input.shape)}). "
                               f"Specify the reduction dim with the 'dim' argument.")
        return _extreme(name, name, input, None, False)
    x, axis, was_0d = _as_1d(input, dim, name)
    idx = _arg_extreme(name, x, axis, keepdim)
    return _scalar_back(_pick(x, idx, axis, keepdim), was_0d, getattr(return_types, name))


def max(input, dim=None, keepdim=False, *, other=None):
    """``max(x)`` -> the largest value (ties share the gradient);
    ``max(x, dim, keepdim=False)`` -> ``(values, indices)``;
    ``max(x, other)`` -> :func:`maximum`."""
    return _max_min("max", input, dim, keepdim, other)


def min(input, dim=None, keepdim=False, *, other=None):
    """``min(x)`` / ``min(x, dim, keepdim=False)`` / ``min(x, other)``, like :func:`max`."""
    return _max_min("min", input, dim, keepdim, other)


def _argfn(name, input, dim, keepdim):
    x = input._data
    xp = B.xp_of(x)
    if dim is None:
        if x.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0 (input shape {tuple(x.shape)}).")
        i = xp.asarray((xp.argmax if name == "argmax" else xp.argmin)(x.reshape(-1)))
        return _make(i.astype(np.int64).reshape((1,) * x.ndim if keepdim else ()))
    axis = norm_dim(dim, x.ndim, name)
    if x.ndim == 0:
        return _make(xp.zeros((), dtype=np.int64))
    idx = _arg_extreme(name, input, axis, keepdim)
    return _make(idx.astype(np.int64) if keepdim else idx.squeeze(axis).astype(np.int64))


def argmax(input, dim=None, keepdim=False):
    """Index of the largest value over ``dim`` (of the flattened input when None)."""
    return _argfn("argmax", input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    """Index of the smallest value over ``dim`` (of the flattened input when None)."""
    return _argfn("argmin", input, dim, keepdim)


# ---------------------------------------------------------------- sort / topk
def sort(input, dim=-1, descending=False, stable=False):
    """Sort along ``dim`` -> ``(values, indices)``; always stable, NaN sorts as largest."""
    x, axis, was_0d = _as_1d(input, dim, "sort")
    idx = _argsort_array(x._data, axis, descending)
    return _scalar_back(_pick(x, idx, axis), was_0d, return_types.sort)


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (int64)."""
    return sort(input, dim, descending, stable).indices


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (``largest=False``: smallest) values along ``dim`` ->
    ``(values, indices)``, always in sorted order."""
    x, axis, was_0d = _as_1d(input, dim, "topk")
    n = x.shape[axis]
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k out of range: k={k} but dim {dim} of "
                           f"shape {tuple(input.shape)} has size {n}")
    idx = _argsort_array(x._data, axis, largest)
    xp = B.xp_of(idx)
    idx = xp.take(idx, xp.arange(k), axis=axis)
    return _scalar_back(_pick(x, idx, axis), was_0d, return_types.topk)


# ---------------------------------------------------------------- median
def median(input, dim=None, keepdim=False):
    """``median(x)`` -> the lower median of all elements (NaN if any is NaN);
    ``median(x, dim, keepdim=False)`` -> ``(values, indices)``."""
    x = input._data
    xp = B.xp_of(x)
    if dim is None:
        if x.size == 0:
            if x.dtype.kind != "f":   # torch: NaN cast to the dtype (the lowest int, True)
                low = True if x.dtype == np.bool_ else np.iinfo(x.dtype).min
                return _make(xp.asarray(low, dtype=x.dtype))
            return input.sum() + float("nan")   # NaN, attached to the graph like torch's
        return _Select("median", tuple(range(x.ndim)), False)(input)
    t, axis, was_0d = _as_1d(input, dim, "median")
    d = t._data
    n = d.shape[axis]
    if n == 0:
        raise IndexError(f"median(): Expected reduction dim {axis} to have non-zero size "
                         f"(input shape {tuple(input.shape)})")
    order = _argsort_array(d, axis, False)
    idx = xp.take(order, xp.asarray([(n - 1) // 2]), axis=axis)
    if d.dtype.kind == "f":  # a slice with NaN has median NaN (its first NaN, like torch)
        nan = xp.isnan(d)
        has = nan.any(axis=axis, keepdims=True)
        idx = xp.where(has, nan.argmax(axis=axis, keepdims=True), idx)
    return _scalar_back(_pick(t, idx, axis, keepdim), was_0d, return_types.median)
