"""Elementwise ops with broadcasting and torch's type promotion.

Every backward is written with differentiable Tensor ops, so second and higher
derivatives work.  A comment on each backward gives the derivative.
"""
import numpy as np

from chainrule import backend as B
from chainrule.core import grad_mode as _gm
from chainrule.core import dtype as D
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional._util import as_tensor_arg, float_np

__all__ = [
    "add", "sub", "mul", "div", "pow", "neg", "abs", "sign", "exp", "exp2", "log", "log2",
    "log10", "log1p", "expm1", "sqrt", "rsqrt", "square", "reciprocal", "sin", "cos", "tan",
    "tanh", "asin", "acos", "atan", "sinh", "cosh", "atan2", "erf", "sigmoid", "clamp",
    "clip", "maximum", "minimum", "floor", "ceil", "round",
    "trunc", "frac", "fmod", "remainder", "floor_divide", "lerp", "addcmul", "addcdiv",
    "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite", "logical_not",
    "logical_and", "logical_or", "logical_xor", "bitwise_not", "bitwise_and", "bitwise_or",
    "bitwise_xor", "allclose", "isclose", "equal", "cast", "clone", "to_device",
    "full_like_of", "copy_from", "relu",
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

    def backward(self, gy):  # d(a/b) = (1/b, -a/b^2)
        a, b = self.inputs
        ga = gy / b if self._edges[0] is not None else None
        gb = -gy * a / (b * b) if self._edges[1] is not None else None
        return ga, gb


class Pow(_Binary):
    save_inputs = True

    def forward(self, a, b):
        a, b = self.cast(a), self.cast(b)
        if self.npd.kind in "iu" and (b < 0).any():
            raise RuntimeError("pow: integers to negative integer powers are not allowed")
        return a ** b

    def backward(self, gy):  # d(a^b) = (b a^(b-1), a^b log a)
        a, b = self.inputs
        ga = gb = None
        if self._edges[0] is not None:
            ga = gy * b * pow(a, b - 1)
        if self._edges[1] is not None:
            # torch: the exponent's gradient is 0 where a == 0 (and b >= 0)
            safe = pick(a == 0, 1.0, a)
            gb = gy * pow(a, b) * log(safe)
        return ga, gb


class Maximum(_Binary):
    save_inputs = True

    def forward(self, a, b):
        return B.xp_of(a).maximum(self.cast(a), self.cast(b))

    def backward(self, gy):  # gradient goes to the larger; ties split evenly
        a, b = self.inputs
        m = (a._data > b._data).astype(gy._data.dtype) + \
            0.5 * (a._data == b._data).astype(gy._data.dtype)
        return gy * _make(m), gy * _make(1 - m)


class Minimum(_Binary):
    save_inputs = True

    def forward(self, a, b):
        return B.xp_of(a).minimum(self.cast(a), self.cast(b))

    def backward(self, gy):
        a, b = self.inputs
        m = (a._data < b._data).astype(gy._data.dtype) + \
            0.5 * (a._data == b._data).astype(gy._data.dtype)
        return gy * _make(m), gy * _make(1 - m)


class Atan2(_Binary):
    save_inputs = True

    def forward(self, a, b):
        return B.xp_of(a).arctan2(self.cast(a), self.cast(b))

    def backward(self, gy):  # d atan2(a, b) = (b, -a) / (a^2 + b^2)
        a, b = self.inputs
        r = gy / (a * a + b * b)
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


def add(input, other, alpha=1):
    """``input + alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _apply2(Add, input, other, "add")


def sub(input, other, alpha=1):
    if alpha != 1:
        other = mul(other, alpha)
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
        res = trunc(q)
        a, b, npd = promote_operands(input, other, "div")
        return res if npd.kind == "f" else cast(res, npd)
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")


def pow(input, exponent):
    return _apply2(Pow, input, exponent, "pow")


def maximum(input, other):
    return _apply2(Maximum, input, other, "maximum")


def minimum(input, other):
    return _apply2(Minimum, input, other, "minimum")


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


# ---------------------------------------------------------------- unary core
class _Unary(Function):
    """Base for one-input elementwise ops; integer inputs become floats when
    ``floating`` (exp, log, sin, ...)."""
    floating = True

    def prep(self, x):
        if self.floating and x.dtype.kind != "f":
            return x.astype(D._Default.np)
        return x


def _unary(cls):
    def fn(input):
        return cls()(input)
    fn.__name__ = cls.__name__.lower()
    return fn


class Neg(_Unary):
    save_inputs = False
    floating = False

    def forward(self, x):
        if x.dtype == np.bool_:
            raise RuntimeError("neg: negation of a bool tensor is not supported; "
                               "use logical_not() or the ~ operator")
        return -x

    def backward(self, gy):  # d(-x) = -1
        return -gy


class Abs(_Unary):
    floating = False

    def forward(self, x):
        return B.xp_of(x).abs(x)

    def backward(self, gy):  # d|x| = sign(x)
        return gy * sign(self.inputs[0])


class Sign(_Unary):
    floating = False

    def forward(self, x):
        return B.xp_of(x).sign(x)

    def backward(self, gy):  # piecewise constant
        return gy * 0


class Exp(_Unary):
    save_inputs = False
    save_output = True

    def forward(self, x):
        return B.xp_of(x).exp(self.prep(x))

    def backward(self, gy):  # d e^x = e^x
        return gy * self.output()


class Exp2(_Unary):
    save_inputs = False
    save_output = True

    def forward(self, x):
        return B.xp_of(x).exp2(self.prep(x))

    def backward(self, gy):  # d 2^x = 2^x ln 2
        return gy * self.output() * float(np.log(2.0))


class Log(_Unary):
    def forward(self, x):
        return B.xp_of(x).log(self.prep(x))

    def backward(self, gy):  # d ln x = 1/x
        return gy / self.inputs[0]


class Log2(_Unary):
    def forward(self, x):
        return B.xp_of(x).log2(self.prep(x))

    def backward(self, gy):  # 1/(x ln 2)
        return gy / (self.inputs[0] * float(np.log(2.0)))


class Log10(_Unary):
    def forward(self, x):
        return B.xp_of(x).log10(self.prep(x))

    def backward(self, gy):  # 1/(x ln 10)
        return gy / (self.inputs[0] * float(np.log(10.0)))


class Log1p(_Unary):
    def forward(self, x):
        return B.xp_of(x).log1p(self.prep(x))

    def backward(self, gy):  # 1/(1+x)
        return gy / (self.inputs[0] + 1)


class Expm1(_Unary):
    save_inputs = False
    save_output = True

    def forward(self, x):
        return B.xp_of(x).expm1(self.prep(x))

    def backward(self, gy):  # e^x = y + 1
        return gy * (self.output() + 1)


class Sqrt(_Unary):
    save_inputs = False
    save_output = True

    def forward(self, x):
        return B.xp_of(x).sqrt(self.prep(x))

    def backward(self, gy):  # 1/(2 sqrt x)
        return gy / (self.output() * 2)


class Rsqrt(_Unary):
    save_inputs = False
    save_output = True

    def forward(self, x):
        x = self.prep(x)
        return 1 / B.xp_of(x).sqrt(x)

    def backward(self, gy):  # -1/2 x^(-3/2) = -y^3/2
        y = self.output()
        return gy * y * y * y * -0.5


class Square(_Unary):
    floating = False

    def forward(self, x):
        return x * x

    def backward(self, gy):  # 2x
        return gy * self.inputs[0] * 2


class Reciprocal(_Unary):
    save_inputs = False
    save_output = True

    def forward(self, x):
        x = self.prep(x)
        return 1 / x

    def backward(self, gy):  # -1/x^2 = -y^2
        y = self.output()
        return -gy * y * y


class Sin(_Unary):
    def forward(self, x):
        return B.xp_of(x).sin(self.prep(x))

    def backward(self, gy):  # cos x
        return gy * cos(self.inputs[0])


class Cos(_Unary):
    def forward(self, x):
        return B.xp_of(x).cos(self.prep(x))

    def backward(self, gy):  # -sin x
        return -gy * sin(self.inputs[0])


class Tan(_Unary):
    save_inputs = False
    save_output = True

    def forward(self, x):
        return B.xp_of(x).tan(self.prep(x))

    def backward(self, gy):  # 1 + tan^2 x
        y = self.output()
        return gy * (y * y + 1)


class Tanh(_Unary):
    save_inputs = False
    save_output = True

    def forward(self, x):
        return B.xp_of(x).tanh(self.prep(x))

    def backward(self, gy):  # 1 - tanh^2 x
        y = self.output()
        return gy * (1 - y * y)


class Asin(_Unary):
    def forward(self, x):
        return B.xp_of(x).arcsin(self.prep(x))

    def backward(self, gy):  # 1/sqrt(1-x^2)
        x = self.inputs[0]
        return gy * rsqrt(1 - x * x)


class Acos(_Unary):
    def forward(self, x):
        return B.xp_of(x).arccos(self.prep(x))

    def backward(self, gy):  # -1/sqrt(1-x^2)
        x = self.inputs[0]
        return -gy * rsqrt(1 - x * x)


class Atan(_Unary):
    def forward(self, x):
        return B.xp_of(x).arctan(self.prep(x))

    def backward(self, gy):  # 1/(1+x^2)
        x = self.inputs[0]
        return gy / (x * x + 1)


class Sinh(_Unary):
    def forward(self, x):
        return B.xp_of(x).sinh(self.prep(x))

    def backward(self, gy):  # cosh x
        return gy * cosh(self.inputs[0])


class Cosh(_Unary):
    def forward(self, x):
        return B.xp_of(x).cosh(self.prep(x))

    def backward(self, gy):  # sinh x
        return gy * sinh(self.inputs[0])


class Erf(_Unary):
    def forward(self, x):
        return B.kernels_of(x).erf(self.prep(x))

    def backward(self, gy):  # 2/sqrt(pi) exp(-x^2)
        x = self.inputs[0]
        return gy * exp(-(x * x)) * float(2 / np.sqrt(np.pi))


class Sigmoid(_Unary):
    save_inputs = False
    save_output = True

    def forward(self, x):
        x = self.prep(x)
        xp = B.xp_of(x)
        # stable for large |x|: 1/(1+e^-x) = (1 + tanh(x/2))/2
        return xp.tanh(x * 0.5) * 0.5 + 0.5

    def backward(self, gy):  # s (1 - s)
        y = self.output()
        return gy * y * (1 - y)


class Relu(_Unary):
    floating = False
    save_inputs = False
    save_output = True

    def forward(self, x):
        return B.xp_of(x).maximum(x, 0).astype(x.dtype, copy=False)

    def backward(self, gy):  # 1 where x > 0
        y = self._ys[0]
        if _gm._State.enabled:  # create_graph: differentiable in gy
            return gy * _make((y > 0).astype(gy._data.dtype))
        g, y = B.kernels_of(y).align_layouts(gy._data, y)   # one pass, in one memory layout
        return _make(B.xp_of(g).multiply(g, y > 0, dtype=g.dtype))


class _ZeroGrad(_Unary):
    floating = False
    save_inputs = False
    ufunc = None

    def forward(self, x):
        if x.dtype.kind != "f":
            return x.copy()
        return getattr(B.xp_of(x), self.ufunc)(x)

    def backward(self, gy):  # piecewise constant: zero almost everywhere
        return gy * 0


class Floor(_ZeroGrad):
    ufunc = "floor"


class Ceil(_ZeroGrad):
    ufunc = "ceil"


class Trunc(_ZeroGrad):
    ufunc = "trunc"


class Round(_ZeroGrad):
    ufunc = "round"

    def __init__(self, decimals=0):
        self.decimals = decimals

    def forward(self, x):
        if x.dtype.kind != "f":
            return x.copy()
        return B.xp_of(x).round(x, self.decimals)


class Frac(_Unary):
    floating = False
    save_inputs = False

    def forward(self, x):
        return x - B.xp_of(x).trunc(x)

    def backward(self, gy):  # d(x - trunc x) = 1
        return gy


neg = _unary(Neg)
abs = _unary(Abs)
sign = _unary(Sign)
exp = _unary(Exp)
exp2 = _unary(Exp2)
log = _unary(Log)
log2 = _unary(Log2)
log10 = _unary(Log10)
log1p = _unary(Log1p)
expm1 = _unary(Expm1)
sqrt = _unary(Sqrt)
rsqrt = _unary(Rsqrt)
square = _unary(Square)
reciprocal = _unary(Reciprocal)
sin = _unary(Sin)
cos = _unary(Cos)
tan = _unary(Tan)
tanh = _unary(Tanh)
asin = _unary(Asin)
acos = _unary(Acos)
atan = _unary(Atan)
sinh = _unary(Sinh)
cosh = _unary(Cosh)
erf = _unary(Erf)
sigmoid = _unary(Sigmoid)
relu = _unary(Relu)
floor = _unary(Floor)
ceil = _unary(Ceil)
trunc = _unary(Trunc)
frac = _unary(Frac)


def round(input, decimals=0):
    return Round(decimals)(input)


class _Predicate(Function):
    differentiable = False
    save_inputs = False

    def __init__(self, ufunc):
        self.ufunc = ufunc

    def forward(self, x):
        return getattr(B.xp_of(x), self.ufunc)(x)


def isnan(input):
    return _Predicate("isnan")(input)


def isinf(input):
    return _Predicate("isinf")(input)


def isfinite(input):
    return _Predicate("isfinite")(input)


def logical_not(input):
    return _Predicate("logical_not")(input)


def bitwise_not(input):
    if input._data.dtype.kind not in "iub":
        raise RuntimeError(f"bitwise_not: only integer and bool tensors are supported, "
                           f"got {input.dtype}")
    return _Predicate("invert")(input)


# ---------------------------------------------------------------- clamp, where
class Clamp(_Unary):
    floating = False

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return B.xp_of(x).clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def backward(self, gy):  # 1 inside [min, max], 0 outside
        x = self.inputs[0]._data
        m = B.xp_of(x).ones(x.shape, bool)
        if self.lo is not None:
            m &= x >= self.lo
        if self.hi is not None:
            m &= x <= self.hi
        return gy * _make(m.astype(gy._data.dtype))


def clamp(input, min=None, max=None):
    """Limit values to ``[min, max]``; bounds may be numbers or tensors."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if input._data.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
        input = cast(input, D._Default.np)
    return Clamp(min, max)(input)


clip = clamp


class Where(Function):
    save_inputs = False

    def __init__(self, npd):
        self.npd = npd

    def forward(self, cond, a, b):
        self.cond = cond
        xp = B.xp_of(a)
        return xp.where(cond, a.astype(self.npd, copy=False), b.astype(self.npd, copy=False))

    def backward(self, gy):  # gy routed by the condition
        c = _make(self.cond)
        z = gy * 0
        ga = pick(c, gy, z) if self._edges[1] is not None else None
        gb = pick(c, z, gy) if self._edges[2] is not None else None
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


def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, value=1):
    return input + value * tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, value=1):
    return input + value * tensor1 / tensor2


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(B.xp_of(input._data).allclose(input._data, as_tensor_arg(other)._data,
                                              rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    other = as_tensor_arg(other, input)
    return _make(B.xp_of(input._data).isclose(input._data, other._data, rtol=rtol,
                                              atol=atol, equal_nan=equal_nan))


def equal(input, other):
    return input.shape == other.shape and bool((input._data == other._data).all())


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

    def backward(self, gy):  # the old value is overwritten
        if len(self._edges) == 2:
            return gy * 0, gy.sum()
        return gy * 0


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

    def backward(self, gy):  # x is overwritten; src receives gy (summed if broadcast)
        return gy * 0, gy


def copy_from(input, src):
    """The out-of-place form of ``copy_``: ``src`` broadcast to ``input``'s shape."""
    src = as_tensor_arg(src, input, "copy_")
    try:
        return CopyFrom()(input, src)
    except ValueError:
        raise RuntimeError(f"copy_: source shape {tuple(src.shape)} can't be broadcast "
                           f"to {tuple(input.shape)}") from None
