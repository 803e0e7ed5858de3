"""Normalization: batch, layer, group, instance and local response norm.

Batch/layer/group/instance norm share one fused Function, :class:`Normalize`:
``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the statistics over
``axes``.  Its forward computes mean and variance once; its first-order
backward is the closed form

    gx = invstd * (g - mean(g) - xhat * mean(g * xhat)),   g = gy * weight

on raw arrays, and under ``create_graph`` the same formula in differentiable
Tensor ops (statistics recomputed from the input) so double backward works.
:func:`normalize_composed` is the plain composition of differentiable ops,
kept as the oracle the tests compare the fused op against.
"""
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.backend.kernels.reduce import fast_sum
from chainrule.core import grad_mode as _gm
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.autocast import autocast_op
from chainrule.functional.elementwise import cast, rsqrt
from chainrule.functional.join import narrow, pad
from chainrule.functional.shape import _sum_to_array, reshape

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "local_response_norm",
           "rms_norm"]


def _mean(x, axes, n):
    """``x.mean(axes, keepdims=True)`` over ``n`` elements, its sum by ``gemv`` over
    trailing axes (layer norm's rows: 4x NumPy's short-row sum)."""
    if n and x.dtype in (np.float32, np.float64):
        return fast_sum(x, axes, keepdims=True) / n
    return x.mean(axis=axes, keepdims=True)


class Normalize(Function):
    """Standardise ``x`` over ``axes``, then ``* weight + bias`` (each optional,
    already shaped to broadcast against ``x``)."""

    def __init__(self, axes, eps, has_weight, has_bias):
        self.axes, self.eps = axes, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, *wb):
        xp = B.xp_of(x)
        self.count = int(np.prod([x.shape[a] for a in self.axes]))
        self.rows = _channel_rows(x, self.axes, wb)
        if self.rows is not None:
            return self._forward_rows(self.rows, x.shape, wb)
        mean = _mean(x, self.axes, self.count)
        y = x - mean
        var = _mean(xp.square(y), self.axes, self.count)
        invstd = 1.0 / xp.sqrt(var + self.eps)
        if self.has_weight and _constant_over(wb[0].shape, self.axes, x.ndim):
            y *= invstd * wb[0]     # one pass instead of two
        else:
            y *= invstd
            if self.has_weight:
                y *= wb[0]
        if self.has_bias:
            y += wb[-1]
        self.mean, self.var, self.invstd = mean, var, invstd
        return y

    def backward(self, gy):
        if _gm._State.enabled:
            return self._backward_graph(gy)
        x = self.inputs[0]._data
        g = gy._data
        axes, n = self.axes, self.count
        if self.rows is not None:
            return self._backward_rows(g)
        xhat = (x - self.mean) * self.invstd
        need = self.needs_input_grad
        w = self.inputs[1]._data if self.has_weight else None
        pshapes = [t.shape for t in self.inputs[1:]]
        if all(_constant_over(ps, axes, g.ndim) for ps in pshapes):
            # batch/instance norm: the parameters are constant over the statistics, so
            # the per-statistic sums serve both the parameter grads and gx
            sg = g.sum(axis=axes, keepdims=True)
            sgx = (g * xhat).sum(axis=axes, keepdims=True)
            gw = _sum_to_array(sgx, w.shape) if self.has_weight and need[1] else None
            gb = _sum_to_array(sg, pshapes[-1]) if self.has_bias and need[-1] else None
            scale = self.invstd if w is None else w * self.invstd
        else:
            gw = _sum_to_array(g * xhat, w.shape) if self.has_weight and need[1] else None
            gb = _sum_to_array(g, pshapes[-1]) if self.has_bias and need[-1] else None
            if w is not None:
                g = g * w
            sg = fast_sum(g, axes, keepdims=True)
            sgx = fast_sum(g * xhat, axes, keepdims=True)
            scale = self.invstd
        gx = None
        if need[0]:   # invstd * (g - mean(g) - xhat * mean(g * xhat))
            inv_n = 1.0 / max(n, 1)   # n == 0: empty normalized_shape, nothing to scale
            xhat *= sgx * inv_n
            gx = g - sg * inv_n
            gx -= xhat
            gx *= scale
        out = [gx] + ([gw] if self.has_weight else []) + ([gb] if self.has_bias else [])
        return tuple(None if a is None else _make(a) for a in out)

    def _backward_graph(self, gy):
        x = self.inputs[0]
        axes = self.axes
        xc = x - x.mean(axes, keepdim=True)
        invstd = rsqrt((xc * xc).mean(axes, keepdim=True) + self.eps)
        xhat = xc * invstd
        need = self.needs_input_grad
        g = gy * self.inputs[1] if self.has_weight else gy
        gx = None
        if need[0]:
            gx = invstd * (g - g.mean(axes, keepdim=True) -
                           xhat * (g * xhat).mean(axes, keepdim=True))
        out = [gx]
        if self.has_weight:
            out.append(gy * xhat if need[1] else None)
        if self.has_bias:
            out.append(gy if need[-1] else None)
        return tuple(out)

    # Batch norm of a channels-last (N, C, H, W) array (a convolution's output):
    # the same formulas on its (N*H*W, C) rows, with per-channel sums and
    # broadcasts over long runs (the backend's row_sum / rows_op).  NumPy's
    # own reductions and broadcasts over such an array run C elements at a time,
    # 3-10x slower.
    def _forward_rows(self, rows, shape, wb):
        xp, K = B.xp_of(rows), B.kernels_of(rows)
        row_sum, rows_op = K.row_sum, K.rows_op
        c, n = rows.shape[1], self.count
        mean = row_sum(rows) / n
        y = rows_op(xp.subtract, rows, mean, xp.empty_like(rows))
        var = row_sum(xp.square(y)) / n
        invstd = 1.0 / xp.sqrt(var + self.eps)
        scale = invstd * wb[0].reshape(c) if self.has_weight else invstd
        rows_op(xp.multiply, y, scale.astype(y.dtype, copy=False), y)
        if self.has_bias:
            rows_op(xp.add, y, wb[-1].reshape(c), y)
        k = (1, c) + (1,) * (len(shape) - 2)
        self.mean, self.var, self.invstd = mean.reshape(k), var.reshape(k), invstd.reshape(k)
        return _from_rows(y, shape)

    def _backward_rows(self, g):
        xp, K = B.xp_of(g), B.kernels_of(g)
        row_sum, rows_op = K.row_sum, K.rows_op
        rows, n = self.rows, self.count
        c = rows.shape[1]
        gr = _as_rows(g)
        mean, invstd = self.mean.reshape(c), self.invstd.reshape(c)
        xhat = rows_op(xp.subtract, rows, mean, xp.empty_like(rows))
        rows_op(xp.multiply, xhat, invstd, xhat)
        sg = row_sum(gr)
        sgx = row_sum(gr * xhat)
        need = self.needs_input_grad
        w = self.inputs[1]._data.reshape(c) if self.has_weight else None
        gx = None
        if need[0]:   # invstd * (g - mean(g) - xhat * mean(g * xhat))
            rows_op(xp.multiply, xhat, (sgx * (1.0 / n)).astype(xhat.dtype, copy=False), xhat)
            gx = rows_op(xp.subtract, gr, (sg * (1.0 / n)).astype(gr.dtype, copy=False),
                          xp.empty_like(gr))
            gx -= xhat
            scale = invstd if w is None else w * invstd
            rows_op(xp.multiply, gx, scale.astype(gx.dtype, copy=False), gx)
            gx = _from_rows(gx, g.shape)
        out = [gx]
        pshapes = [t.shape for t in self.inputs[1:]]
        if self.has_weight:
            out.append(sgx.reshape(pshapes[0]) if need[1] else None)
        if self.has_bias:
            out.append(sg.reshape(pshapes[-1]) if need[-1] else None)
        return tuple(None if a is None else _make(a) for a in out)

    def _release_extra(self):
        self.mean = self.var = self.invstd = self.rows = None


def _as_rows(a):
    """The (N*H*W, C) rows of a logical (N, C, H, W) array: a view when it is
    channels-last in memory, else a channels-last copy."""
    t = a.transpose(0, 2, 3, 1)
    return t.reshape(-1, a.shape[1]) if t.flags.c_contiguous else \
        B.xp_of(a).ascontiguousarray(t).reshape(-1, a.shape[1])


def _from_rows(rows, shape):
    """(N*H*W, C) rows -> the logical (N, C, H, W) view."""
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def _channel_rows(x, axes, wb):
    """The rows view of ``x`` when the fast channels-last batch-norm path applies
    (4-D, statistics over (0, 2, 3), channels-last memory, per-channel
    parameters, a backend that wants it), else None."""
    if (x.ndim != 4 or tuple(axes) != (0, 2, 3) or x.shape[1] == 0
            or not B.kernels_of(x).channels_last_batch_norm):
        return None
    t = x.transpose(0, 2, 3, 1)
    if not t.flags.c_contiguous or any(p.size != x.shape[1] for p in wb):
        return None
    return t.reshape(-1, x.shape[1])


def _constant_over(pshape, axes, ndim):
    """Whether a parameter of shape ``pshape`` (right-aligned) has size 1 on every axis."""
    lead = ndim - len(pshape)
    return all(a < lead or pshape[a - lead] == 1 for a in axes)


def normalize_composed(x, axes, eps, weight=None, bias=None):
    """The unfused reference for :class:`Normalize` (composed differentiable ops)."""
    xc = x - x.mean(axes, keepdim=True)
    y = xc * rsqrt((xc * xc).mean(axes, keepdim=True) + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _normalize(x, axes, eps, weight, bias):
    args = [x] + [t for t in (weight, bias) if t is not None]
    fn = Normalize(tuple(axes), float(eps), weight is not None, bias is not None)
    return fn(*args), fn


def _floating(input, op):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype}")


def _per_channel(t, c, ndim, name, op, input):
    """Reshape a (C,) tensor to (C, 1, ..., 1) for broadcasting over (N, C, *)."""
    if t is None:
        return None
    if t.numel() != c:
        raise RuntimeError(f"{op}: {name} should contain {c} elements (one per channel of "
                           f"input {tuple(input.shape)}), not {t.numel()}")
    return reshape(t, (c,) + (1,) * (ndim - 2))


def _update_running(buf, value, momentum):
    """``buf = (1 - momentum) * buf + momentum * value`` in place (no graph)."""
    if buf is None:
        return
    a = buf._data
    a *= 1.0 - momentum
    a += (momentum * value.reshape(a.shape)).astype(a.dtype, copy=False)
    buf._version[0] += 1


def update_running_stats(running_mean, running_var, fn, momentum, n):
    """Batch norm's running-statistics update from its op ``fn`` (after its forward),
    one function so that ``chainrule.compile`` can record and replay it."""
    _update_running(running_mean, fn.mean, momentum)
    _update_running(running_var, fn.var * (n / (n - 1)), momentum)


# ---------------------------------------------------------------- batch norm
@autocast_op("batch_norm")
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalization over ``(N, C)`` or ``(N, C, *)`` input, per channel.

    Training uses the batch statistics and updates ``running_mean`` and
    ``running_var`` in place (``(1 - momentum) * running + momentum * batch``,
    with the unbiased batch variance, as torch); evaluation uses the running
    statistics.  ``weight``/``bias`` are (C,).

    >>> import chainrule as cr
    >>> x = cr.randn(8, 3)
    >>> y = batch_norm(x, None, None, training=True)
    >>> bool(y.mean(0).abs().max() < 1e-5)
    True
    """
    op = "batch_norm"
    _floating(input, op)
    if input.numel() == 0:
        return _empty_norm(input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected 2D or higher input (N, C, *), got "
                         f"{tuple(input.shape)}")
    c, nd = input.shape[1], input.ndim
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{op}: {name} should contain {c} elements (one per channel "
                               f"of input {tuple(input.shape)}), not {t.numel()}")
    w = _per_channel(weight, c, nd, "weight", op, input)
    b = _per_channel(bias, c, nd, "bias", op, input)
    if training:
        n = input.numel() // max(c, 1)
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {tuple(input.shape)}")
        y, fn = _normalize(input, (0,) + tuple(range(2, nd)), eps, w, b)
        if momentum is not None:  # (momentum None means no update, like torch's functional)
            update_running_stats(running_mean, running_var, fn, momentum, n)
        return y
    if running_mean is None or running_var is None:
        raise ValueError(f"{op}: running_mean and running_var must be defined in evaluation "
                         f"mode")
    return _affine_eval(input, running_mean, running_var, w, b, eps, c)


def _empty_norm(input):
    """The (empty) result of a normalization of an input with no elements: like torch,
    no statistics and no running-stat update, and no shape checks beyond the op's first."""
    return input * 1


def _affine_eval(input, mean, var, w, b, eps, c):
    """``(x - mean) * rsqrt(var + eps) * w + b`` as one scale and one shift."""
    shape = (c,) + (1,) * (input.ndim - 2)
    scale = rsqrt(reshape(var, shape) + eps)
    if w is not None:
        scale = scale * w
    shift = -reshape(mean, shape) * scale
    if b is not None:
        shift = shift + b
    if input._data.dtype != scale._data.dtype:
        scale, shift = cast(scale, input._data.dtype), cast(shift, input._data.dtype)
    return input * scale + shift


# ---------------------------------------------------------------- instance norm
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalize each (sample, channel) plane of ``(N, C, *)`` input over its
    spatial dims; running statistics (if given) track the batch mean of the
    per-instance statistics.  ``use_input_stats=False`` uses the running ones."""
    op = "instance_norm"
    _floating(input, op)
    if input.ndim < 3:
        raise ValueError(f"{op}: expected 3D or higher input (N, C, *), got "
                         f"{tuple(input.shape)}")
    c, nd = input.shape[1], input.ndim
    w = _per_channel(weight, c, nd, "weight", op, input)
    b = _per_channel(bias, c, nd, "bias", op, input)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: need running_mean and running_var when "
                             f"use_input_stats=False")
        return _affine_eval(input, running_mean, running_var, w, b, eps, c)
    if input.numel() == 0:
        return _empty_norm(input)
    n = int(np.prod(input.shape[2:]))
    if n <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input "
                         f"size {tuple(input.shape)}")
    y, fn = _normalize(input, tuple(range(2, nd)), eps, w, b)
    if momentum is not None:
        flat = fn.mean.reshape(input.shape[0], c)
        _update_running(running_mean, flat.mean(axis=0), momentum)
        v = fn.var.reshape(input.shape[0], c) * (n / (n - 1))
        _update_running(running_var, v.mean(axis=0), momentum)
    return y


# ---------------------------------------------------------------- layer / group norm
def _shape_arg(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


@autocast_op("layer_norm")
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing ``normalized_shape`` dims; ``weight``/``bias``
    have that shape.

    >>> import chainrule as cr
    >>> y = layer_norm(cr.randn(2, 5), (5,))
    >>> bool(y.mean(-1).abs().max() < 1e-5)
    True
    """
    op = "layer_norm"
    _floating(input, op)
    ns = _shape_arg(normalized_shape)
    k = len(ns)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(map(str, ns))}], but got input of size "
                           f"{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"{op}: expected {name} of shape {ns}, got {tuple(t.shape)}")
    y, _ = _normalize(input, tuple(range(input.ndim - k, input.ndim)), eps, weight, bias)
    return y


@autocast_op("group_norm")
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize ``(N, C, *)`` input over groups of ``C // num_groups``
    channels (and all spatial dims); per-channel ``weight``/``bias`` (C,)."""
    op = "group_norm"
    _floating(input, op)
    if input.ndim < 2:
        raise RuntimeError(f"{op}: expected input of at least 2 dims (N, C, *), got "
                           f"{tuple(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    if input.numel() == 0:
        return _empty_norm(input)
    g = num_groups
    shape = (n, g, c // g, -1)
    pshape = (g, c // g, 1)
    w = None if weight is None else reshape(_check_c(weight, c, "weight", op, input), pshape)
    b = None if bias is None else reshape(_check_c(bias, c, "bias", op, input), pshape)
    y, _ = _normalize(reshape(input, shape), (2, 3), eps, w, b)
    return reshape(y, tuple(input.shape))


def _check_c(t, c, name, op, input):
    if t.numel() != c:
        raise RuntimeError(f"{op}: expected {name} with {c} elements (one per channel of "
                           f"input {tuple(input.shape)}), got {tuple(t.shape)}")
    return t


@autocast_op("rms_norm")
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing dims (torch's rms_norm)."""
    ns = _shape_arg(normalized_shape)
    if tuple(input.shape[input.ndim - len(ns):]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(map(str, ns))}], but got input of size "
                           f"{list(input.shape)}")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    axes = tuple(range(input.ndim - len(ns), input.ndim))
    y = input * rsqrt((input * input).mean(axes, keepdim=True) + eps)
    return y if weight is None else y * weight


# ---------------------------------------------------------------- local response norm
def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """``x / (k + alpha/size * sum of x^2 over size neighbouring channels)^beta``
    (AlexNet's LRN; torch's window and padding)."""
    op = "local_response_norm"
    _floating(input, op)
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         f"dimensions)")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    sq = input * input
    pads = [0, 0] * (input.ndim - 2) + [size // 2, (size - 1) // 2]
    sq = pad(sq, tuple(pads))
    acc = narrow(sq, 1, 0, c)
    for j in range(1, size):
        acc = acc + narrow(sq, 1, j, c)
    div = (acc * (alpha / size) + k) ** beta
    return input / div
