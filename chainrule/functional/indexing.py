"""Indexing: ``x[index]``, ``x[index] = value``, ``take``; the gather/scatter primitives.

An index is parsed once into an :class:`_Idx`: a *basic* part (ints, slices,
None) that NumPy applies as a view, then an optional *advanced* part (integer
arrays, boolean masks as their ``nonzero()``) applied to that view.  Applying
integers first is torch's rule (``x[0, :, [0, 1]]`` has shape ``(n1, 2)``,
where NumPy would give ``(2, n1)``).

Every gather-like op here and in ``scatter.py`` is one of four primitives on an
``_Idx``, each the adjoint of another, so gradients of any order work:

* ``_Take``      y = x[idx]                 adjoint: ``_TakeGrad``
* ``_TakeGrad``  y = zeros; y[idx] += g     adjoint: ``_Take``
* ``_Put``       y = x; y[idx] = v          gx: ``_ZeroAt``, gv: ``_Take``
* ``_AddAt``     y = x; y[idx] += a * v     gx: identity, gv: ``_Take``
"""
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core import grad_mode as _gm
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor
from chainrule.functional.autocast import autocast_op
from chainrule.functional._util import as_tensor_arg
from chainrule.functional.shape import reshape, sum_to

__all__ = ["getitem", "setitem_", "index_put", "take"]

_VALID = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte or bool "
          "tensors are valid indices")


# ---------------------------------------------------------------- parsed index
class _Idx:
    """``a[basic][adv]``: ``basic`` (or None) always yields a view, ``adv`` is
    None or a tuple of slices and integer arrays; ``copy`` forces a copy for
    an index without ``adv`` (a 0-d integer tensor, like torch)."""
    __slots__ = ("basic", "adv", "copy")

    def __init__(self, basic, adv, copy=False):
        self.basic, self.adv, self.copy = basic, adv, copy

    def get(self, a):
        if self.basic is not None:
            a = a[self.basic]
        return a if self.adv is None else a[self.adv]

    def assign(self, a, v):
        t = a if self.basic is None else a[self.basic]
        if self.adv is None:
            t[...] = v
        else:
            t[self.adv] = v

    def add(self, a, v):
        t = a if self.basic is None else a[self.basic]
        if self.adv is None:
            t += v
        elif len(self.adv) == 1 and getattr(self.adv[0], "ndim", 0) >= 1:  # rows: t[a] += v
            a = self.adv[0]
            rows = a.shape + t.shape[1:]
            if getattr(v, "shape", None) == rows:  # flat indices take the backend's fast path
                a, v = a.reshape(-1), v.reshape((a.size,) + t.shape[1:])
            B.scatter_add(t, a, v)
        else:  # repeated indices are summed
            B.scatter_add(t, self.adv, v)


def _classify(c, op):
    """One index component as ``(kind, value)``."""
    tc = type(c)
    if tc is int:
        return "int", c
    if c is None:
        return "none", None
    if c is Ellipsis:
        return "ell", None
    if tc is slice:
        start, stop, step = c.start, c.stop, c.step
        if not (type(start) in _PLAIN and type(stop) in _PLAIN and type(step) in _PLAIN):
            start, stop, step = (None if v is None else _as_int(v, op)
                                 for v in (start, stop, step))
        if step is not None and step <= 0:
            raise ValueError(f"{op}: step must be greater than zero, got {step} "
                             f"(negative steps are not supported; use flip())")
        return "slice", slice(start, stop, step)
    if isinstance(c, (bool, np.bool_)):
        return "bool0", np.bool_(c)
    if isinstance(c, numbers.Integral):
        return "int", int(c)
    if isinstance(c, Tensor):
        a = c._data
    elif isinstance(c, (list, tuple, range, np.ndarray)):
        a = np.asarray(c)
        if a.size == 0 and a.dtype.kind == "f":
            a = a.astype(np.int64)
    else:
        raise IndexError(f"{op}: {_VALID} (got {type(c).__name__})")
    if a.dtype == np.bool_ or a.dtype == np.uint8:
        return ("bool0", np.bool_(a.item())) if a.ndim == 0 else ("mask", a.astype(bool))
    if a.dtype.kind not in "iu":
        raise IndexError(f"{op}: tensors used as indices must be long, int, byte or bool "
                         f"tensors, got dtype {a.dtype}")
    return ("int0d", int(a)) if a.ndim == 0 else ("arr", a)


_PLAIN = (int, type(None))


def _as_int(v, op):
    try:
        return int(v.__index__())
    except (AttributeError, TypeError):
        raise TypeError(f"{op}: slice indices must be integers or None, got "
                        f"{type(v).__name__}") from None


_DIMS = {"none": 0, "bool0": 0, "ell": 0, "int": 1, "int0d": 1, "slice": 1, "arr": 1}


def _parse_index(shape, index, xp, op="getitem"):
    """Validate a torch-style index against ``shape`` and build an ``_Idx``."""
    if type(index) is int and shape and -shape[0] <= index < shape[0]:  # fast path: x[i]
        return _Idx((index, Ellipsis), None)
    if not isinstance(index, tuple):
        index = (index,)
    items = [_classify(c, op) for c in index]
    used = sum(v.ndim if k == "mask" else _DIMS[k] for k, v in items)
    ndim = len(shape)
    if used > ndim:
        raise IndexError(f"{op}: too many indices for tensor of dimension {ndim} "
                         f"(got {used} indices for shape {tuple(shape)})")
    if sum(k == "ell" for k, _ in items) > 1:
        raise IndexError(f"{op}: an index can only have a single ellipsis ('...')")
    basic, adv = [], []
    copy = has_adv = False
    d = 0
    for kind, v in items:
        if kind in ("int", "int0d"):
            n = shape[d]
            if not -n <= v < n:
                raise IndexError(f"{op}: index {v} is out of bounds for dimension {d} "
                                 f"with size {n}")
            basic.append(v)
            copy |= kind == "int0d"
            d += 1
        elif kind in ("slice", "none"):
            basic.append(v)
            adv.append(slice(None))
            d += kind == "slice"
        elif kind == "ell":
            k = ndim - used
            basic.extend([slice(None)] * k)
            adv.extend([slice(None)] * k)
            d += k
        elif kind == "arr":
            check_range(v, shape[d], op, d, negative=True)
            basic.append(slice(None))
            adv.append(xp.asarray(v))
            has_adv = True
            d += 1
        elif kind == "mask":
            k = v.ndim
            if v.shape != tuple(shape[d:d + k]):
                raise IndexError(f"{op}: The shape of the mask {list(v.shape)} at index {d} "
                                 f"does not match the shape of the indexed tensor "
                                 f"{list(shape)} at index {d}")
            basic.extend([slice(None)] * k)
            adv.extend(xp.nonzero(xp.asarray(v)))
            has_adv = True
            d += k
        else:  # a boolean scalar: a new axis of size 1 (True) or 0 (False)
            adv.append(v)
            has_adv = True
    basic.append(Ellipsis)  # keeps a full-integer index a (0-d) view, not a scalar
    return _Idx(tuple(basic), tuple(adv) if has_adv else None, copy)


def check_range(a, size, op, dim, negative=False):
    """Raise IndexError naming ``op`` if an index in ``a`` is outside ``size``."""
    if not a.size:
        return
    lo, hi = int(a.min()), int(a.max())
    low = -size if negative else 0
    if lo < low or hi >= size:
        bad = lo if lo < low else hi
        raise IndexError(f"{op}: index {bad} is out of bounds for dimension {dim} "
                         f"with size {size}")


# ---------------------------------------------------------------- primitives
class _Take(Function):
    """``y = x[idx]`` (a copy)."""
    save_inputs = False

    def __init__(self, idx):
        self.idx = idx

    def forward(self, x):
        y = self.idx.get(x)
        return y.copy() if self.idx.adv is None else y

    def backward(self, gy):  # scatter-add gy into zeros of the input's shape
        return _TakeGrad(self.idx, self._in_meta[0][0])(gy)


class _TakeGrad(Function):
    """``y = zeros(shape); y[idx] += g``, then ``y[zero] = 0`` when ``zero`` (an
    ``_Idx``) is given (the adjoint of ``_Take``)."""
    save_inputs = False

    def __init__(self, idx, shape, zero=None):
        self.idx, self.shape, self.zero = idx, shape, zero

    def forward(self, g):
        y = B.xp_of(g).zeros(self.shape, dtype=g.dtype)
        if self.idx.adv is None:  # a basic index reaches each element once: assign
            self.idx.assign(y, g)
        else:
            self.idx.add(y, g)
        if self.zero is not None:
            self.zero.assign(y, 0)
        return y

    def backward(self, gg):  # adjoint of scatter-add is gather (the zeroed region masked)
        if self.zero is not None:
            gg = _ZeroAt(self.zero)(gg)
        return _Take(self.idx)(gg)


class _ZeroAt(Function):
    """``y = g; y[idx] = 0`` (self-adjoint)."""
    save_inputs = False

    def __init__(self, idx):
        self.idx = idx

    def forward(self, g):
        y = g.copy()
        self.idx.assign(y, 0)
        return y

    def backward(self, gg):  # a projection is its own adjoint
        return _ZeroAt(self.idx)(gg)


def fit_value(g, shape):
    """Sum a gradient of the indexed region back to a (broadcast) value's shape."""
    if g.shape == shape:
        return g
    k = len(shape) - g.ndim
    if k > 0:  # the value had extra leading 1s
        g = reshape(g, (1,) * k + tuple(g.shape))
    return sum_to(g, shape)


class _Put(Function):
    """``y = x.clone(); y[idx] = v`` with ``v`` a Tensor input or a fixed scalar."""
    save_inputs = False

    def __init__(self, idx, value=None):
        self.idx, self.value = idx, value

    def forward(self, x, *v):
        y = x.copy()
        self.idx.assign(y, v[0] if v else self.value)
        return y

    def backward(self, gy):  # x's grad is gy with the region zeroed; v's is gy[idx]
        gx = _ZeroAt(self.idx)(gy) if self._edges[0] is not None else None
        if len(self._edges) == 1:
            return gx
        gv = None
        if self._edges[1] is not None:
            gv = fit_value(_Take(self.idx)(gy), self._in_meta[1][0])
        return gx, gv


class _AddAt(Function):
    """``y = x.clone(); y[idx] += alpha * v`` (repeated indices accumulate)."""
    save_inputs = False

    def __init__(self, idx, alpha=1):
        self.idx, self.alpha = idx, alpha

    def forward(self, x, v):
        y = x.copy()
        self.idx.add(y, v if self.alpha == 1 else v * self.alpha)
        return y

    def backward(self, gy):  # identity for x; alpha * gy[idx] for v
        gv = None
        if self._edges[1] is not None:
            gv = fit_value(_Take(self.idx)(gy), self._in_meta[1][0])
            if self.alpha != 1:
                gv = gv * self.alpha
        return gy, gv


# named subclasses, so that grad_fn reads like torch's
class Slice(_Take):
    """Basic indexing (``x[1:, 2]``, ``narrow``, halves of ``glu``): a view
    sharing memory and the version counter; the gradient fills zeros around ``gy``."""
    is_view = True

    def forward(self, x):
        return self.idx.get(x)


def slice_dim(input, dim, start, stop):
    """``input[..., start:stop, ...]`` along ``dim`` (non-negative, in range): a view."""
    return Slice(_Idx((slice(None),) * dim + (slice(start, stop), Ellipsis), None))(input)


class Index(_Take):
    pass


class MaskedSelect(_Take):
    pass


class Take(_Take):
    pass


class CopySlices(_Put):
    pass


class IndexPut(_Put):
    pass


class IndexPutAccumulate(_AddAt):
    pass


# ---------------------------------------------------------------- getitem / setitem
def getitem(input, index):
    """``input[index]`` with torch's rules: ints, slices (step > 0), None, ``...``,
    integer and boolean tensors/lists.  Basic indexing returns a view sharing
    memory and the version counter; advanced indexing copies.

    >>> import chainrule as cr
    >>> x = cr.arange(12).reshape(3, 4)
    >>> x[1:, [0, 3]].tolist()
    [[4, 7], [8, 11]]
    """
    idx = _parse_index(input._data.shape, index, B.xp_of(input._data))
    if idx.adv is None and not idx.copy:
        return Slice(idx)(input)
    return Index(idx)(input)


def _value_arg(value, op):
    if isinstance(value, Tensor):
        return value
    if isinstance(value, numbers.Number) or isinstance(value, np.generic):
        return value.item() if isinstance(value, np.generic) else value
    return as_tensor_arg(value, None, op)


def _raw_assign(input, idx, value, op):
    v = value._data if isinstance(value, Tensor) else value
    try:
        idx.assign(input._data, v)
    except ValueError as e:
        alias = _alias(input._data, idx)
        if alias is None:
            _assign_error(input, idx, v, op, e)
        idx.assign(alias, v)


def _alias(a, idx):
    """A writeable alias of a read-only (expanded) ``a`` when the written region
    ``a[idx]`` has no two elements sharing memory (torch writes there), else None."""
    if getattr(a, "flags", None) is None or a.flags.writeable:
        return None
    try:
        target = idx.get(a)
    except (IndexError, ValueError):
        return None
    if target.base is None or B.overlaps_itself(target):  # a copy, or overlapping
        return None
    return B.writeable_alias(a)


def _assign_error(input, idx, v, op, e):
    if not getattr(input._data, "flags", None) or not input._data.flags.writeable:
        raise RuntimeError(f"{op}: unsupported operation: more than one element of the "
                           f"written-to tensor (shape {tuple(input.shape)}, an expanded view) "
                           f"refers to a single memory location. Please clone() the tensor "
                           f"before performing the operation.") from None
    target = tuple(idx.get(input._data).shape)
    raise RuntimeError(f"{op}: shape mismatch: value tensor of shape "
                       f"{tuple(np.shape(v))} cannot be broadcast to indexing result of "
                       f"shape {target}") from None


def _put(x, idx, value, cls=CopySlices):
    if isinstance(value, Tensor):
        return cls(idx)(x, value)
    return cls(idx, value)(x)


def setitem_(input, index, value):
    """``input[index] = value`` in place (``value`` a number or a Tensor that
    broadcasts to ``input[index]``), like torch's ``CopySlices``: under
    autograd ``input`` is rebased onto the new node; the gradient of the old
    ``input`` is ``gy`` with the region zeroed, and ``value``'s is ``gy[index]``."""
    op = "setitem"
    idx = _parse_index(input._data.shape, index, B.xp_of(input._data), op)
    value = _value_arg(value, op)
    vgrad = isinstance(value, Tensor) and value.requires_grad
    if not (_gm._State.enabled and (input.requires_grad or vgrad)):
        _raw_assign(input, idx, value, op)
        input._version[0] += 1
        return input
    try:
        return input._inplace(_put, "__setitem__", idx, value)
    except ValueError as e:
        _assign_error(input, idx, value._data if isinstance(value, Tensor) else value, op, e)


@autocast_op("index_put")
def index_put(input, indices, values, accumulate=False):
    """Out-of-place ``input[indices] = values`` (``+=`` with ``accumulate=True``,
    where repeated indices sum); ``indices`` is a tuple of index tensors."""
    op = "index_put"
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{op}: indices must be a tuple of tensors, got "
                        f"{type(indices).__name__}")
    idx = _parse_index(input._data.shape, tuple(indices), B.xp_of(input._data), op)
    values = as_tensor_arg(values, input, op)
    if values._data.dtype != input._data.dtype:
        raise RuntimeError(f"{op}: values {values.dtype} must have the same dtype as "
                           f"input {input.dtype}")
    try:
        if accumulate:
            return IndexPutAccumulate(idx)(input, values)
        return IndexPut(idx)(input, values)
    except ValueError as e:
        _assign_error(input, idx, values._data, op, e)


# ---------------------------------------------------------------- take
def take(input, index):
    """``input`` read as 1-D at ``index`` (int64; negative values count from the
    end); the result has ``index``'s shape."""
    op = "take"
    if not isinstance(index, Tensor) or index._data.dtype != np.int64:
        raise RuntimeError(f"{op}: index must be an int64 tensor, got "
                           f"{getattr(index, 'dtype', type(index).__name__)}")
    n = int(input._data.size)
    a = index._data
    if a.size and (int(a.min()) < -n or int(a.max()) >= n):
        bad = int(a.min()) if int(a.min()) < -n else int(a.max())
        raise IndexError(f"{op}: out of range: tried to access index {bad} on a tensor "
                         f"of {n} elements")
    return Take(_Idx(None, (a,)))(reshape(input, (n,)))
