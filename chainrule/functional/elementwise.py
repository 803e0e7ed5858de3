"""Unary elementwise ops, clamp and the small composite ops (lerp, addcmul, ...);
the binary ops, comparisons and casts are in ``binary.py`` and re-exported here.

Every backward is written with differentiable Tensor ops, so second and higher
derivatives work.  A comment on each backward gives the derivative.
"""
import numpy as np

from chainrule import backend as B
from chainrule.core import grad_mode as _gm
from chainrule.core import dtype as D
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.autocast import autocast_op
from chainrule.functional._util import as_tensor_arg
from chainrule.functional.binary import *  # noqa: F401,F403  (one elementwise namespace)
from chainrule.functional.binary import cast, grad_where, grad_zeros, maximum, minimum

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
        xp = B.xp_of(x)
        if x.dtype.kind == "f":   # torch: sign(nan) is 0
            return xp.where(xp.isnan(x), x.dtype.type(0), xp.sign(x))
        if x.dtype == np.bool_:   # torch: bool stays bool
            return x.copy()
        return xp.sign(x)

    def backward(self, gy):  # piecewise constant
        return grad_zeros(gy)


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
        with np.errstate(divide="ignore", invalid="ignore"):  # -inf / nan, silently (torch)
            return B.xp_of(x).log(self.prep(x))

    def backward(self, gy):  # d ln x = 1/x
        return gy / self.inputs[0]


class Log2(_Unary):
    def forward(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):  # -inf / nan, silently (torch)
            return B.xp_of(x).log2(self.prep(x))

    def backward(self, gy):  # 1/(x ln 2)
        return gy / (self.inputs[0] * float(np.log(2.0)))


class Log10(_Unary):
    def forward(self, x):
        with np.errstate(divide="ignore", invalid="ignore"):  # -inf / nan, silently (torch)
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
        if x.dtype == np.bool_:   # torch: square is pow(x, 2), bool promotes to int64
            x = x.astype(np.int64)
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


def sigmoid_array(x):
    """``1 / (1 + e^-x)`` on an array, to full relative precision in both tails, as torch
    computes it (the backend's ``sigmoid`` kernel).  The ``tanh(x/2)/2 + 1/2`` form used
    before cancelled every value below ~1e-8 in float32: sigmoid(-20) came out 0, not
    2.1e-9, so ``BCELoss(sigmoid(z))`` was stuck at its clamp (100) with a zero gradient
    wherever ``z < -17`` (a DCGAN discriminator's fake scores), where torch's is -1.
    """
    return B.kernels_of(x).sigmoid(x)


class Sigmoid(_Unary):
    save_inputs = False
    save_output = True

    def forward(self, x):
        return sigmoid_array(self.prep(x))

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
        # torch's threshold_backward: 0 where y <= 0 (so a NaN passes gy), not inf * 0
        if _gm._State.enabled:  # create_graph: differentiable in gy
            return grad_where(~(y <= 0), gy)
        g, y = B.kernels_of(y).align_layouts(gy._data, y)   # in one memory layout
        return _make(B.kernels_of(y).zero_where(y <= 0, g))


class _ZeroGrad(_Unary):
    floating = False
    save_inputs = False
    ufunc = None

    def forward(self, x):
        if x.dtype.kind != "f":
            return x.copy()
        return getattr(B.xp_of(x), self.ufunc)(x)

    def backward(self, gy):  # piecewise constant: zero almost everywhere
        return grad_zeros(gy)


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
exp = autocast_op("exp")(_unary(Exp))
exp2 = _unary(Exp2)
log = autocast_op("log")(_unary(Log))
log2 = autocast_op("log2")(_unary(Log2))
log10 = autocast_op("log10")(_unary(Log10))
log1p = autocast_op("log1p")(_unary(Log1p))
expm1 = autocast_op("expm1")(_unary(Expm1))
sqrt = _unary(Sqrt)
rsqrt = autocast_op("rsqrt")(_unary(Rsqrt))
square = _unary(Square)
reciprocal = autocast_op("reciprocal")(_unary(Reciprocal))
sin = _unary(Sin)
cos = _unary(Cos)
tan = autocast_op("tan")(_unary(Tan))
tanh = _unary(Tanh)
asin = autocast_op("asin")(_unary(Asin))
acos = autocast_op("acos")(_unary(Acos))
atan = _unary(Atan)
sinh = autocast_op("sinh")(_unary(Sinh))
cosh = autocast_op("cosh")(_unary(Cosh))
erf = _unary(Erf)
sigmoid = _unary(Sigmoid)
_relu = _unary(Relu)


def relu(input, inplace=False):
    """max(input, 0); ``inplace=True`` writes into ``input`` (like ``relu_``)."""
    return input._inplace(_relu, "relu_") if inplace else _relu(input)
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
        return grad_where(m, gy)


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


def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    return input + weight * (end - input)


@autocast_op("addcmul")
def addcmul(input, tensor1, tensor2, value=1):
    return input + value * tensor1 * tensor2


@autocast_op("addcdiv")
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
