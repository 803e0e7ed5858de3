"""Binary elementwise ops with broadcasting and torch's type promotion:
arithmetic, comparisons, logical and bitwise ops, the ternary ``pick``
(torch.where's three-argument form), and casts and copies.

Every backward is written with differentiable Tensor ops, so second and higher
derivatives work.  A comment on each backward gives the derivative.
"""
import warnings

import numpy as np

from chainrule import backend as B
from chainrule.core import dtype as D
from chainrule.core import grad_mode as _gm
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.autocast import autocast_op
from chainrule.functional._util import as_tensor_arg, float_np

__all__ = [
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "fmod", "remainder",
    "floor_divide", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
    "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "cast", "clone", "to_device",
    "full_like_of", "copy_from",
]


# ---------------------------------------------------------------- binary core
def promote_operands(a, b, op):
    """Coerce ``a``/``b`` to Tensors and compute torch's result dtype."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        da, db = a._data.dtype, b._data.dtype
        npd = da if da == db else D.result_type(a._data, b._data)
        return a, b, npd
    if ta:
        other = b.item() if isinstance(b, np.generic) else b
        if isinstance(other, (bool, int, float)):
            k = a._data.dtype.kind
            if k == "f" or (k in "iu" and type(other) is int):  # common case: no promotion
                npd = a._data.dtype
            else:
                npd = D.result_type(a._data, other)
            return a, _make(B.xp_of(a._data).asarray(other, dtype=npd)), npd
        b = as_tensor_arg(b, a, op)
    elif tb:
        other = a.item() if isinstance(a, np.generic) else a
        if isinstance(other, (bool, int, float)):
            npd = D.result_type(other, b._data)
            return _make(B.xp_of(b._data).asarray(other, dtype=npd)), b, npd
        a = as_tensor_arg(a, b, op)
    else:
        a, b = as_tensor_arg(a, None, op), as_tensor_arg(b, None, op)
    return a, b, D.result_type(a._data, b._data)


def _apply2(cls, a, b, op, floating=False, **kw):
    a, b, npd = promote_operands(a, b, op)
    if floating:
        npd = float_np(npd)
    try:
        return cls(npd, **kw)(a, b)
    except ValueError as e:
        if a._data.shape != b._data.shape and "broadcast" in str(e):
            raise RuntimeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} are not "
                               f"broadcastable") from None
        raise


class _Binary(Function):
    save_inputs = False

    def __init__(self, npd):
        self.npd = npd

    def cast(self, x):
        return x if x.dtype == self.npd else x.astype(self.npd)

    def pair(self, a, b):
        """Both operands cast to the result dtype, in one memory layout."""
        return B.kernels_of(a).align_layouts(self.cast(a), self.cast(b))


class Add(_Binary):
    def forward(self, a, b):
        a, b = self.pair(a, b)
        return a + b

    def backward(self, gy):  # d(a+b) = (1, 1)
        return gy, gy


class Sub(_Binary):
    def forward(self, a, b):
        a, b = self.pair(a, b)
        return a - b

    def backward(self, gy):  # d(a-b) = (1, -1)
        return gy, (-gy if self._edges[1] is not None else None)


class Mul(_Binary):
    save_inputs = True

    def forward(self, a, b):
        a, b = self.pair(a, b)
        return a * b

    def backward(self, gy):  # d(ab) = (b, a)
        a, b = self.inputs
        ga = gy * b if self._edges[0] is not None else None
        gb = gy * a if self._edges[1] is not None else None
        return ga, gb


class Div(_Binary):
    save_inputs = True

    def forward(self, a, b):
        a, b = self.pair(a, b)
        return a / b

    def backward(self, gy):  # d(a/b) = (1/b, -a/b^2), as torch computes it: -gy * ((a/b) / b)
        a, b = self.inputs
        ga = gy / b if self._edges[0] is not None else None
        gb = -gy * ((a / b) / b) if self._edges[1] is not None else None
        return ga, gb


class Pow(_Binary):
    save_inputs = True

    def forward(self, a, b):
        a, b = self.cast(a), self.cast(b)
        if self.npd.kind in "iu" and (b < 0).any():
            return _int_pow(a, b)
        if self.npd.kind == "f" and b.ndim == 0:
            y = _scalar_pow(a, b)
            if y is not None:
                return y
        return a ** b

    def backward(self, gy):  # d(a^b) = (b a^(b-1), a^b log a)
        a, b = self.inputs
        ga = gb = None
        if self._edges[0] is not None and self._edges[1] is None and not b._data.any():
            # torch: x ** 0 with a constant exponent has a constant zero gradient
            ga = _make(B.xp_of(gy._data).zeros(gy.shape, gy._data.dtype))
        elif self._edges[0] is not None:
            # torch: 0 where b == 0 (x^0 is constant, even at x = 0)
            ga = gy * pick(b == 0, 0.0, b * pow(a, b - 1))
        if self._edges[1] is not None:
            # torch: the exponent's gradient is 0 where a == 0 and b >= 0 (-inf * inf
            # = -inf where b < 0); torch's formula, so also its second derivative
            # (NaN at a == 0 through log(0))
            gb = gy * pick((a == 0) & (b >= 0), 0.0, pow(a, b) * a.log())
        return ga, gb


def _scalar_pow(a, b):
    """``a ** b`` for a floating ``a`` and a 0-d exponent, where a faster form exists
    (else None).  3 and -2 are ``a * a * a`` and ``1 / (a * a)``: torch's kernel for
    them, bit for bit.  Other integral exponents up to 64 of float16/float32 values are
    computed in float64 by repeated squaring and rounded once (within an ulp of torch's
    SLEEF ``pow``, and as accurate as float64 ``pow``): NumPy's float32 ``pow`` takes
    libm's scalar path for negative bases, about 90 ns an element (a 1M-element
    ``x ** 3`` took 91 ms, 2.7 ms in torch).  NumPy's own fast paths (2, 0.5, -1, ...)
    and everything else are left to ``a ** b``."""
    e = float(b)
    if e == 3.0:
        return a * a * a
    if e == -2.0:
        return 1 / (a * a)
    if (e.is_integer() and 2.0 < abs(e) <= 64.0 and a.dtype.itemsize < 8
            and a.dtype.kind == "f"):
        n = int(abs(e))
        xp = B.xp_of(a)
        base = a.astype(xp.float64)
        acc = None
        while n:                        # square-and-multiply on the bits of |e|
            if n & 1:
                acc = base.copy() if acc is None else xp.multiply(acc, base, out=acc)
            n >>= 1
            if n:
                xp.multiply(base, base, out=base)   # base is astype's fresh copy
        if e < 0:
            xp.divide(1.0, acc, out=acc)
        return acc.astype(a.dtype)
    return None


def _int_pow(a, b):
    """Integer power with negative exponents like torch: 1 and -1 keep their
    magnitude, everything else truncates to 0."""
    xp = B.xp_of(a)
    a, b = xp.broadcast_arrays(a, b)
    pos = a ** xp.maximum(b, 0)
    neg = xp.where(a == 1, 1, xp.where(a == -1, xp.where(b % 2 == 0, 1, -1), 0))
    return xp.where(b < 0, neg, pos).astype(a.dtype)


class Maximum(_Binary):
    save_inputs = True

    def forward(self, a, b):
        return B.xp_of(a).maximum(self.cast(a), self.cast(b))

    def backward(self, gy):  # gradient goes to the larger; ties split evenly
        a, b = self.inputs
        return _minmax_grad(gy, a._data, b._data, a._data < b._data, a._data > b._data)


class Minimum(_Binary):
    save_inputs = True

    def forward(self, a, b):
        return B.xp_of(a).minimum(self.cast(a), self.cast(b))

    def backward(self, gy):
        a, b = self.inputs
        return _minmax_grad(gy, a._data, b._data, a._data > b._data, a._data < b._data)


def _minmax_grad(gy, a, b, a_loses, b_loses):
    """torch's maximum/minimum backward: the winner gets ``gy``, a tie ``gy / 2`` each,
    and where either side is NaN (neither wins) both get ``gy``."""
    half = pick(_make(a == b), gy * 0.5, gy)
    return grad_where(~a_loses, half), grad_where(~b_loses, half)


class Atan2(_Binary):
    save_inputs = True

    def forward(self, a, b):
        return B.xp_of(a).arctan2(self.cast(a), self.cast(b))

    def backward(self, gy):  # d atan2(a, b) = (b, -a) / (a^2 + b^2), 0 at (0, 0) like torch
        a, b = self.inputs
        recip = 1 / (a * a + b * b)
        recip = grad_where(~B.xp_of(recip._data).isinf(recip._data), recip)
        r = gy * recip
        return r * b, -r * a


class Fmod(_Binary):
    save_inputs = True

    def forward(self, a, b):
        return B.xp_of(a).fmod(self.cast(a), self.cast(b))

    def backward(self, gy):  # fmod(a, b) = a - trunc(a/b) b
        a, b = self.inputs
        q = _make(B.xp_of(a._data).trunc(a._data / b._data))
        return gy, -gy * q


class Remainder(_Binary):
    save_inputs = True

    def forward(self, a, b):
        return B.xp_of(a).remainder(self.cast(a), self.cast(b))

    def backward(self, gy):  # remainder(a, b) = a - floor(a/b) b
        a, b = self.inputs
        q = _make(B.xp_of(a._data).floor(a._data / b._data))
        return gy, -gy * q


class _NoGrad2(_Binary):
    differentiable = False
    ufunc = None

    def forward(self, a, b):
        return getattr(B.xp_of(a), self.ufunc)(self.cast(a), self.cast(b))


class FloorDivide(_NoGrad2):
    ufunc = "floor_divide"
    differentiable = True   # like torch: the result requires grad, with gradient 0

    def backward(self, gy):  # piecewise constant: zero almost everywhere
        return grad_zeros(gy), grad_zeros(gy)


class _Compare(Function):
    differentiable = False
    save_inputs = False

    def __init__(self, npd, ufunc):
        self.npd, self.ufunc = npd, ufunc

    def forward(self, a, b):
        if a.dtype != self.npd:
            a = a.astype(self.npd)
        if b.dtype != self.npd:
            b = b.astype(self.npd)
        return getattr(B.xp_of(a), self.ufunc)(a, b)


def _scaled(input, other, alpha, op):
    """``alpha * other`` in the dtype of ``input op other`` (alpha takes no part
    in type promotion, like torch)."""
    if alpha == 1:
        return input, other
    a, b, npd = promote_operands(input, other, op)
    if npd.kind != "f" and isinstance(alpha, float):
        raise RuntimeError(f"{op}: for integral input tensors, argument alpha must not be a "
                           f"floating point number")
    if b._data.dtype != npd:
        b = cast(b, npd)
    return a, mul(b, alpha)


def _deprecated_overload(other, alpha, name):
    """torch's deprecated ``x.add_(number, tensor)``: the number is alpha (with torch's
    warning)."""
    if isinstance(alpha, Tensor) and not isinstance(other, Tensor):
        warnings.warn(f"This overload of {name} is deprecated: {name}(Number alpha, Tensor "
                      f"other). Consider using {name}(Tensor other, *, Number alpha = 1)",
                      UserWarning, stacklevel=3)
        return alpha, other
    return other, alpha


def add(input, other, alpha=1):
    """``input + alpha * other`` with broadcasting."""
    if type(alpha) is not int or alpha != 1:  # not the default (the hot path of x + y)
        other, alpha = _deprecated_overload(other, alpha, "add")
        input, other = _scaled(input, other, alpha, "add")
    return _apply2(Add, input, other, "add")


def sub(input, other, alpha=1):
    if type(alpha) is not int or alpha != 1:  # not the default (the hot path of x - y)
        other, alpha = _deprecated_overload(other, alpha, "sub")
        input, other = _scaled(input, other, alpha, "sub")
    if isinstance(input, Tensor) and input._data.dtype == np.bool_ and \
            isinstance(other, Tensor) and other._data.dtype == np.bool_:
        raise RuntimeError("sub: subtraction of two bool tensors is not supported; "
                           "use logical_xor() or the ^ operator")
    return _apply2(Sub, input, other, "sub")


def mul(input, other):
    return _apply2(Mul, input, other, "mul")


def div(input, other, rounding_mode=None):
    """True division (integers give floats); ``rounding_mode='trunc'|'floor'``."""
    if rounding_mode is None:
        return _apply2(Div, input, other, "div", floating=True)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        q = _apply2(Div, input, other, "div", floating=True)
        res = q.trunc()
        a, b, npd = promote_operands(input, other, "div")
        return res if npd.kind == "f" else cast(res, npd)
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")


@autocast_op("pow")
def pow(input, exponent):
    return _apply2(Pow, input, exponent, "pow")


def maximum(input, other):
    return _apply2(Maximum, input, other, "maximum")


def minimum(input, other):
    return _apply2(Minimum, input, other, "minimum")


@autocast_op("atan2")
def atan2(input, other):
    return _apply2(Atan2, input, other, "atan2", floating=True)


def fmod(input, other):
    return _apply2(Fmod, input, other, "fmod")


def remainder(input, other):
    return _apply2(Remainder, input, other, "remainder")


def floor_divide(input, other):
    return _apply2(FloorDivide, input, other, "floor_divide")


def _cmp(ufunc, a, b, op):
    a, b, npd = promote_operands(a, b, op)
    try:
        return _Compare(npd, ufunc)(a, b)
    except ValueError:
        raise RuntimeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} are not "
                           f"broadcastable") from None


def eq(input, other):
    return _cmp("equal", input, other, "eq")


def ne(input, other):
    return _cmp("not_equal", input, other, "ne")


def lt(input, other):
    return _cmp("less", input, other, "lt")


def le(input, other):
    return _cmp("less_equal", input, other, "le")


def gt(input, other):
    return _cmp("greater", input, other, "gt")


def ge(input, other):
    return _cmp("greater_equal", input, other, "ge")


def logical_and(input, other):
    return _cmp("logical_and", input, other, "logical_and")


def logical_or(input, other):
    return _cmp("logical_or", input, other, "logical_or")


def logical_xor(input, other):
    return _cmp("logical_xor", input, other, "logical_xor")


def _bitwise(ufunc, a, b, op):
    a, b, npd = promote_operands(a, b, op)
    if npd.kind not in "iub":
        raise RuntimeError(f"{op}: only integer and bool tensors are supported, got "
                           f"{D.from_np_dtype(npd)}")
    return _Compare(npd, ufunc)(a, b)


def bitwise_and(input, other):
    return _bitwise("bitwise_and", input, other, "bitwise_and")


def bitwise_or(input, other):
    return _bitwise("bitwise_or", input, other, "bitwise_or")


def bitwise_xor(input, other):
    return _bitwise("bitwise_xor", input, other, "bitwise_xor")


# ---------------------------------------------------------------- where (three-argument form)
class Where(Function):
    save_inputs = False

    def __init__(self, npd):
        self.npd = npd

    def forward(self, cond, a, b):
        self.cond = cond
        return B.kernels_of(a).select(cond, a.astype(self.npd, copy=False),
                                      b.astype(self.npd, copy=False))

    def backward(self, gy):  # gy routed by the condition; exactly 0 elsewhere
        c = self.cond
        ga = grad_where(c, gy) if self._edges[1] is not None else None
        gb = grad_where(~c, gy) if self._edges[2] is not None else None
        return None, ga, gb

    def _release_extra(self):
        self.cond = None


def pick(condition, input, other):
    """The elementwise ternary op: ``input`` where ``condition`` else ``other``
    (torch.where's three-argument form; ``masking.where`` is the public op)."""
    condition = as_tensor_arg(condition, None, "where")
    if condition._data.dtype != np.bool_:
        condition = _make(condition._data.astype(bool))
    a, b, npd = promote_operands(input, other, "where")
    try:
        return Where(npd)(condition, a, b)
    except ValueError:
        raise RuntimeError(f"where: condition {tuple(condition.shape)}, input "
                           f"{tuple(a.shape)} and other {tuple(b.shape)} are not "
                           f"broadcastable") from None


def grad_zeros(gy):
    """The gradient of a piecewise-constant op: exact zeros, a constant (torch's
    ``zeros_like(grad)``; ``gy * 0`` would be NaN where ``gy`` is inf or NaN)."""
    return _make(B.xp_of(gy._data).zeros_like(gy._data))


def grad_where(mask, gy):
    """``gy`` where the boolean array ``mask`` is True, exactly 0 elsewhere (differentiable
    in ``gy``): torch's where-based backward formulas, so an inf or NaN gradient outside
    the mask does not leak in as ``inf * 0 = nan``."""
    g = gy._data
    mask = B.xp_of(g).asarray(mask, dtype=bool)
    if not _gm._State.enabled and mask.shape == g.shape:  # no graph to record: a kernel
        return _make(B.kernels_of(g).zero_where(~mask, g))
    return Where(g.dtype)(_make(mask), gy, _make(B.xp_of(g).zeros((), g.dtype)))


# ---------------------------------------------------------------- casts and copies
class Cast(Function):
    save_inputs = False

    def __init__(self, npd):
        self.npd = npd

    def forward(self, x):
        return x.astype(self.npd)

    def backward(self, gy):  # identity; the engine casts back to the input dtype
        return gy


def cast(input, dtype):
    npd = D.to_np_dtype(dtype)
    if input._data.dtype == npd:
        return input
    return Cast(npd)(input)


class ToDevice(Function):
    save_inputs = False

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.src = B.device_of(x)
        return B.to_device(x, self.device)

    def backward(self, gy):  # identity, moved back
        return to_device(gy, self.src)


def to_device(input, device):
    return ToDevice(device)(input)


class Clone(Function):
    save_inputs = False

    def forward(self, x):
        return x.copy()

    def backward(self, gy):  # identity
        return gy


def clone(input):
    return Clone()(input)


class _FillLike(Function):
    save_inputs = False

    def __init__(self, value):
        self.value = value

    def forward(self, x, *v):
        xp = B.xp_of(x)
        return xp.full(x.shape, v[0] if v else self.value, x.dtype)

    def backward(self, gy):  # the old value is overwritten: zeros (not gy * 0: inf, NaN)
        zero = _make(B.xp_of(gy._data).zeros_like(gy._data))
        if len(self._edges) == 2:
            return zero, gy.sum()
        return zero


def full_like_of(input, value):
    """``input`` filled with ``value`` (the out-of-place form of ``fill_``)."""
    if isinstance(value, Tensor):
        if value._data.size != 1:
            raise RuntimeError(f"fill_: only supports 0-dimension value tensor but got "
                               f"tensor with {value.ndim} dimensions")
        return _FillLike(None)(input, value.reshape(()))
    return _FillLike(value)(input)


class CopyFrom(Function):
    save_inputs = False

    def forward(self, x, src):
        xp = B.xp_of(x)
        out = xp.empty_like(x)
        out[...] = B.to_device(src, B.device_of(x)) if B.xp_of(src) is not xp else src
        return out

    def backward(self, gy):  # x is overwritten (zeros, like torch); src receives gy
        return _make(B.xp_of(gy._data).zeros_like(gy._data)), gy


def copy_from(input, src):
    """The out-of-place form of ``copy_``: ``src`` broadcast to ``input``'s shape."""
    src = as_tensor_arg(src, input, "copy_")
    try:
        return CopyFrom()(input, src)
    except ValueError:
        raise RuntimeError(f"copy_: source shape {tuple(src.shape)} can't be broadcast "
                           f"to {tuple(input.shape)}") from None
