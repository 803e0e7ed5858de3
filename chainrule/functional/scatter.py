"""Gather/scatter along one dimension: ``gather``, ``scatter``, ``scatter_add``,
``index_select``, ``index_add``, ``index_copy``, ``index_fill``, ``take_along_dim``.

Each op turns ``(dim, index)`` into full coordinate arrays and reuses the
indexing primitives of ``indexing.py`` (``_Take``/``_Put``/``_AddAt`` and their
adjoints), so all of them support gradients of any order.  Like torch, a 0-d
tensor counts as 1-d with one element.
"""
import numpy as np

from chainrule import backend as B
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.autocast import autocast_op
from chainrule.functional._util import norm_dim
from chainrule.functional.elementwise import cast
from chainrule.functional.indexing import (_AddAt, _Idx, _Put, _Take, check_range,
                                           getitem)
from chainrule.functional.shape import reshape

__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "index_copy",
           "index_fill", "take_along_dim"]


class Gather(_Take):
    pass


class TakeAlongDim(_Take):
    pass


class IndexSelect(_Take):
    pass


class Scatter(_Put):
    pass


class IndexCopy(_Put):
    pass


class IndexFill(_Put):
    pass


class ScatterAdd(_AddAt):
    pass


class IndexAdd(_AddAt):
    pass


class ScatterMultiply(Function):
    """``scatter(..., reduce='multiply')``: forward only, like torch."""
    save_inputs = False

    def __init__(self, idx, value=None):
        self.idx, self.value = idx, value

    def forward(self, x, *v):
        y = x.copy()
        B.xp_of(y).multiply.at(y, self.idx.adv, v[0] if v else self.value)
        return y

    def backward(self, gy):
        raise RuntimeError("scatter: the derivative for reduce='multiply' is not "
                           "implemented (torch has none either)")


# ---------------------------------------------------------------- helpers
def _index_arg(index, op, kinds=(np.int64,)):
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}: index must be a Tensor, got {type(index).__name__}")
    if index._data.dtype not in kinds:
        want = " or ".join(np.dtype(k).name for k in kinds)
        raise RuntimeError(f"{op}: expected dtype {want} for index, got {index.dtype}")
    return index._data


def _shape1(t):
    return tuple(t.shape) or (1,)


def _as1d(t):
    return t if t.ndim else reshape(t, (1,))


def _back(y, like):
    return y if like.ndim else reshape(y, ())


def _same_ndim(op, a, b, aname, bname):
    if len(_shape1(a)) != len(_shape1(b)):
        raise RuntimeError(f"{op}: {aname} {tuple(a.shape)} must have the same number of "
                           f"dimensions as {bname} {tuple(b.shape)}")


def _not_larger(op, index, other, name, skip=None):
    ishape, oshape = _shape1(index), _shape1(other)
    for k, (i, o) in enumerate(zip(ishape, oshape)):
        if k != skip and i > o:
            only = "" if skip is None else f" (only dim={skip} may be larger)"
            raise RuntimeError(f"{op}: index {tuple(index.shape)} has more entries than "
                               f"{name} {tuple(other.shape)} in dimension {k}{only}")


def _coords(index, dim, in_shape, out_shape, xp):
    """Full coordinates: ``index`` along ``dim``, ``arange`` elsewhere (zeros
    where the input has size 1 and is broadcast)."""
    nd = len(out_shape)
    out = []
    for d in range(nd):
        if d == dim:
            out.append(index)
            continue
        n = out_shape[d]
        r = xp.zeros(1, np.int64) if in_shape[d] == 1 and n > 1 else xp.arange(n)
        shape = [1] * nd
        shape[d] = r.size
        out.append(r.reshape(shape))
    return tuple(out)


def _dim_index(op, input, dim, index, negative=False):
    """``(idx, d, n)`` for the ``index_*`` family: a 1-D int32/int64 index along ``dim``."""
    a = _index_arg(index, op, (np.int32, np.int64))
    if a.ndim > 1:
        raise IndexError(f"{op}: index is supposed to be a vector, got shape "
                         f"{tuple(index.shape)}")
    d = norm_dim(dim, input.ndim, op)
    a = a.reshape(-1)
    size = _shape1(input)[d]
    check_range(a, size, op, d, negative)
    return a, d, size


def _source(op, input, source, d, n):
    if not isinstance(source, Tensor):
        raise TypeError(f"{op}: source must be a Tensor, got {type(source).__name__}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"{op}: input ({input.dtype}) and source ({source.dtype}) must "
                           f"have the same dtype")
    want = list(_shape1(input))
    want[d] = n
    if _shape1(source) != tuple(want):
        raise RuntimeError(f"{op}: source {tuple(source.shape)} must match input "
                           f"{tuple(input.shape)} except in dim={d}, where it needs "
                           f"len(index)={n} entries (expected {tuple(want)})")
    return _as1d(source)


def _along(a, d):
    return _Idx(None, (slice(None),) * d + (a,))


# ---------------------------------------------------------------- gather family
def gather(input, dim, index, *, sparse_grad=False):
    """``out[i][j] = input[index[i][j]][j]`` (for ``dim=0``); ``index`` is int64 with
    ``input``'s number of dimensions and no larger than it outside ``dim``.

    >>> import chainrule as cr
    >>> cr.gather(cr.tensor([[1, 2], [3, 4]]), 1, cr.tensor([[0, 0], [1, 0]])).tolist()
    [[1, 1], [4, 3]]
    """
    op = "gather"
    a = _index_arg(index, op)
    d = norm_dim(dim, input.ndim, op)
    _same_ndim(op, index, input, "index", "input")
    _not_larger(op, index, input, "input", skip=d)
    xs, ishape = _shape1(input), _shape1(index)
    check_range(a, xs[d], op, d)
    idx = _Idx(None, _coords(a.reshape(ishape), d, xs, ishape, B.xp_of(input._data)))
    return _back(Gather(idx)(_as1d(input)), index)


def take_along_dim(input, indices, dim=None):
    """Pick values along ``dim`` at ``indices`` (int64), broadcasting ``input`` and
    ``indices`` in the other dimensions; with ``dim=None`` both are flattened."""
    op = "take_along_dim"
    a = _index_arg(indices, op)
    xp = B.xp_of(input._data)
    if dim is None:
        n = int(input._data.size)
        a = a.reshape(-1)
        check_range(a, n, op, 0)
        return TakeAlongDim(_Idx(None, (a,)))(reshape(input, (n,)))
    d = norm_dim(dim, input.ndim, op)
    _same_ndim(op, indices, input, "indices", "input")
    xs, ishape = _shape1(input), _shape1(indices)
    out = list(ishape)
    for k in range(len(xs)):
        if k != d:
            if xs[k] != ishape[k] and 1 not in (xs[k], ishape[k]):
                raise RuntimeError(f"{op}: input {tuple(input.shape)} and indices "
                                   f"{tuple(indices.shape)} are not broadcastable in "
                                   f"dimension {k} (dim={d} excepted)")
            out[k] = ishape[k] if xs[k] == 1 else xs[k]
    check_range(a, xs[d], op, d)
    idx = _Idx(None, _coords(a.reshape(ishape), d, xs, tuple(out), xp))
    return _back(TakeAlongDim(idx)(_as1d(input)), indices)


def index_select(input, dim, index):
    """The entries of ``input`` at the (1-D, int32/int64) ``index`` along ``dim``."""
    a, d, _ = _dim_index("index_select", input, dim, index)
    return IndexSelect(_along(a, d))(_as1d(input))


# ---------------------------------------------------------------- scatter family
def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """``input`` with ``out[index[i][j]][j] = src[i][j]`` (``dim=0``), or ``value``
    at those places; ``reduce='add'`` or ``'multiply'`` combines instead of
    overwriting.  Repeated indices without ``reduce`` keep one write (torch:
    undefined which)."""
    if src is not None and not isinstance(src, Tensor):
        if value is not None:
            raise TypeError("scatter: pass either src or value, not both")
        src, value = None, src
    if src is None and value is None:
        raise TypeError("scatter: missing src (a Tensor) or value (a number)")
    return _scatter("scatter", input, dim, index, src, value, reduce)


@autocast_op("scatter_add")
def scatter_add(input, dim, index, src):
    """``input`` with ``src`` added at ``index`` along ``dim`` (repeats accumulate)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
    return _scatter("scatter_add", input, dim, index, src, None, "add")


def _scatter(op, input, dim, index, src, value, reduce):
    a = _index_arg(index, op)
    d = norm_dim(dim, input.ndim, op)
    _same_ndim(op, index, input, "index", "input")
    _not_larger(op, index, input, "input", skip=d)
    xs, ishape = _shape1(input), _shape1(index)
    if src is not None:
        if src._data.dtype != input._data.dtype:
            raise RuntimeError(f"{op}: expected input.dtype to be equal to src.dtype, got "
                               f"{input.dtype} and {src.dtype}")
        _same_ndim(op, index, src, "index", "src")
        _not_larger(op, index, src, "src")
        src = _as1d(src)
        if src.shape != ishape:
            src = getitem(src, tuple(slice(0, n) for n in ishape))
    check_range(a, xs[d], op, d)
    xp = B.xp_of(input._data)
    idx = _Idx(None, _coords(a.reshape(ishape), d, xs, ishape, xp))
    x = _as1d(input)
    if reduce is None:
        y = Scatter(idx)(x, src) if src is not None else Scatter(idx, value)(x)
    elif reduce == "add":
        if src is None:
            src = _make(xp.full(ishape, value, dtype=input._data.dtype))
        y = ScatterAdd(idx)(x, src)
    elif reduce == "multiply":
        y = ScatterMultiply(idx)(x, src) if src is not None else ScatterMultiply(idx, value)(x)
    else:
        raise ValueError(f"{op}: reduce must be None, 'add' or 'multiply', got {reduce!r}")
    return _back(y, input)


def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added at ``index`` along ``dim``
    (repeated indices accumulate)."""
    op = "index_add"
    a, d, _ = _dim_index(op, input, dim, index)
    source = _source(op, input, source, d, a.size)
    return _back(IndexAdd(_along(a, d), alpha)(_as1d(input), source), input)


def index_copy(input, dim, index, source):
    """``input`` with the slices at ``index`` along ``dim`` replaced by ``source``'s."""
    op = "index_copy"
    a, d, _ = _dim_index(op, input, dim, index)
    source = _source(op, input, source, d, a.size)
    return _back(IndexCopy(_along(a, d))(_as1d(input), source), input)


def index_fill(input, dim, index, value):
    """``input`` with the slices at ``index`` along ``dim`` set to ``value`` (a
    number or a differentiable 0-d tensor); negative indices count from the end."""
    op = "index_fill"
    a, d, size = _dim_index(op, input, dim, index, negative=True)
    a = B.xp_of(a).unique(a % size) if a.size else a  # a repeated slot is filled once
    idx = _along(a, d)
    x = _as1d(input)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"{op}: only supports a 0-dimensional value tensor, got "
                               f"shape {tuple(value.shape)}")
        return _back(IndexFill(idx)(x, cast(value, input.dtype)), input)
    return _back(IndexFill(idx, value)(x), input)
