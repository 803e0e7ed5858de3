"""Shape ops: reshape/view, squeeze, transposes, expand/repeat, flips, triangles.

View-producing ops (``is_view = True``) return tensors sharing memory and the
version counter with their input, like torch's views.

The primitives are few (SumTo, BroadcastTo, Reshape, Permute, Repeat, Flip,
Roll, Tril/Triu); each backward is another primitive applied to ``gy``, so
higher derivatives work.  Slicing ops (narrow, split, diagonal) and their
adjoints (pads, cat, diag_embed) live in ``join.py``.
"""
import math
import numbers
import operator

from chainrule import backend as B
from chainrule.backend.kernels.reduce import fast_sum
from chainrule.core.function import Function
from chainrule.functional._util import norm_dim, norm_dims
from chainrule.functional.elementwise import cast

__all__ = [
    "sum_to", "broadcast_to", "reshape", "view", "view_as", "reshape_as", "flatten",
    "unflatten", "squeeze", "unsqueeze", "permute", "transpose", "swapaxes", "swapdims",
    "movedim", "moveaxis", "t", "expand", "expand_as", "repeat", "tile", "flip", "fliplr",
    "flipud", "roll", "tril", "triu", "select",
]


def _may_share(a, b):
    f = getattr(B.xp_of(a), "may_share_memory", None)
    return True if f is None else bool(f(a, b))


def _ints(args, op, what="sizes"):
    """``f(x, 1, 2)`` or ``f(x, (1, 2))`` -> ``(1, 2)``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    try:
        return tuple(operator.index(a) for a in args)
    except TypeError:
        raise TypeError(f"{op}: {what} must be ints, got {tuple(args)}") from None


def _shape_of(t):
    return tuple(t.shape)


def _sum_to_array(x, shape):
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"cannot sum {x.shape} to {shape}")
    axes = tuple(range(lead))
    for i, s in enumerate(shape):
        n = x.shape[i + lead]
        if s == 1 and n != 1:
            axes += (i + lead,)
        elif s != n:
            raise ValueError(f"cannot sum {x.shape} to {shape}")
    y = fast_sum(x, axes, keepdims=True) if axes else x
    if lead:
        y = y.reshape(shape)
    return y


class SumTo(Function):
    save_inputs = False

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return _sum_to_array(x, self.shape)

    def backward(self, gy):  # broadcast back
        return broadcast_to(gy, self._in_meta[0][0])


def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (the adjoint of broadcasting)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


class BroadcastTo(Function):
    save_inputs = False
    is_view = True

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return B.xp_of(x).broadcast_to(x, self.shape)

    def backward(self, gy):  # sum over the broadcast axes
        return sum_to(gy, self._in_meta[0][0])


def broadcast_to(x, shape):
    shape = tuple(shape)
    if x.shape == shape:
        return x
    try:
        return BroadcastTo(shape)(x)
    except ValueError:
        raise RuntimeError(f"broadcast_to: shape {tuple(x.shape)} can't be broadcast to "
                           f"{shape}") from None


def _infer_shape(shape, numel, op, src):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:  # like torch: 2.5 is an error, not 2
        shape = tuple(operator.index(s) for s in shape)
    except TypeError:
        bad = next(type(s).__name__ for s in shape if not hasattr(type(s), "__index__"))
        raise TypeError(f"{op}(): argument 'shape' must be tuple of ints, but found "
                        f"element of type {bad}") from None
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got {shape}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid shape dimension {s} in {shape}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of size "
                               f"{numel} (shape {tuple(src)})")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of size "
                           f"{numel} (shape {tuple(src)})")
    return shape


class Reshape(Function):
    save_inputs = False
    is_view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        y = x.reshape(self.shape)
        if y.size and not _may_share(y, x):
            self.is_view = False  # NumPy had to copy (e.g. flattening a transpose)
        return y

    def backward(self, gy):  # reshape back
        return reshape(gy, self._in_meta[0][0])


def reshape(input, *shape):
    src = input._data.shape   # the array's tuple: no Size made on this hot path
    shape = _infer_shape(shape, input._data.size, "reshape", src)
    if shape == src:
        return input
    return Reshape(shape)(input)


def view(input, *shape):
    """Like :func:`reshape` (NumPy copies only when a view is impossible)."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, numbers.Integral)):
        return cast(input, shape[0])
    shape = _infer_shape(shape, input._data.size, "view", input._data.shape)
    return Reshape(shape)(input)


def view_as(input, other):
    """View ``input`` with ``other``'s shape."""
    return view(input, tuple(other.shape))


def reshape_as(input, other):
    """Reshape ``input`` to ``other``'s shape."""
    return reshape(input, tuple(other.shape))


# ---------------------------------------------------------------- size-1 dims
def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one (a 0-d tensor becomes shape (1,))."""
    nd = input.ndim
    if nd == 0:
        return Reshape((1,))(input)
    s = norm_dim(start_dim, nd, "flatten")
    e = norm_dim(end_dim, nd, "flatten")
    if s > e:
        raise RuntimeError(f"flatten: start_dim ({start_dim}) cannot come after end_dim "
                           f"({end_dim}) for input of shape {_shape_of(input)}")
    shp = input.shape
    return Reshape(shp[:s] + (math.prod(shp[s:e + 1]),) + shp[e + 1:])(input)


def unflatten(input, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one entry may be -1)."""
    d = norm_dim(dim, input.ndim, "unflatten")
    sizes = _ints((sizes,), "unflatten")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    shp = input.shape
    sizes = _infer_shape(sizes, shp[d], "unflatten", shp)
    return Reshape(shp[:d] + sizes + shp[d + 1:])(input)


def squeeze(input, dim=None):
    """Remove the size-1 dims among ``dim`` (int, tuple or None for all)."""
    axes = norm_dims(dim, input.ndim, "squeeze")
    shape = tuple(n for i, n in enumerate(input.shape) if not (i in axes and n == 1))
    return Reshape(shape)(input)


def unsqueeze(input, dim):
    """Insert a size-1 dim at ``dim`` (in ``[-ndim-1, ndim]``)."""
    d = norm_dim(dim, input.ndim + 1, "unsqueeze")
    shp = input.shape
    return Reshape(shp[:d] + (1,) + shp[d:])(input)


# ---------------------------------------------------------------- dim order
class Permute(Function):
    save_inputs = False
    is_view = True

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):  # permute back with the inverse permutation
        inv = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inv[a] = i
        return Permute(tuple(inv))(gy)


def permute(input, *dims):
    """Reorder the dims: ``permute(x, 2, 0, 1)`` or ``permute(x, (2, 0, 1))``."""
    dims = _ints(dims, "permute", "dims")
    nd = input.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute: number of dims don't match: got dims {dims} for input "
                           f"of shape {_shape_of(input)}")
    axes = tuple(norm_dim(d, nd, "permute") for d in dims)
    if len(set(axes)) != nd:
        raise RuntimeError(f"permute: dims {dims} repeat a dim (input shape "
                           f"{_shape_of(input)})")
    return Permute(axes)(input)


def transpose(input, dim0, dim1):
    """Swap dims ``dim0`` and ``dim1`` (a view)."""
    nd = input.ndim
    a, b = norm_dim(dim0, nd, "transpose"), norm_dim(dim1, nd, "transpose")
    axes = list(range(nd))
    if nd:
        axes[a], axes[b] = b, a
    return Permute(tuple(axes))(input)


def swapaxes(input, axis0, axis1):
    """Alias of :func:`transpose`."""
    return transpose(input, axis0, axis1)


def swapdims(input, dim0, dim1):
    """Alias of :func:`transpose`."""
    return transpose(input, dim0, dim1)


def movedim(input, source, destination):
    """Move dim(s) ``source`` to position(s) ``destination``; the rest keep their order."""
    nd = input.ndim
    src = (source,) if isinstance(source, numbers.Integral) else tuple(source)
    dst = (destination,) if isinstance(destination, numbers.Integral) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source {src} and "
                           f"destination {dst} must have the same number of dims")
    src = [norm_dim(d, nd, "movedim") for d in src]
    dst = [norm_dim(d, nd, "movedim") for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in source {tuple(src)} or destination "
                           f"{tuple(dst)}")
    order = [None] * nd
    for s, d in zip(src, dst) if nd else ():
        order[d] = s
    rest = iter(i for i in range(nd) if i not in src)
    return Permute(tuple(o if o is not None else next(rest) for o in order))(input)


moveaxis = movedim


def t(input):
    """Transpose a tensor of at most 2 dims (0-d and 1-d are returned as views)."""
    nd = input.ndim
    if nd > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but got shape "
                           f"{_shape_of(input)}")
    return Permute((1, 0) if nd == 2 else tuple(range(nd)))(input)


# ---------------------------------------------------------------- expand / repeat
def expand(input, *sizes):
    """Broadcast view to ``sizes`` (-1 keeps a dim; new dims go in front)."""
    sizes = _ints(sizes, "expand")
    shp, nd = input.shape, input.ndim
    lead = len(sizes) - nd
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                           f"greater or equal to the number of dimensions in the tensor "
                           f"({nd}); tensor shape {shp}")
    shape = []
    for i, s in enumerate(sizes):
        n = shp[i - lead] if i >= lead else None
        if s == -1 and n is not None:
            s = n
        elif s < 0:
            raise RuntimeError(f"expand: invalid size {s} at dim {i} (sizes {list(sizes)}, "
                               f"tensor shape {shp})")
        elif n is not None and n != 1 and s != n:
            raise RuntimeError(f"expand: the expanded size of the tensor ({s}) must match the "
                               f"existing size ({n}) at non-singleton dimension {i}.  Target "
                               f"sizes: {list(sizes)}.  Tensor sizes: {list(shp)}")
        shape.append(s)
    return BroadcastTo(tuple(shape))(input)


def expand_as(input, other):
    """Expand ``input`` to ``other``'s shape."""
    return expand(input, tuple(other.shape))


class Repeat(Function):
    save_inputs = False

    def __init__(self, reps):
        self.reps = reps

    def forward(self, x):
        return B.xp_of(x).tile(x, self.reps) if self.reps else x.copy()

    def backward(self, gy):  # sum the copies: view gy as (r0, n0, r1, n1, ...)
        shape = self._in_meta[0][0]
        split = tuple(v for r, n in zip(self.reps, shape) for v in (r, n))
        ones = tuple(v for n in shape for v in (1, n))
        return reshape(sum_to(reshape(gy, split), ones), shape)


def repeat(input, *sizes):
    """Tile ``input`` ``sizes[i]`` times along each dim (extra sizes add leading dims)."""
    sizes = _ints(sizes, "repeat")
    nd = input.ndim
    if len(sizes) < nd:
        raise RuntimeError(f"repeat: number of dimensions of repeat dims ({len(sizes)}) can "
                           f"not be smaller than number of dimensions of tensor ({nd}); "
                           f"tensor shape {_shape_of(input)}")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: repeats can not be negative, got {list(sizes)}")
    if len(sizes) > nd:
        input = reshape(input, (1,) * (len(sizes) - nd) + input.shape)
    return Repeat(sizes)(input)


def tile(input, dims):
    """Like :func:`repeat`, but fewer ``dims`` than tensor dims are padded with 1s in front."""
    dims = _ints((dims,), "tile", "dims")
    dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


# ---------------------------------------------------------------- flips and rolls
class Flip(Function):
    save_inputs = False

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return B.xp_of(x).flip(x, self.axes).copy()  # torch's flip copies

    def backward(self, gy):  # flip back
        return Flip(self.axes)(gy)


def flip(input, dims):
    """Reverse the order of elements along ``dims`` (int or tuple)."""
    return Flip(norm_dims(dims, input.ndim, "flip"))(input)


def select(input, dim, index):
    """The slice at ``index`` along ``dim``, with that dim removed (a view)."""
    d = norm_dim(dim, input.ndim, "select")
    n = input.shape[d]
    if not -n <= int(index) < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{tuple(input.shape)} at dimension {dim}")
    return input[(slice(None),) * d + (int(index),)]


def fliplr(input):
    if input.ndim < 2:
        raise RuntimeError(f"fliplr: input must be >= 2-d, got shape {_shape_of(input)}")
    return flip(input, 1)


def flipud(input):
    if input.ndim < 1:
        raise RuntimeError("flipud: input must be >= 1-d, got a 0-d tensor")
    return flip(input, 0)


class Roll(Function):
    save_inputs = False

    def __init__(self, shifts, axes):
        self.shifts, self.axes = shifts, axes

    def forward(self, x):
        return B.xp_of(x).roll(x, self.shifts, self.axes)

    def backward(self, gy):  # roll back
        neg = -self.shifts if self.axes is None else tuple(-s for s in self.shifts)
        return Roll(neg, self.axes)(gy)


def roll(input, shifts, dims=None):
    """Shift elements cyclically along ``dims`` (or over the flattened tensor)."""
    shifts = _ints((shifts,), "roll", "shifts")
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts {shifts} need dims when more than one is given")
        return Roll(shifts[0], None)(input)
    dims = _ints((dims,), "roll", "dims")
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims: {len(dims)}")
    return Roll(shifts, tuple(norm_dim(d, input.ndim, "roll") for d in dims))(input)


# ---------------------------------------------------------------- triangles
class _Tri(Function):
    save_inputs = False

    def __init__(self, k, upper):
        self.k, self.upper = k, upper

    def forward(self, x):
        xp = B.xp_of(x)
        return (xp.triu if self.upper else xp.tril)(x, self.k)

    def backward(self, gy):  # the same mask
        return _Tri(self.k, self.upper)(gy)


def _tri(input, diagonal, upper):
    op = "triu" if upper else "tril"
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape "
                           f"{_shape_of(input)}")
    return _Tri(operator.index(diagonal), upper)(input)


def tril(input, diagonal=0):
    """Zero the elements above the ``diagonal``-th diagonal of the last two dims."""
    return _tri(input, diagonal, False)


def triu(input, diagonal=0):
    """Zero the elements below the ``diagonal``-th diagonal of the last two dims."""
    return _tri(input, diagonal, True)
