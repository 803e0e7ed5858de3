"""Activation functions (functional forms, torch names and arguments).

``relu``, ``sigmoid`` and ``tanh`` live in ``elementwise``.  Hot or
numerically delicate ops are fused Functions; the rest are compositions of
differentiable ops.  Every backward is written with Tensor ops so double
backward works.
"""
import math

import numpy as np

from chainrule import backend as B
from chainrule.backend.kernels.reduce import fast_sum
from chainrule.core import dtype as D
from chainrule.core.function import Function
from chainrule.core.grad_mode import is_grad_enabled
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.autocast import autocast_op
from chainrule.functional._util import norm_dim
from chainrule.functional.elementwise import (
    clamp, exp, erf, tanh, sigmoid, sigmoid_array, abs as _abs, cast)
from chainrule.functional.indexing import slice_dim
from chainrule.functional.masking import where
from chainrule.functional.reduction import norm
from chainrule.functional.shape import reshape

__all__ = [
    "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "hardtanh",
    "relu6", "hardsigmoid", "hardswish", "logsigmoid", "softsign", "tanhshrink",
    "softshrink", "hardshrink", "threshold", "glu", "prelu", "softmax", "log_softmax",
    "softmin", "normalize", "one_hot", "cosine_similarity",
    "pairwise_distance",
]


def require_floating(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point tensor, got {x.dtype}")
    return x


def maybe_inplace(input, inplace, fn, name):
    """Apply ``fn`` out of place, or write its result into ``input`` (like torch's ``_``)."""
    return input._inplace(lambda t: fn(t), name + "_") if inplace else fn(input)


def _mask(cond, like):
    """A constant 0/1 tensor of ``like``'s dtype."""
    return _make(cond.astype(like._data.dtype))


# ---------------------------------------------------------------- piecewise
class LeakyRelu(Function):
    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):   # torch's x > 0 ? x : x * slope (NaN takes the second branch)
        xp = B.xp_of(x)
        return B.kernels_of(x).select(x > 0, x, xp.asarray(x * self.slope).astype(
            x.dtype, copy=False))

    def backward(self, gy):  # gy for x > 0, else gy * slope (torch's form, bit for bit)
        x, g = self.inputs[0]._data, gy._data
        if is_grad_enabled():    # create_graph: stay on Tensor ops (as Gelu)
            return gy * _make(B.xp_of(x).where(x > 0, 1.0, self.slope).astype(g.dtype))
        return _make(B.kernels_of(g).select(x > 0, g, B.xp_of(g).asarray(
            g * self.slope).astype(g.dtype, copy=False)))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    require_floating(input, "leaky_relu")
    return maybe_inplace(input, inplace, LeakyRelu(float(negative_slope)), "leaky_relu")


class Elu(Function):
    """``scale * (x if x > 0 else alpha * (exp(input_scale * x) - 1))``."""

    def __init__(self, alpha, scale=1.0, input_scale=1.0):
        self.alpha, self.scale, self.input_scale = alpha, scale, input_scale

    def forward(self, x):
        xp = B.xp_of(x)
        neg = xp.minimum(x, 0)
        if self.input_scale != 1.0:
            neg = neg * self.input_scale
        neg = xp.expm1(neg)
        if self.alpha != 1.0:
            neg = neg * self.alpha
        y = B.kernels_of(x).select(x > 0, x, xp.asarray(neg).astype(x.dtype, copy=False))
        return (y * self.scale).astype(x.dtype, copy=False) if self.scale != 1.0 else y

    def backward(self, gy):  # scale * (1 if x > 0 else alpha * input_scale * exp(input_scale x))
        x = self.inputs[0]
        pos = _mask(~(x._data <= 0), gy)   # NaN takes the positive branch, as in torch
        # x < 0 strictly (torch's double backward is 0 at x = 0, where clamp's would be 1)
        e = exp(where(_make(x._data < 0), x, 0.0) * self.input_scale) * \
            (self.alpha * self.input_scale)
        return gy * (pos + (1 - pos) * e) * self.scale


def elu(input, alpha=1.0, inplace=False):
    require_floating(input, "elu")
    return maybe_inplace(input, inplace, Elu(float(alpha)), "elu")


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    require_floating(input, "selu")
    return maybe_inplace(input, inplace, Elu(SELU_ALPHA, SELU_SCALE), "selu")


def celu(input, alpha=1.0, inplace=False):
    require_floating(input, "celu")
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError, alpha cannot be 0")
    return maybe_inplace(input, inplace, Elu(float(alpha), 1.0, 1.0 / float(alpha)), "celu")


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("hardtanh: min_val cannot be greater than max_val")
    if input._data.dtype.kind in "iu":   # torch keeps integer inputs integer
        min_val, max_val = int(min_val), int(max_val)
    return maybe_inplace(input, inplace, lambda t: _hardtanh(t, min_val, max_val), "hardtanh")


def _hardtanh(t, lo, hi):
    y = clamp(t, lo, hi)
    if not t.requires_grad:
        return y
    # torch: gradient 0 at and beyond the bounds (clamp's is 1 at them), 1 elsewhere (NaN too)
    return where((t <= lo) | (t >= hi), y.detach(), t)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input, inplace=False):
    return maybe_inplace(input, inplace, lambda t: clamp(t * (1 / 6) + 0.5, 0.0, 1.0),
                    "hardsigmoid")


def hardswish(input, inplace=False):
    return maybe_inplace(input, inplace, _hardswish, "hardswish")


class Hardswish(Function):
    """``x * relu6(x + 3) / 6`` (torch's order of operations) with torch's backward:
    0 at and below -3, ``x / 3 + 0.5`` inside (-3, 3), 1 from 3 up (and for NaN).
    One array pass each way instead of a dozen composed ops (7x faster)."""
    save_inputs = True

    def forward(self, x):
        xp = B.xp_of(x)
        if x.dtype.kind != "f":
            raise RuntimeError(f"hardswish: expected a floating point input, got {x.dtype}")
        r = xp.add(x, x.dtype.type(3), out=xp.empty_like(x))   # an array even when 0-d
        xp.clip(r, 0, 6, out=r)
        with np.errstate(invalid="ignore"):   # -inf * 0: NaN, as torch (silently)
            r *= x
        r /= x.dtype.type(6)
        return r

    def backward(self, gy):
        t = self.inputs[0]
        if is_grad_enabled():   # create_graph: differentiable in gy and x
            mid = _make((t._data > -3) & (t._data < 3))
            slope = where(mid, t * (1 / 3) + 0.5, 0.0)
            return gy * where(_make(t._data <= -3), 0.0, where(mid, slope, 1.0))
        x = t._data
        xp, K, one = B.xp_of(x), B.kernels_of(x), x.dtype.type(1)
        d = xp.divide(x, x.dtype.type(3), out=xp.empty_like(x))   # an array even when 0-d
        d += x.dtype.type(0.5)
        d = K.select(x < 3, d, one)                  # NaN: 1 (both comparisons false)
        d = K.select(x <= -3, x.dtype.type(0), d)
        return _make(xp.multiply(d, gy._data))


def _hardswish(t):
    return Hardswish()(t)


def softsign(input):
    return input / (_abs(input) + 1)


def tanhshrink(input):
    return input - tanh(input)


def softshrink(input, lambd=0.5):
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be non-negative, got {lambd}")
    return input - clamp(input, -lambd, lambd)


def hardshrink(input, lambd=0.5):
    x = input._data
    return input * _mask(B.xp_of(x).abs(x) > lambd, input)


def threshold(input, threshold, value, inplace=False):
    """``input`` where ``input > threshold``, else ``value``."""
    return maybe_inplace(input, inplace, lambda t: where(_make(t._data > threshold), t, value),
                    "threshold")


# ---------------------------------------------------------------- smooth
_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_K_TANH = math.sqrt(2.0 / math.pi)


class Gelu(Function):
    def __init__(self, approximate):
        self.approximate = approximate

    def forward(self, x):
        xp = B.xp_of(x)
        if self.approximate == "tanh":
            u = (x + 0.044715 * x * x * x) * _K_TANH
            return (0.5 * x * (1 + xp.tanh(u))).astype(x.dtype, copy=False)
        # kept for the backward's Phi(x): erf is the costly part (a node that is not
        # recorded, as under no_grad, is dropped with it right away)
        self.erf = e = B.kernels_of(x).erf(x * _SQRT1_2)
        return (0.5 * x * (1 + e)).astype(x.dtype, copy=False)

    def backward(self, gy):
        x = self.inputs[0]
        if self.approximate == "tanh":
            # 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2),  t = tanh(k (x + c x^3))
            x2 = x * x
            t = tanh((x + x2 * x * 0.044715) * _K_TANH)
            d = (t + 1) * 0.5 + x * (1 - t * t) * (x2 * (3 * 0.044715) + 1) * (0.5 * _K_TANH)
            return gy * d
        # Phi(x) + x phi(x)
        e = getattr(self, "erf", None)
        if e is not None and not is_grad_enabled():   # create_graph: differentiable path
            cdf = (_make(e) + 1) * 0.5
        else:
            cdf = (erf(x * _SQRT1_2) + 1) * 0.5
        pdf = exp(x * x * -0.5) * _INV_SQRT_2PI
        return gy * (cdf + x * pdf)

    def _release_extra(self):
        self.erf = None


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    require_floating(input, "gelu")
    return Gelu(approximate)(input)


class Silu(Function):
    def forward(self, x):   # x sigmoid(x), the sigmoid to full relative precision
        xs = x.astype("float32") if x.dtype.itemsize < 4 else x   # float16: as torch, in float32
        return (xs * sigmoid_array(xs)).astype(x.dtype, copy=False)

    def backward(self, gy):  # s (1 + x (1 - s)),  s = sigmoid(x)
        x = self.inputs[0]
        if not is_grad_enabled():   # first order: in place on two arrays
            xa = x._data
            xs = xa.astype("float32") if xa.dtype.itemsize < 4 else xa
            xp = B.xp_of(xs)
            s = sigmoid_array(xs)
            t = xp.subtract(1, s, dtype=xs.dtype)
            t *= xs
            t += 1
            t *= s
            t *= gy._data
            return _make(t.astype(xa.dtype, copy=False))
        s = sigmoid(x)
        return gy * s * (x * (1 - s) + 1)


def silu(input, inplace=False):
    require_floating(input, "silu")
    return maybe_inplace(input, inplace, Silu(), "silu")


class Softplus(Function):
    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        xp = B.xp_of(x)
        bx = x * self.beta
        # log(1 + e^bx) = max(bx, 0) + log1p(e^-|bx|), exact and finite everywhere
        soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / self.beta
        return xp.where(bx > self.threshold, x, soft).astype(x.dtype, copy=False)

    def backward(self, gy):  # sigmoid(beta x), or 1 above the threshold
        x = self.inputs[0]
        lin = _mask(x._data * self.beta > self.threshold, gy)
        return gy * (lin + (1 - lin) * sigmoid(x * self.beta))


@autocast_op("softplus")
def softplus(input, beta=1.0, threshold=20.0):
    require_floating(input, "softplus")
    return Softplus(float(beta), float(threshold))(input)


class LogSigmoid(Function):
    def forward(self, x):
        xp = B.xp_of(x)
        return (xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))).astype(x.dtype, copy=False)

    def backward(self, gy):  # 1 - sigmoid(x) = sigmoid(-x)
        return gy * sigmoid(-self.inputs[0])


def logsigmoid(input):
    require_floating(input, "logsigmoid")
    return LogSigmoid()(input)


def mish(input, inplace=False):
    return maybe_inplace(input, inplace, lambda t: t * tanh(softplus(t)), "mish")


def glu(input, dim=-1):
    d = norm_dim(dim, input.ndim, "glu")
    n = input.shape[d]
    if input.ndim == 0 or n % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {d} of "
                           f"{tuple(input.shape)} is size {n}")
    h = n // 2
    return slice_dim(input, d, 0, h) * sigmoid(slice_dim(input, d, h, n))


@autocast_op("prelu")
def prelu(input, weight):
    """``x`` if ``x > 0`` else ``weight * x``; weight has 1 or C (= input.shape[1]) entries."""
    n = weight.numel()
    if n != 1:
        if input.ndim < 2 or input.shape[1] != n:
            raise RuntimeError(f"prelu: weight of {n} parameters does not match the channel "
                               f"size of input {tuple(input.shape)}")
        weight = reshape(weight, (n,) + (1,) * (input.ndim - 2))
    elif weight.ndim > 0:
        weight = reshape(weight, ())
    pos = _mask(input._data > 0, input)
    return input * (pos + (1 - pos) * weight)


# ---------------------------------------------------------------- softmax family
def _softmax_dim(dim, ndim, op):
    if dim is None:  # torch's legacy implicit dim (without the warning)
        dim = 0 if ndim in (0, 1, 3) else 1
    return norm_dim(dim, ndim, op)


def _prep_softmax(input, dim, dtype, op):
    if dtype is not None:
        input = cast(input, D.to_np_dtype(dtype))
    if not (isinstance(input, Tensor) and input.numel() == 0):   # torch: no dtype check
        require_floating(input, op)                                # on an empty tensor
    return input, _softmax_dim(dim, input.ndim, op)


def _empty_of_dtype(input):
    """An empty non-floating input: torch returns it (as a new tensor) unchecked."""
    return input.numel() == 0 and input._data.dtype.kind != "f"


_NO_SHIFT = 80.0   # |x| below this: exp(x) is a normal float32 and a sum of fewer
_NO_SHIFT_LEN = 4096  # than this many of them cannot overflow (e^80 = 5.5e34)


def _shifted(x, dim):
    """``x - max(x, dim)``, the shift that keeps softmax's ``exp`` from overflowing, or
    ``x`` itself where no shift is needed: every element of a float32/float64 ``x``
    within +-80 (one ``max`` and one ``min`` over the whole array: NumPy's max along a
    short axis is 100 us for the (2048, 32) rows of an attention softmax, 10x its
    ``exp``).  NaN or inf anywhere takes the shifted path.  Softmax's ``exp(x) / sum``
    is as accurate either way; log-softmax keeps the shift (its ``x - lse`` would
    cancel)."""
    if (not B.is_device_array(x) and x.dtype in (np.float32, np.float64)
            and x.shape[dim] < _NO_SHIFT_LEN):
        hi, lo = x.max(), x.min()
        if hi < _NO_SHIFT and lo > -_NO_SHIFT:
            return x
    return x - x.max(axis=dim, keepdims=True)


class Softmax(Function):
    save_inputs = False
    save_output = True

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        xp = B.xp_of(x)
        if x.ndim == 0 or x.size == 0:  # 1, or NaN for a NaN or +-inf element (torch)
            return xp.exp(x - x)
        e = xp.exp(_shifted(x, self.dim))
        e /= fast_sum(e, (self.dim % x.ndim,), keepdims=True)
        return e

    def backward(self, gy):  # y * (gy - sum(gy * y))
        y = self.output()
        if y.ndim == 0:   # torch's formula too: 0, or NaN where y or gy is not finite
            return y * (gy - gy * y)
        if not is_grad_enabled():   # first order: on the arrays, one temporary
            ya, g = y._data, gy._data
            t = g * ya
            s = fast_sum(t, (self.dim % ya.ndim,), keepdims=True)
            B.xp_of(ya).subtract(g, s, out=t)
            t *= ya
            return _make(t)
        return y * (gy - (gy * y).sum(self.dim, keepdim=True))


class LogSoftmax(Function):
    save_inputs = False
    save_output = True

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        xp = B.xp_of(x)
        if x.ndim == 0 or x.size == 0:  # 0, or NaN for a NaN or +-inf element (torch)
            return x - x
        # always shifted: x - log(sum(exp(x))) would cancel to ulp(|x|) where the
        # result is near 0 (only softmax skips the shift, see _shifted)
        z = x - x.max(axis=self.dim, keepdims=True)
        return z - xp.log(fast_sum(xp.exp(z), (self.dim % x.ndim,), keepdims=True))

    def backward(self, gy):  # gy - exp(y) * sum(gy)
        y = self.output()
        if y.ndim == 0:   # torch's formula too: 0, or NaN where y or gy is not finite
            return gy - exp(y) * gy
        if not is_grad_enabled():   # first order: on the arrays
            ya, g = y._data, gy._data
            xp = B.xp_of(ya)
            t = xp.exp(ya)
            t *= fast_sum(g, (self.dim % ya.ndim,), keepdims=True)
            xp.subtract(g, t, out=t)
            return _make(t)
        return gy - exp(y) * gy.sum(self.dim, keepdim=True)


@autocast_op("softmax")
def softmax(input, dim=None, dtype=None, _stacklevel=3):
    input, d = _prep_softmax(input, dim, dtype, "softmax")
    return input.clone() if _empty_of_dtype(input) else Softmax(d)(input)


@autocast_op("log_softmax")
def log_softmax(input, dim=None, dtype=None, _stacklevel=3):
    input, d = _prep_softmax(input, dim, dtype, "log_softmax")
    return input.clone() if _empty_of_dtype(input) else LogSoftmax(d)(input)


@autocast_op("softmin")
def softmin(input, dim=None, dtype=None, _stacklevel=3):
    input, d = _prep_softmax(input, dim, dtype, "softmin")
    return input.clone() if _empty_of_dtype(input) else Softmax(d)(-input)


# ---------------------------------------------------------------- norms
def _vector_norm(x, p, dim):
    """The p-norm over ``dim`` kept as a size-1 dim (``reduction.norm``: any p,
    ``inf``, and torch's zero gradient at a zero vector)."""
    return norm(x, p, dim, keepdim=True)


@autocast_op("normalize")
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(||input||_p, eps)`` along ``dim``."""
    d = norm_dim(dim, input.ndim, "normalize")
    return input / clamp(_vector_norm(input, p, d), min=eps)


@autocast_op("cosine_similarity")
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (broadcasting)."""
    nd = max(x1.ndim, x2.ndim)
    d = norm_dim(dim, nd, "cosine_similarity")
    if x1.ndim < nd:
        x1 = reshape(x1, (1,) * (nd - x1.ndim) + tuple(x1.shape))
    if x2.ndim < nd:
        x2 = reshape(x2, (1,) * (nd - x2.ndim) + tuple(x2.shape))
    n1 = clamp(_vector_norm(x1, 2, d), min=eps)
    n2 = clamp(_vector_norm(x2, 2, d), min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(d)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` over the last dimension."""
    diff = x1 - x2 + eps
    nd = diff.ndim
    if nd == 0:
        return _abs(diff)
    r = _vector_norm(diff, p, nd - 1)
    return r if keepdim else reshape(r, tuple(r.shape[:-1]))


# ---------------------------------------------------------------- misc
class OneHot(Function):
    differentiable = False
    save_inputs = False

    def __init__(self, n):
        self.n = n

    def forward(self, idx):
        xp = B.xp_of(idx)
        return (idx[..., None] == xp.arange(self.n)).astype(np.int64)


def one_hot(tensor, num_classes=-1):
    """Integer class indices -> int64 one-hot vectors along a new last dim."""
    if not isinstance(tensor, Tensor) or tensor._data.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor (an integer dtype), "
                           f"got {getattr(tensor, 'dtype', type(tensor).__name__)}")
    a = tensor._data
    if a.size and int(a.min()) < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {int(a.min())}")
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("one_hot: can not infer total number of classes from an "
                               "empty tensor; pass num_classes")
        num_classes = int(a.max()) + 1
    elif a.size and int(a.max()) >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes "
                           f"({num_classes}), got {int(a.max())}")
    return OneHot(int(num_classes))(tensor)
