"""Linear-algebra ops: matmul and friends, einsum, tensordot and the fused
``linear`` (the hot path of MLP training).

Backward passes are written with differentiable Tensor ops (mostly these same
ops), so higher-order gradients work.  The engine sums gradients over
broadcast batch dimensions.
"""
import contextlib
import numbers
import string

from chainrule import backend as B
from chainrule.core import dtype as D
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor
from chainrule.functional.autocast import autocast_op
from chainrule.functional._util import as_tensor_arg
from chainrule.functional.elementwise import mul, add
from chainrule.functional.shape import reshape, broadcast_to

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "einsum",
           "addmm", "addmv", "baddbmm", "tensordot", "linear", "bilinear"]


# ---------------------------------------------------------------- helpers
def _args2(a, b, op):
    a = as_tensor_arg(a, None, op)
    b = as_tensor_arg(b, a, op)
    da, db = a._data.dtype, b._data.dtype
    if da != db:
        raise RuntimeError(
            f"{op}: expected both operands to have the same dtype, got "
            f"{D.from_np_dtype(da)} and {D.from_np_dtype(db)}; cast one of them "
            f"first, e.g. b.to(a.dtype)")
    return a, b


def _shape(t):
    return tuple(t._data.shape)


_NO_CONTEXT = contextlib.nullcontext()


class SwapLast(Function):
    """Transpose of the last two axes (private; its own adjoint)."""
    save_inputs = False

    def forward(self, x):
        return B.xp_of(x).swapaxes(x, -1, -2)

    def backward(self, gy):  # d(x^T) = gy^T
        return _swap_last(gy)


def _swap_last(x):
    return SwapLast()(x)


class Matmul(Function):
    """Batched matmul of two operands with ndim >= 2 (batch dims broadcast)."""

    def forward(self, a, b):
        plain = a.ndim == 2 and b.ndim == 2   # (batched GEMMs keep BLAS's threads)
        with B.kernels_of(a).gemm_threads(a.shape[0], b.shape[1], a.shape[1]) if plain \
                else _NO_CONTEXT:
            return B.matmul(a, b)

    def backward(self, gy):  # d(A@B) = (gy @ B^T, A^T @ gy)
        a, b = self.inputs
        ga = Matmul()(gy, _swap_last(b)) if self._edges[0] is not None else None
        gb = Matmul()(_swap_last(a), gy) if self._edges[1] is not None else None
        return ga, gb


class Dot(Function):
    def forward(self, a, b):
        return B.xp_of(a).asarray(B.xp_of(a).dot(a, b))

    def backward(self, gy):  # d(a.b) = (gy b, gy a)
        a, b = self.inputs
        ga = gy * b if self._edges[0] is not None else None
        gb = gy * a if self._edges[1] is not None else None
        return ga, gb


def _broadcast_batch(sa, sb, a_shape, b_shape):
    out = []
    for x, y in zip(((1,) * (len(sb) - len(sa))) + sa, ((1,) * (len(sa) - len(sb))) + sb):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"matmul: {a_shape} @ {b_shape}: batch dimensions {sa} and "
                               f"{sb} are not broadcastable")
        out.append(max(x, y) if x != 1 else y)
    return tuple(out)


@autocast_op("matmul")
def matmul(input, other):
    """Matrix product with torch's rules for 1-D and batched operands."""
    a, b = _args2(input, other, "matmul")
    sa, sb = _shape(a), _shape(b)
    na, nb = len(sa), len(sb)
    if na == 0 or nb == 0:
        raise RuntimeError(f"matmul: both arguments need to be at least 1D, but they are "
                           f"{na}D and {nb}D")
    ka = sa[-1]
    kb = sb[0] if nb == 1 else sb[-2]
    if ka != kb:
        raise RuntimeError(f"matmul: {sa} @ {sb}: inner dimensions {ka} and {kb} differ")
    if na == 1 and nb == 1:
        return Dot()(a, b)
    _broadcast_batch(sa[:-2], sb[:-2], sa, sb)
    if na >= 2 and nb >= 2:
        return Matmul()(a, b)
    if na == 1:  # (k,) @ (..., k, m) -> (..., m)
        r = Matmul()(reshape(a, (1, ka)), b)
        return reshape(r, r.shape[:-2] + (r.shape[-1],))
    r = Matmul()(a, reshape(b, (kb, 1)))  # (..., n, k) @ (k,) -> (..., n)
    return reshape(r, r.shape[:-1])


@autocast_op("mm")
def mm(input, mat2):
    a, b = _args2(input, mat2, "mm")
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {_shape(a)} and {_shape(b)}")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mm: {_shape(a)} @ {_shape(b)}: inner dimensions "
                           f"{a.shape[1]} and {b.shape[0]} differ")
    return Matmul()(a, b)


@autocast_op("bmm")
def bmm(input, mat2):
    a, b = _args2(input, mat2, "bmm")
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got {_shape(a)} and {_shape(b)}")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"bmm: {_shape(a)} @ {_shape(b)}: batch sizes "
                           f"{a.shape[0]} and {b.shape[0]} differ")
    if a.shape[2] != b.shape[1]:
        raise RuntimeError(f"bmm: {_shape(a)} @ {_shape(b)}: inner dimensions "
                           f"{a.shape[2]} and {b.shape[1]} differ")
    return Matmul()(a, b)


@autocast_op("mv")
def mv(input, vec):
    a, b = _args2(input, vec, "mv")
    if a.ndim != 2 or b.ndim != 1:
        raise RuntimeError(f"mv: expected a 2-D matrix and a 1-D vector, got {_shape(a)} "
                           f"and {_shape(b)}")
    return matmul(a, b)


@autocast_op("dot")
def dot(input, other):
    a, b = _args2(input, other, "dot")
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"dot: inconsistent tensor size, expected tensor [{a.shape[0]}] "
                           f"and src [{b.shape[0]}] to have the same number of elements")
    return Dot()(a, b)


vdot = dot  # real tensors only


def inner(input, other):
    a, b = _args2(input, other, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    return tensordot(a, b, dims=([a.ndim - 1], [b.ndim - 1]))


def outer(input, vec2):
    a, b = _args2(input, vec2, "outer")
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"outer: expected 1-D tensors, got {_shape(a)} and {_shape(b)}")
    return mul(reshape(a, (a.shape[0], 1)), b)


ger = outer


@autocast_op("addmm")
def addmm(input, mat1, mat2, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)``; with beta=0 ``input`` is ignored."""
    p = mm(mat1, mat2)
    if alpha != 1:
        p = mul(p, alpha)
    if beta == 0:
        return p
    return add(p, input if beta == 1 else mul(input, beta))


@autocast_op("addmv")
def addmv(input, mat, vec, beta=1, alpha=1):
    p = mv(mat, vec)
    if alpha != 1:
        p = mul(p, alpha)
    if beta == 0:
        return p
    return add(p, input if beta == 1 else mul(input, beta))


@autocast_op("baddbmm")
def baddbmm(input, batch1, batch2, beta=1, alpha=1):
    p = bmm(batch1, batch2)
    if alpha != 1:
        p = mul(p, alpha)
    if beta == 0:
        return p
    return add(p, input if beta == 1 else mul(input, beta))


# ---------------------------------------------------------------- einsum
def _parse_einsum(equation, shapes):
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->", 1)
    else:
        lhs, out = eq, None
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError(f"einsum(): {equation!r} has {len(terms)} operand(s) but "
                           f"{len(shapes)} were given")
    used = {c for c in eq if c.isalpha()}
    bad = {c for c in eq if not (c.isalpha() or c in ",.->")}
    if bad:
        raise RuntimeError(f"einsum(): invalid subscript(s) {sorted(bad)} in {equation!r}")
    free = [c for c in string.ascii_letters if c not in used]
    ell_nd = 0
    for t, s in zip(terms, shapes):
        if "..." in t:
            ell_nd = max(ell_nd, len(s) - (len(t) - 3))
    ell = "".join(free[:ell_nd])
    canon = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            n = len(s) - (len(t) - 3)
            if n < 0:
                raise RuntimeError(f"einsum(): the number of subscripts in {t!r} exceeds the "
                                   f"number of dimensions ({len(s)}) of its operand")
            t = t.replace("...", ell[ell_nd - n:] if n else "")
        if len(t) != len(s):
            raise RuntimeError(f"einsum(): the number of subscripts in {t!r} does not match "
                               f"the number of dimensions ({len(s)}) of its operand {s}")
        canon.append(t)
    if out is None:
        letters = "".join(canon)
        out = ell + "".join(sorted(c for c in set(letters) if c not in ell
                                   and letters.count(c) == 1))
    else:
        out = out.replace("...", ell)
    sizes = {}
    for t, s in zip(canon, shapes):
        for c, n in zip(t, s):
            if sizes.setdefault(c, n) != n:
                if sizes[c] == 1:
                    sizes[c] = n
                elif n != 1:
                    raise RuntimeError(f"einsum(): subscript {c!r} has size {n} for operand "
                                       f"{t!r} which does not match the previous size "
                                       f"{sizes[c]}")
    return canon, out


class Einsum(Function):
    def __init__(self, terms, out):
        self.terms, self.out = terms, out

    def forward(self, *xs):
        xp = B.xp_of(xs[0])
        eq = ",".join(self.terms) + "->" + self.out
        return xp.asarray(xp.einsum(eq, *xs, optimize=len(xs) > 1))

    def backward(self, gy):  # d/dX_i = einsum(gy, other operands) onto X_i's subscripts
        grads = []
        for i, t in enumerate(self.terms):
            if self._edges[i] is None:
                grads.append(None)
                continue
            if len(set(t)) != len(t):
                raise NotImplementedError(
                    f"einsum: the gradient through repeated subscripts in {t!r} "
                    f"(a diagonal or trace) is not supported")
            others = [(u, x) for j, (u, x) in enumerate(zip(self.terms, self.inputs)) if j != i]
            seen = set(self.out).union(*[set(u) for u, _ in others])
            keep = "".join(c for c in t if c in seen)
            g = Einsum([self.out] + [u for u, _ in others], keep)(gy, *[x for _, x in others])
            if keep != t:  # letters summed only in X_i: broadcast the gradient over them
                shape = self._in_meta[i][0]
                g = reshape(g, tuple(n if c in seen else 1 for c, n in zip(t, shape)))
                g = broadcast_to(g, shape)
            grads.append(g)
        return tuple(grads)


@autocast_op("einsum")
def einsum(equation, *operands):
    """Einstein summation; operands may also be passed as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    ops = [as_tensor_arg(x, None, "einsum") for x in operands]
    dts = {x._data.dtype for x in ops}
    if len(dts) > 1:
        raise RuntimeError(f"einsum(): expected all operands to have the same dtype, got "
                           f"{[str(D.from_np_dtype(d)) for d in (x._data.dtype for x in ops)]}"
                           f"; cast them first")
    terms, out = _parse_einsum(equation, [_shape(x) for x in ops])
    return Einsum(terms, out)(*ops)


@autocast_op("tensordot")
def tensordot(a, b, dims=2):
    """Contract ``dims`` (an int, or two lists of axes) of ``a`` and ``b``."""
    a, b = _args2(a, b, "tensordot")
    if isinstance(dims, numbers.Integral):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot: dims {dims} out of range for {_shape(a)} and "
                               f"{_shape(b)}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, numbers.Integral) else list(da)
        db = [db] if isinstance(db, numbers.Integral) else list(db)
        if len(da) != len(db):
            raise RuntimeError("tensordot: both dimension lists should have the same length")
        da = [d % max(a.ndim, 1) for d in da]
        db = [d % max(b.ndim, 1) for d in db]
    letters = iter(string.ascii_letters)
    ta = [next(letters) for _ in range(a.ndim)]
    tb = [next(letters) for _ in range(b.ndim)]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but first "
                               f"has size {a.shape[x]} in dim {x} and second has size "
                               f"{b.shape[y]} in dim {y}")
        tb[y] = ta[x]
    out = [c for k, c in enumerate(ta) if k not in da] + \
          [c for k, c in enumerate(tb) if k not in db]
    return Einsum(["".join(ta), "".join(tb)], "".join(out))(a, b)


# ---------------------------------------------------------------- linear
def _lead(shape):
    """The number of rows of a (rows, last dim) view of ``shape``."""
    n = 1
    for d in shape[:-1]:
        n *= d
    return n


class Linear(Function):
    """``y = x W^T + b`` as one GEMM on a 2-D view of ``x``."""

    def forward(self, x, w, b=None):
        out_f, in_f = w.shape
        x2 = x.reshape(_lead(x.shape), in_f)   # explicit: -1 is ambiguous when in_f is 0
        with B.kernels_of(x2).gemm_threads(x2.shape[0], out_f, in_f):
            y = B.matmul(x2, w.T)
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (out_f,))

    def backward(self, gy):  # gx = gy W, gW = gy^T x, gb = sum gy (over leading dims)
        x, w = self.inputs[0], self.inputs[1]
        out_f, in_f = self._in_meta[1][0]
        x_shape = self._in_meta[0][0]
        g2 = reshape(gy, (_lead(x_shape), out_f))
        gx = gw = gb = None
        if self._edges[0] is not None:
            gx = reshape(Matmul()(g2, w), x_shape)
        if self._edges[1] is not None:
            gw = Matmul()(_swap_last(g2), reshape(x, (_lead(x_shape), in_f)))
        if len(self._edges) > 2 and self._edges[2] is not None:
            gb = g2.sum(0)
        return (gx, gw, gb) if len(self._edges) > 2 else (gx, gw)


@autocast_op("linear")
def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` with ``weight`` of shape (out_features, in_features)."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("linear: input and weight must be Tensors")
    si, sw = _shape(input), _shape(weight)
    if len(sw) != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out_features, in_features), got {sw}")
    if len(si) == 0 or si[-1] != sw[1]:
        raise RuntimeError(f"linear: input (..., {sw[1]}) expected, got {si}")
    dt = {input._data.dtype, weight._data.dtype}
    if bias is not None:
        if not isinstance(bias, Tensor):
            bias = as_tensor_arg(bias, weight, "linear")
        if _shape(bias) not in ((sw[0],), (), (1,)):
            raise RuntimeError(f"linear: bias of shape ({sw[0]},) expected, got {_shape(bias)}")
        dt.add(bias._data.dtype)
    if len(dt) > 1:
        raise RuntimeError(f"linear: expected input, weight and bias to have the same dtype, "
                           f"got {[str(D.from_np_dtype(d)) for d in dt]}; cast them first")
    if bias is None:
        return Linear()(input, weight)
    return Linear()(input, weight, bias)


# ---------------------------------------------------------------- bilinear
@autocast_op("bilinear")
def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]``."""
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out, in1, in2), got "
                           f"{tuple(weight.shape)}")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got "
                           f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): inputs {tuple(input1.shape)} and "
                           f"{tuple(input2.shape)} don't match weight {tuple(weight.shape)}")
    y = einsum("...i,oij,...j->...o", input1, weight, input2)
    return y if bias is None else y + bias
