"""Pooling over 1 or 2 spatial dims: max, average, adaptive, unpooling.

torch's names, arguments, output sizes and indices.  The kernels in
``backend/kernels/window.py`` loop over kernel offsets only (never pixels or batch items) and
reduce one spatial dim at a time.  Every backward is itself a differentiable
Function, so double backward works:

* max pooling: ``y = gather(x, argmax)``; its backward scatters ``gy`` into
  the argmax positions, and the adjoint of that scatter is the gather again;
* average pooling: a linear map ``A`` (window sums times 1/divisor) whose
  backward is ``A^T`` and vice versa;
* adaptive average pooling with uneven windows: separable matrices.
"""
import math
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core import grad_mode as _gm
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.elementwise import relu, sign, abs as _abs, pow as _pow

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "max_unpool1d", "max_unpool2d", "lp_pool1d", "lp_pool2d"]


# ---------------------------------------------------------------- Functions
def _channels_last(x):
    """Whether ``x`` (N, C, *spatial) is a channels-last view: C innermost in memory,
    the rest in order (a convolution's output)."""
    t = x.transpose((0,) + tuple(range(2, x.ndim)) + (1,))
    return t.flags.c_contiguous and not x.flags.c_contiguous


class MaxPool(Function):
    """Max over windows; keeps torch's flat-per-plane argmax for backward."""
    save_inputs = False

    def __init__(self, wins, want_idx, returns_idx=False):
        self.wins, self.want_idx = wins, want_idx
        self.returns_idx = returns_idx   # the caller gets the argmax (return_indices)

    def forward(self, x):
        K = B.kernels_of(x)
        # a channels-last input (a convolution's output) gets its gradient in that layout
        self.channels_last = (x.ndim == len(self.wins) + 2 and x.shape[1] > 1 and
                              _channels_last(x))
        xp = K.pad_last(x, [w.pad for w in self.wins], -np.inf)
        y, self.idx = K.window_max(xp, self.wins, self.want_idx)
        return y

    def backward(self, gy):  # gy scattered to the argmax positions
        w = self.wins
        return PlaneScatter(self.idx, [v.in_size for v in w], [v.phases for v in w],
                            channels_last=getattr(self, "channels_last", False))(gy)

    def _release_extra(self):
        self.idx = None


class PlaneScatter(Function):
    """Zeros of the input shape with ``g`` added (or written) at ``idx``."""
    save_inputs = False

    def __init__(self, idx, in_sizes, phases, accumulate=True, channels_last=False):
        self.idx, self.in_sizes, self.phases = idx, tuple(in_sizes), tuple(phases)
        self.accumulate, self.channels_last = accumulate, channels_last

    def forward(self, g):
        return B.kernels_of(g).plane_scatter(g, self.idx, self.in_sizes, self.phases,
                                             self.accumulate, self.channels_last)

    def backward(self, gg):  # the adjoint of a scatter is a gather
        return PlaneGather(self.idx, self.in_sizes, self.phases)(gg)


class PlaneGather(Function):
    """``y = x[..., idx]`` per plane (the adjoint of :class:`PlaneScatter`)."""
    save_inputs = False

    def __init__(self, idx, in_sizes, phases):
        self.idx, self.in_sizes, self.phases = idx, tuple(in_sizes), tuple(phases)

    def forward(self, x):
        return B.kernels_of(x).plane_gather(x, self.idx, len(self.in_sizes))

    def backward(self, gy):  # the adjoint of a gather is a scatter-add
        return PlaneScatter(self.idx, self.in_sizes, self.phases)(gy)


class AvgPool(Function):
    """``A x``: window sums of the zero-padded input times ``scale`` (1/divisor)."""
    save_inputs = False

    def __init__(self, wins, scale):
        self.wins, self.scale = wins, scale

    def forward(self, x):
        K = B.kernels_of(x)
        xp = K.pad_last(x, [w.pad for w in self.wins], 0)
        y = K.window_sum(xp, self.wins)
        y *= _scale(self.scale, y)
        return y

    def backward(self, gy):  # A^T gy
        return AvgPoolT(self.wins, self.scale)(gy)


class AvgPoolT(Function):
    """``A^T g``: each output's (scaled) value spread over its window."""
    save_inputs = False

    def __init__(self, wins, scale):
        self.wins, self.scale = wins, scale

    def forward(self, g):
        K = B.kernels_of(g)
        full = K.window_sum_t(g * _scale(self.scale, g), self.wins)
        out = K.crop_last(full, [w.pad for w in self.wins], [w.in_size for w in self.wins])
        return B.xp_of(out).ascontiguousarray(out)

    def backward(self, gg):  # (A^T)^T = A
        return AvgPool(self.wins, self.scale)(gg)


class LinearMap(Function):
    """Multiply each trailing dim by a constant matrix ``(out, in)``."""
    save_inputs = False

    def __init__(self, mats):
        self.mats = mats

    def forward(self, x):
        xp = B.xp_of(x)
        return B.kernels_of(x).apply_mats(x, [xp.asarray(m, dtype=x.dtype) for m in self.mats])

    def backward(self, gy):  # transposed matrices
        return LinearMap([m.T for m in self.mats])(gy)


def _scale(scale, like):
    if isinstance(scale, float):
        return like.dtype.type(scale)
    return B.xp_of(like).asarray(scale, dtype=like.dtype)


# ---------------------------------------------------------------- argument checks
def _tuple(v, nd, name, op, allow_none=False):
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return (int(v),) * nd
    if allow_none and v is None:
        return (None,) * nd
    if isinstance(v, (tuple, list)):
        v = tuple(v)
        if len(v) == 1:
            v = v * nd
        if len(v) == nd and all((allow_none and a is None) or
                                (isinstance(a, numbers.Integral) and not isinstance(a, bool))
                                for a in v):
            return tuple(a if a is None else int(a) for a in v)
    raise TypeError(f"{op}: {name} must be an int or a tuple of {nd} ints, got {v!r}")


def _check_input(input, nd, op, empty_ok=False):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2):
        names = ("L",) if nd == 1 else ("H", "W")
        chw = ", ".join(("C",) + names)
        raise RuntimeError(f"{op}: expected {nd + 1}D ({chw}) or {nd + 2}D (N, {chw}) input, "
                           f"got {tuple(input.shape)}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype}")
    if not empty_ok and any(n == 0 for n in input.shape[1:]):
        raise RuntimeError(f"{op}: expected non-empty channel and spatial dims, got "
                           f"{tuple(input.shape)}")


def _out_size(L, k, s, p, d, ceil):
    """torch's ``pooling_output_shape``."""
    num = L + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)
    o = num // s + 1
    if ceil and (o - 1) * s >= L + p:
        o -= 1
    return o


def _regular(input, nd, op, kernel_size, stride, padding, dilation, ceil_mode, is_max):
    _check_input(input, nd, op)
    k = _tuple(kernel_size, nd, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else _tuple(stride, nd, "stride", op)
    p = _tuple(padding, nd, "padding", op)
    d = _tuple(dilation, nd, "dilation", op)
    for name, v in (("kernel_size", k), ("stride", s), ("dilation", d)):
        if any(a <= 0 for a in v):
            raise RuntimeError(f"{op}: {name} must be greater than zero, got {v}")
    if any(pi < 0 or pi > ki // 2 for ki, pi in zip(k, p)):
        raise RuntimeError(f"{op}: pad should be smaller than or equal to half of kernel "
                           f"size, but got padding={p} and kernel_size={k}")
    sizes = tuple(input.shape[-nd:])
    outs = tuple(_out_size(L, *a, ceil_mode) for L, *a in zip(sizes, k, s, p, d))
    if any(o < 1 for o in outs):
        lead = tuple(input.shape[-nd - 1:-nd])
        raise RuntimeError(f"{op}: Given input size: ({'x'.join(map(str, lead + sizes))}). "
                           f"Calculated output size: ({'x'.join(map(str, lead + outs))}). "
                           f"Output size is too small")
    wins = [B.Windows.regular(*a) for a in zip(sizes, outs, k, s, p, d)]
    return wins, (k, s, p)


def _wants_idx(input, return_indices):
    return bool(return_indices) or (_gm._State.enabled and input.requires_grad)


# ---------------------------------------------------------------- max pooling
def _max_pool(input, nd, op, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    wins, _ = _regular(input, nd, op, kernel_size, stride, padding, dilation, ceil_mode, True)
    fn = MaxPool(wins, _wants_idx(input, return_indices), bool(return_indices))
    y = fn(input)
    return (y, _make(fn.idx)) if return_indices else y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of ``(N, C, L)`` or ``(C, L)`` input.

    ``return_indices`` also returns the argmax as flat positions along L (for
    :func:`max_unpool1d`).

    >>> import chainrule as cr
    >>> max_pool1d(cr.tensor([[[1., 3., 2., 5.]]]), 2).tolist()
    [[[3.0, 5.0]]]
    """
    return _max_pool(input, 1, "max_pool1d", kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over sliding windows of ``(N, C, H, W)`` or ``(C, H, W)`` input.

    Args: kernel_size, stride (default: kernel_size), padding (implicit
    ``-inf``, at most half the effective kernel), dilation, ceil_mode (keep
    a last partial window that starts inside the input), return_indices
    (also return the argmax as flat ``h * W + w`` positions per plane).

    >>> import chainrule as cr
    >>> max_pool2d(cr.arange(16.).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_pool(input, 2, "max_pool2d", kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _adaptive_sizes(input, nd, output_size, op, empty_ok=False):
    _check_input(input, nd, op, empty_ok)
    outs = _tuple(output_size, nd, "output_size", op, allow_none=True)
    sizes = tuple(input.shape[-nd:])
    outs = tuple(L if o is None else o for L, o in zip(sizes, outs))
    if any(o < 0 for o in outs):
        raise RuntimeError(f"{op}: output_size must be non-negative, got {outs}")
    return sizes, outs


def _adaptive_max(input, nd, output_size, return_indices, op):
    sizes, outs = _adaptive_sizes(input, nd, output_size, op)
    if any(o == 0 for o in outs):
        raise RuntimeError(f"{op}: output_size must be positive, got {outs}")
    wins = [B.Windows.adaptive(L, o) for L, o in zip(sizes, outs)]
    fn = MaxPool(wins, _wants_idx(input, return_indices), bool(return_indices))
    y = fn(input)
    return (y, _make(fn.idx)) if return_indices else y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of ``(N, C, L)`` input to ``output_size`` windows
    ``[floor(i*L/o), ceil((i+1)*L/o))`` (torch's)."""
    return _adaptive_max(input, 1, output_size, return_indices, "adaptive_max_pool1d")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling of ``(N, C, H, W)`` input to ``output_size`` (int, pair,
    ``None`` keeps that dim)."""
    return _adaptive_max(input, 2, output_size, return_indices, "adaptive_max_pool2d")


# ---------------------------------------------------------------- average pooling
def _divisor(L, o, k, s, p, count_include_pad):
    start = np.arange(o) * s - p
    end = np.minimum(start + k, L + p)
    if count_include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, L) - np.maximum(start, 0)).astype(np.float64)


def _avg_pool(input, nd, op, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    wins, (k, s, p) = _regular(input, nd, op, kernel_size, stride, padding, 1, ceil_mode, False)
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError(f"{op}: divisor must be not zero")
        scale = 1.0 / float(divisor_override)
    else:
        divs = [_divisor(w.in_size, w.out_size, *a, count_include_pad)
                for w, *a in zip(wins, k, s, p)]
        if all(np.all(dv == dv[0]) for dv in divs):
            scale = 1.0 / float(np.prod([dv[0] for dv in divs]))
        else:
            scale = 1.0
            for i, dv in enumerate(divs):
                shape = (-1,) + (1,) * (nd - 1 - i)
                scale = scale * (1.0 / dv).reshape(shape)
    return AvgPool(wins, scale)(input)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over sliding windows of ``(N, C, L)`` or ``(C, L)`` input.

    >>> import chainrule as cr
    >>> avg_pool1d(cr.tensor([[[1., 3., 2., 6.]]]), 2).tolist()
    [[[2.0, 4.0]]]
    """
    return _avg_pool(input, 1, "avg_pool1d", kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over sliding windows of ``(N, C, H, W)`` or ``(C, H, W)`` input.

    ``count_include_pad`` counts the zero padding in the divisor;
    ``divisor_override`` replaces the divisor by a constant.

    >>> import chainrule as cr
    >>> avg_pool2d(cr.arange(16.).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _avg_pool(input, 2, "avg_pool2d", kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def _adaptive_avg(input, nd, output_size, op):
    # like torch, 1-d pooling accepts size-0 dims: the mean of an empty window is NaN
    sizes, outs = _adaptive_sizes(input, nd, output_size, op, empty_ok=nd == 1)
    if input.numel() == 0:
        spatial = tuple(range(input.ndim - nd, input.ndim))
        y = input.sum(spatial, keepdim=True) * float("nan")
        return y.expand(*(tuple(input.shape[:-nd]) + outs)).contiguous()
    if all(o > 0 and L % o == 0 for L, o in zip(sizes, outs)):  # even windows: a plain pool
        ks = [L // o for L, o in zip(sizes, outs)]
        wins = [B.Windows.regular(L, o, k, k, 0, 1) for L, o, k in zip(sizes, outs, ks)]
        return AvgPool(wins, 1.0 / float(np.prod(ks)))(input)
    mats = []
    for L, o in zip(sizes, outs):
        m = np.zeros((o, L))
        for i in range(o):
            a, b = (i * L) // o, -((-(i + 1) * L) // o)
            m[i, a:b] = 1.0 / (b - a)
        mats.append(m)
    return LinearMap(mats)(input)


def adaptive_avg_pool1d(input, output_size):
    """Mean pooling of ``(N, C, L)`` input to ``output_size`` windows
    ``[floor(i*L/o), ceil((i+1)*L/o))``."""
    return _adaptive_avg(input, 1, output_size, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):
    """Mean pooling of ``(N, C, H, W)`` input to ``output_size`` (int, pair,
    ``None`` keeps that dim); ``output_size=1`` is global average pooling.

    >>> import chainrule as cr
    >>> adaptive_avg_pool2d(cr.ones(2, 3, 5, 7), 1).shape
    chainrule.Size([2, 3, 1, 1])
    """
    return _adaptive_avg(input, 2, output_size, "adaptive_avg_pool2d")


# ---------------------------------------------------------------- power-average pooling
def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """``(sum over window of x^p)^(1/p)`` (torch's lp_pool1d)."""
    return _lp_pool(input, 1, "lp_pool1d", norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """``(sum over window of x^p)^(1/p)`` (torch's lp_pool2d)."""
    return _lp_pool(input, 2, "lp_pool2d", norm_type, kernel_size, stride, ceil_mode)


def _lp_pool(input, nd, op, norm_type, kernel_size, stride, ceil_mode):
    k = _tuple(kernel_size, nd, "kernel_size", op)
    avg = _avg_pool(_pow(input, norm_type), nd, op, k, stride, 0, ceil_mode, True, None)
    return _pow(sign(avg) * relu(_abs(avg)) * float(math.prod(k)), 1.0 / norm_type)


# ---------------------------------------------------------------- unpooling
def _max_unpool(input, indices, nd, op, kernel_size, stride, padding, output_size):
    _check_input(input, nd, op)
    k = _tuple(kernel_size, nd, "kernel_size", op)
    s = k if stride is None else _tuple(stride, nd, "stride", op)
    p = _tuple(padding, nd, "padding", op)
    sizes = tuple(input.shape[-nd:])
    default = tuple((L - 1) * si - 2 * pi + ki for L, ki, si, pi in zip(sizes, k, s, p))
    if output_size is None:
        outs = default
    else:
        outs = tuple(int(v) for v in tuple(output_size)[-nd:])
        if len(outs) != nd:
            raise ValueError(f"{op}: output_size must have {nd} or more elements, got "
                             f"{tuple(output_size)}")
        for o, dflt, si in zip(outs, default, s):
            if not dflt - si < o < dflt + si:
                raise ValueError(f"{op}: invalid output_size {outs} (default {default}, "
                                 f"stride {s})")
    if not isinstance(indices, Tensor) or tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{op}: expected indices of the input's shape "
                           f"{tuple(input.shape)}, got {tuple(getattr(indices, 'shape', ()))}")
    idx = indices._data.astype(np.int64, copy=False)
    plane = int(np.prod(outs))
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
        raise RuntimeError(f"{op}: found an invalid max index {int(idx.max())} (output "
                           f"volumes are of size {'x'.join(map(str, outs))})")
    return PlaneScatter(idx, outs, (1,) * nd, accumulate=False)(input)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of :func:`max_pool1d`: ``input`` written at ``indices``, zeros elsewhere."""
    return _max_unpool(input, indices, 1, "max_unpool1d", kernel_size, stride, padding,
                       output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of :func:`max_pool2d`: ``input`` written at ``indices``, zeros elsewhere."""
    return _max_unpool(input, indices, 2, "max_unpool2d", kernel_size, stride, padding,
                       output_size)
