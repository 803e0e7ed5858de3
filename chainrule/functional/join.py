"""Slicing and its adjoints: cat/stack/split/chunk/unbind, narrow/pad, diagonals.

The primitives come in adjoint pairs, so every backward is another primitive:
``ConstantPad`` (with negative amounts, a crop), ``Cat`` and ``Split``, ``Diagonal``
and ``DiagEmbed``; ``Unbind``'s adjoint is :func:`stack`.  Reflect, replicate
and circular padding are composed of narrow, flip, expand and cat and need no
backward of their own.
"""
import math
import operator

from chainrule import backend as B
from chainrule.core import dtype as D
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional._util import norm_dim
from chainrule.functional.elementwise import clone
from chainrule.functional.indexing import slice_dim
from chainrule.functional.shape import _ints, _shape_of, expand, flip, reshape, unsqueeze

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "split", "chunk",
           "unbind", "narrow", "pad", "diagonal", "diag_embed", "diag"]


def _tensors(tensors, op):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a sequence of Tensors, got a single Tensor")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected a sequence of Tensors, got {type(t).__name__} "
                            f"at position {i}")
    if not tensors:
        raise RuntimeError(f"{op}: expected a non-empty list of Tensors")
    return tensors


# ---------------------------------------------------------------- narrow / constant pad
class ConstantPad(Function):
    """Pad (or, for negative amounts, crop) every dim by ``pads[d] = (before, after)``."""
    save_inputs = False

    def __init__(self, pads, value):
        self.pads, self.value = pads, value

    def forward(self, x):
        src, dst, shape = [], [], []
        for n, (a, b) in zip(x.shape, self.pads):
            s, e = max(-a, 0), n - max(-b, 0)
            src.append(slice(s, e))
            dst.append(slice(max(a, 0), max(a, 0) + e - s))
            shape.append(n + a + b)
        out = B.xp_of(x).full(tuple(shape), self.value, dtype=x.dtype)
        out[tuple(dst)] = x[tuple(src)]
        return out

    def backward(self, gy):  # crop what was padded, zero-pad what was cropped
        return ConstantPad(tuple((-a, -b) for a, b in self.pads), 0)(gy)


def narrow(input, dim, start, length):
    """View of ``length`` elements from ``start`` (may be negative) along ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("narrow: cannot be applied to a 0-dim tensor")
    d = norm_dim(dim, input.ndim, "narrow")
    n = input.shape[d]
    start, length = operator.index(start), operator.index(length)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start ({start}) out of range for dim {d} of size {n} "
                         f"(input shape {tuple(input.shape)})")
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                           f"size ({n}) of input shape {tuple(input.shape)}")
    return slice_dim(input, d, start, start + length)


# ---------------------------------------------------------------- cat / split
class Cat(Function):
    save_inputs = False

    def __init__(self, dim, npd, keep):
        self.dim, self.npd, self.keep = dim, npd, keep  # keep: inputs that take part

    def forward(self, *xs):
        xp = B.xp_of(xs[0])
        parts = [xs[i].astype(self.npd, copy=False) for i in self.keep]
        if not parts:
            return xp.empty((0,), self.npd)
        return xp.concatenate(parts, axis=self.dim)

    def backward(self, gy):  # split gy into the pieces; skipped (0,) inputs get empty grads
        sizes = [self._in_meta[i][0][self.dim] for i in self.keep]
        pieces = iter((gy,) if len(sizes) < 2 else split(gy, sizes, self.dim))
        xp = B.xp_of(gy._data)
        return tuple(next(pieces) if i in self.keep else _make(xp.zeros(shape, gy._data.dtype))
                     for i, (shape, _) in enumerate(self._in_meta))


def cat(tensors, dim=0):
    """Concatenate along ``dim``; 1-D empty tensors of shape (0,) are skipped like torch's."""
    tensors = _tensors(tensors, "cat")
    keep = tuple(i for i, t in enumerate(tensors) if t.shape != (0,))
    npd = D.result_type(*[t._data for t in tensors])
    if not keep:
        return Cat(norm_dim(dim, 1, "cat"), npd, keep)(*tensors)
    ref = tensors[keep[0]]
    if ref.ndim == 0:
        raise RuntimeError(f"cat: zero-dimensional tensor (at position {keep[0]}) cannot be "
                           f"concatenated")
    d = norm_dim(dim, ref.ndim, "cat")
    for i in keep[1:]:
        s = tensors[i].shape
        if len(s) != ref.ndim:
            raise RuntimeError(f"cat: tensors must have the same number of dimensions, got "
                               f"{tuple(ref.shape)} and {tuple(s)} (at position {i})")
        if any(a != b for k, (a, b) in enumerate(zip(ref.shape, s)) if k != d):
            raise RuntimeError(f"cat: expected all tensors to have the same shape except in "
                               f"dim {d}, got {tuple(ref.shape)} and {tuple(s)}")
    return Cat(d, npd, keep)(*tensors)


concat = concatenate = cat


def stack(tensors, dim=0):
    """Join equally-shaped tensors along a new dim ``dim``."""
    tensors = _tensors(tensors, "stack")
    s0 = tuple(tensors[0].shape)
    for i, t in enumerate(tensors[1:], 1):
        if tuple(t.shape) != s0:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got {s0} at "
                               f"entry 0 and {tuple(t.shape)} at entry {i}")
    d = norm_dim(dim, len(s0) + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


def hstack(tensors):
    """Concatenate column-wise (along dim 0 for 1-D inputs, else dim 1)."""
    ts = [reshape(t, (1,)) if t.ndim == 0 else t for t in _tensors(tensors, "hstack")]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    """Concatenate row-wise after making every input at least 2-D."""
    ts = [reshape(t, (1, -1)) if t.ndim < 2 else t for t in _tensors(tensors, "vstack")]
    return cat(ts, 0)


class Split(Function):
    """Consecutive slices of ``sizes`` along ``dim`` (views)."""
    save_inputs = False
    is_view = True

    def __init__(self, dim, sizes):
        self.dim, self.sizes = dim, sizes

    def forward(self, x):
        pre, out, s = (slice(None),) * self.dim, [], 0
        for n in self.sizes:
            out.append(x[pre + (slice(s, s + n),)])
            s += n
        return tuple(out)

    def backward(self, *gys):  # concatenate the pieces' gradients
        return cat(list(gys), self.dim)


def _split_dim(input, dim, op):
    if input.ndim == 0:
        raise RuntimeError(f"{op}: expected a tensor with at least 1 dim, got a 0-d tensor")
    d = norm_dim(dim, input.ndim, op)
    return d, input.shape[d]


def _even(n, k):
    return [k] * (n // k) + ([n % k] if n % k else [])


def split(tensor, split_size_or_sections, dim=0):
    """Split into pieces of ``split_size`` (last one smaller) or of the listed sizes."""
    d, n = _split_dim(tensor, dim, "split")
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = list(_ints((split_size_or_sections,), "split"))
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split: split sizes {sizes} must be non-negative and sum to "
                               f"the size of dim {d} ({n}) of input shape {tuple(tensor.shape)}")
    else:
        k = operator.index(split_size_or_sections)
        if k < 0 or (k == 0 and n):
            raise RuntimeError(f"split: split_size must be positive, got {k} for dim {d} of "
                               f"size {n}")
        sizes = _even(n, k) if n else [0]
    return Split(d, tuple(sizes))(tensor)


def chunk(input, chunks, dim=0):
    """Split into ``chunks`` pieces of ``ceil(size / chunks)`` (fewer if it divides early)."""
    d, n = _split_dim(input, dim, "chunk")
    chunks = operator.index(chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk: expects `chunks` to be greater than 0, got: {chunks}")
    sizes = _even(n, math.ceil(n / chunks)) if n else [0] * chunks
    return Split(d, tuple(sizes))(input)


class Unbind(Function):
    save_inputs = False
    is_view = True

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        pre = (slice(None),) * self.dim
        return tuple(x[pre + (i, Ellipsis)] for i in range(x.shape[self.dim]))

    def backward(self, *gys):  # stack the slices' gradients
        return stack(list(gys), self.dim)


def unbind(input, dim=0):
    """The slices along ``dim`` as a tuple of views, with that dim removed."""
    d, n = _split_dim(input, dim, "unbind")
    return Unbind(d)(input) if n else ()


# ---------------------------------------------------------------- pad
_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    """Pad like ``torch.nn.functional.pad``: ``pad`` lists (before, after) amounts from
    the last dim backwards; negative amounts crop.

    Non-constant modes pad any trailing dims (torch only allows some input ranks).

    >>> import chainrule as cr
    >>> pad(cr.tensor([[1., 2.]]), (1, 2), value=9.).tolist()
    [[9.0, 1.0, 2.0, 9.0, 9.0]]
    """
    pad = _ints((pad,), "pad", "pad amounts")
    nd, shape = input.ndim, tuple(input.shape)
    if len(pad) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2, got {len(pad)}")
    k = len(pad) // 2
    if k > nd:
        raise RuntimeError(f"pad: padding length ({len(pad)}) too large for input of shape "
                           f"{shape} ({nd} dims)")
    if mode not in _MODES:
        raise ValueError(f"pad: unsupported padding mode {mode!r}; expected one of {_MODES}")
    pairs = [(0, 0)] * (nd - k) + [(pad[2 * j], pad[2 * j + 1]) for j in reversed(range(k))]
    for n, (a, b) in zip(shape, pairs):
        if n + a + b < 0 or -a > n or -b > n:
            raise RuntimeError(f"pad: padding {pad} gives a negative size for input of shape "
                               f"{shape}")
    if mode == "constant":
        return ConstantPad(tuple(pairs), 0 if value is None else value)(input)
    if value not in (None, 0):
        raise RuntimeError(f"pad: padding mode {mode!r} doesn't take in value argument")
    out = input
    for d in range(nd - 1, nd - k - 1, -1):
        if pairs[d] != (0, 0):
            out = _pad_dim(out, d, *pairs[d], mode, shape)
    if out is input or all(a <= 0 and b <= 0 for a, b in pairs):
        out = clone(out)  # pad never returns a view of its input
    return out


def _pad_dim(x, d, a, b, mode, shape):
    """Pad dim ``d`` of ``x`` by ``a`` before and ``b`` after in a non-constant mode."""
    n = x.shape[d]
    if a < 0 or b < 0:  # crop first, then pad from what is left
        s, e = max(-a, 0), n - max(-b, 0)
        x, n, a, b = narrow(x, d, s, e - s), e - s, max(a, 0), max(b, 0)
    if mode == "reflect" and (a >= n or b >= n):
        raise RuntimeError(f"pad: padding size should be less than the corresponding input "
                           f"dimension, but got padding ({a}, {b}) at dim {d} of size {n} "
                           f"(input shape {shape})")
    if mode == "circular" and (a > n or b > n):
        raise RuntimeError(f"pad: padding ({a}, {b}) at dim {d} of size {n} would wrap around "
                           f"more than once (input shape {shape})")
    if mode == "replicate" and n == 0 and (a or b):
        raise RuntimeError(f"pad: cannot replicate-pad an empty dim {d} (input shape {shape})")

    def edge(m, before):
        if mode == "reflect":
            return flip(narrow(x, d, 1 if before else n - 1 - m, m), d)
        if mode == "replicate":
            sizes = list(x.shape)
            sizes[d] = m
            return expand(narrow(x, d, 0 if before else n - 1, 1), sizes)
        return narrow(x, d, n - m if before else 0, m)  # circular

    parts = ([edge(a, True)] if a else []) + [x] + ([edge(b, False)] if b else [])
    return cat(parts, d) if len(parts) > 1 else x


# ---------------------------------------------------------------- diagonals
def _diag_view(x, offset, d1, d2):
    """A writeable strided view of a diagonal, laid out like torch's (as the last dim)."""
    xp = B.xp_of(x)
    n1, n2 = x.shape[d1], x.shape[d2]
    size = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    rest = [i for i in range(x.ndim) if i not in (d1, d2)]
    shape = tuple(x.shape[i] for i in rest) + (size,)
    if math.prod(shape) == 0:
        return xp.empty(shape, x.dtype)  # nothing to alias
    idx = [slice(None)] * x.ndim
    idx[d2 if offset >= 0 else d1] = slice(abs(offset), None)
    base = x[tuple(idx)]
    strides = tuple(x.strides[i] for i in rest) + (x.strides[d1] + x.strides[d2],)
    return xp.lib.stride_tricks.as_strided(base, shape, strides)


class Diagonal(Function):
    save_inputs = False
    is_view = True

    def __init__(self, offset, d1, d2):
        self.offset, self.d1, self.d2 = offset, d1, d2

    def forward(self, x):
        return _diag_view(x, self.offset, self.d1, self.d2)

    def backward(self, gy):  # place gy on the diagonal of zeros
        return DiagEmbed(self._in_meta[0][0], self.offset, self.d1, self.d2)(gy)


class DiagEmbed(Function):
    """Zeros of ``shape`` with the input written on a diagonal (adjoint of Diagonal)."""
    save_inputs = False

    def __init__(self, shape, offset, d1, d2):
        self.shape, self.offset, self.d1, self.d2 = shape, offset, d1, d2

    def forward(self, x):
        out = B.xp_of(x).zeros(self.shape, x.dtype)
        _diag_view(out, self.offset, self.d1, self.d2)[...] = x
        return out

    def backward(self, gy):  # read the diagonal back
        return Diagonal(self.offset, self.d1, self.d2)(gy)


def _two_dims(dim1, dim2, nd, op):
    d1, d2 = norm_dim(dim1, nd, op), norm_dim(dim2, nd, op)
    if d1 == d2:
        raise RuntimeError(f"{op}: dim1 and dim2 cannot be identical, but got {dim1} and {dim2}")
    return d1, d2


def diagonal(input, offset=0, dim1=0, dim2=1):
    """View of the ``offset``-th diagonal of dims ``dim1``/``dim2`` (appended as the last dim)."""
    if input.ndim < 2:
        raise RuntimeError(f"diagonal: expected a tensor with at least 2 dims, got shape "
                           f"{_shape_of(input)}")
    d1, d2 = _two_dims(dim1, dim2, input.ndim, "diagonal")
    return Diagonal(operator.index(offset), d1, d2)(input)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Put the last dim of ``input`` on a diagonal of dims ``dim1``/``dim2`` of zeros."""
    if input.ndim < 1:
        raise RuntimeError("diag_embed: expected a tensor with at least 1 dim, got a 0-d tensor")
    nd = input.ndim + 1
    d1, d2 = _two_dims(dim1, dim2, nd, "diag_embed")
    offset = operator.index(offset)
    n = input.shape[-1] + abs(offset)
    rest = iter(input.shape[:-1])
    shape = tuple(n if i in (d1, d2) else next(rest) for i in range(nd))
    return DiagEmbed(shape, offset, d1, d2)(input)


def diag(input, diagonal=0):
    """1-D -> a square matrix with ``input`` on a diagonal; 2-D -> that diagonal (a copy)."""
    k = operator.index(diagonal)
    if input.ndim == 1:
        n = input.shape[0] + abs(k)
        return DiagEmbed((n, n), k, 0, 1)(input)
    if input.ndim == 2:
        return clone(Diagonal(k, 0, 1)(input))
    raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {_shape_of(input)}")
