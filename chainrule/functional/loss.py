"""Classification, regression and likelihood losses (torch.nn.functional's names,
arguments and reductions); margin, ranking and embedding losses are in ``loss_margin.py``.

Most losses are compositions of differentiable ops and need no backward of
their own.  These pieces are Functions here:

* ``CrossEntropy`` fuses log-softmax and the negative log-likelihood (the hot
  path of every classifier); it is stable for any finite logits and its
  backward, ``(softmax * sum(q) - q) * scale``, is written with Tensor ops so
  double backward works.  ``tests/nn/test_losses.py`` checks it against the
  composed ``nll_loss(log_softmax(x))``.
* ``PickClass``/``PutClass`` gather the target-class entries along the class
  dim and scatter gradients back (each is the other's adjoint).
* ``BinaryCrossEntropy`` (clamped logs, as torch) and
  ``BinaryCrossEntropyWithLogits`` (fused so that confident logits keep their
  ~e^-|x| losses and gradients, which the composed form cancels to 0).

Every loss takes ``reduction='none'|'mean'|'sum'`` and the deprecated
``size_average``/``reduce`` where torch does.
"""
import math
import numbers
import warnings

import numpy as np

from chainrule import backend as B
from chainrule.core import dtype as D
from chainrule.core.function import Function
from chainrule.core import grad_mode as _gm
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.autocast import autocast_op
from chainrule.functional.binary import cast
from chainrule.functional.activation import log_softmax, softmax, logsigmoid
from chainrule.functional.elementwise import abs as _abs, clamp, exp, log, sigmoid
from chainrule.functional.masking import where
from chainrule.functional.reduction import sum as _sum
from chainrule.functional.shape import reshape
from chainrule.functional.loss_util import (
    ClassTargets, PickClass, bcast_class, check_floating, check_pair, check_reduction, class_mask,
    class_weight, const_like, in_dtype_of, legacy_reduction, reduce_loss, reduction_mode, shape_of)

__all__ = [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div",
    "poisson_nll_loss", "gaussian_nll_loss",
]


# ---------------------------------------------------------------- helpers
def _elementwise_weight(loss, weight, input, reduction, op, mean_by_weight=True):
    """Per-element ``weight`` (same shape as ``input``), as torch's mse/l1/huber."""
    if weight is None:
        return reduce_loss(loss, reduction)
    if shape_of(weight) != shape_of(input):
        raise ValueError(f"{op}: Weights and input must have the same size, got weight "
                         f"{shape_of(weight)} for input {shape_of(input)}")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return _sum(loss) / _sum(weight)
    return reduce_loss(loss, reduction)


# ---------------------------------------------------------------- regression
@autocast_op("mse_loss")
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(input - target)^2`` (optionally weighted per element)."""
    reduction = reduction_mode("mse_loss", size_average, reduce, reduction)
    check_pair(input, target, "mse_loss")
    d = input - target
    return _elementwise_weight(d * d, weight, input, reduction, "mse_loss")


@autocast_op("l1_loss")
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``|input - target|``."""
    reduction = reduction_mode("l1_loss", size_average, reduce, reduction)
    check_pair(input, target, "l1_loss")
    return _elementwise_weight(_abs(input - target), weight, input, reduction, "l1_loss")


class _Huber(Function):
    """The elementwise loss of ``smooth_l1_loss`` (``smooth_l1``: ``0.5 d^2 / b`` where
    ``|d| < b``, else ``|d| - 0.5 b``) and ``huber_loss`` (``0.5 d^2``, else
    ``b (|d| - 0.5 b)``) of the difference ``d``, one Function instead of eight ops.
    NaN takes the quadratic branch, as in torch.  Derivative: ``clip(d / b, -1, 1)``
    and ``clip(d, -b, b)`` (torch's kernels: +-1 and +-b beyond the bend, NaN kept)."""

    def __init__(self, b, smooth_l1):
        self.b, self.smooth_l1 = float(b), smooth_l1

    def forward(self, d):
        xp, b = B.xp_of(d), self.b
        ad = xp.abs(d)
        quad = ~(ad >= b)
        if self.smooth_l1:
            q, lin = d * d * (0.5 / b), ad - 0.5 * b
        else:
            q, lin = d * d * 0.5, (ad - 0.5 * b) * b
        return B.kernels_of(d).select(quad, xp.asarray(q, d.dtype), xp.asarray(lin, d.dtype))

    def backward(self, gy):
        d, b = self.inputs[0], self.b
        if self.smooth_l1:
            return gy * (d / b).clamp(-1.0, 1.0)
        return gy * d.clamp(-b, b)


@autocast_op("smooth_l1_loss")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",
                   beta=1.0):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``."""
    reduction = reduction_mode("smooth_l1_loss", size_average, reduce, reduction)
    check_pair(input, target, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, "
                           f"got {beta}")
    d = input - target
    if beta == 0:
        return reduce_loss(_abs(d), reduction)
    return reduce_loss(_Huber(beta, smooth_l1=True)(d), reduction)


@autocast_op("huber_loss")
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``."""
    check_reduction(reduction, "huber_loss")
    check_pair(input, target, "huber_loss")
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta, "
                           f"got {delta}")
    loss = _Huber(delta, smooth_l1=False)(input - target)
    return in_dtype_of(_elementwise_weight(loss, weight, input, reduction, "huber_loss",
                                           mean_by_weight=False), input)


# ---------------------------------------------------------------- binary
class BinaryCrossEntropy(Function):
    """``-(y log x + (1 - y) log(1 - x))`` with both logs clamped at -100 (like torch)."""

    def forward(self, x, y):
        xp = B.xp_of(x)
        with np.errstate(divide="ignore"):
            lx = xp.maximum(xp.log(x), -100)
            l1x = xp.maximum(xp.log1p(-x), -100)
        return (-(y * lx + (1 - y) * l1x)).astype(x.dtype, copy=False)

    def backward(self, gy):
        x, y = self.inputs
        gx = gy_t = None
        if self.needs_input_grad[0]:  # (x - y) / (x (1 - x)), denominator kept >= 1e-12
            gx = gy * (x - y) / clamp(x * (1 - x), min=1e-12)
        if self.needs_input_grad[1]:  # -logit(x), not clamped (torch's target backward)
            with np.errstate(divide="ignore", invalid="ignore"):
                gy_t = gy * -log(x / (1 - x))
        return gx, gy_t


@autocast_op("binary_cross_entropy")
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy between probabilities ``input`` and ``target``."""
    op = "binary_cross_entropy"
    reduction = reduction_mode(op, size_average, reduce, reduction)
    check_floating(input, op)
    check_floating(target, op, "target")
    if shape_of(target) != shape_of(input):
        raise ValueError(f"{op}: Using a target size ({shape_of(target)}) that is different "
                         f"to the input size ({shape_of(input)}) is deprecated. Please ensure "
                         f"they have the same size.")
    x = input._data
    if x.size and not bool(((x >= 0) & (x <= 1)).all()):
        raise RuntimeError(f"{op}: all elements of input should be between 0 and 1")
    loss = BinaryCrossEntropy()(input, target)
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction)


class BinaryCrossEntropyWithLogits(Function):
    """``(1 - y) x - log sigmoid(x)`` fused, for ``pos_weight=None``.

    Forward: ``(1 - y) x + max(-x, 0) + log1p(e^-|x|)``, which keeps the small losses of
    confident logits (x = -20, y = 0 gives 2.1e-9, where ``x - logsigmoid(x)`` cancels
    to 0 in float32).  Backward: d/dx = ``sigmoid(x) - y`` (the composed form's
    ``(1 - y) - sigmoid(-x)`` cancels to 0 where torch gives e.g. 2.1e-9), d/dy = ``-x``;
    both written with Tensor ops, so double backward works.
    """

    def forward(self, x, y):
        xp = B.xp_of(x)
        loss = (1 - y) * x + xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        return loss.astype(xp.result_type(x, y), copy=False)

    def backward(self, gy):
        x, y = self.inputs
        gx = gy * (sigmoid(x) - y) if self.needs_input_grad[0] else None
        gt = gy * -x if self.needs_input_grad[1] else None
        return gx, gt


@autocast_op("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """``binary_cross_entropy(sigmoid(input), target)`` computed stably as
    ``(1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)``."""
    op = "binary_cross_entropy_with_logits"
    reduction = reduction_mode(op, size_average, reduce, reduction)
    check_floating(input, op)
    check_floating(target, op, "target")
    if shape_of(target) != shape_of(input):
        raise ValueError(f"{op}: Target size ({shape_of(target)}) must be the same as input "
                         f"size ({shape_of(input)})")
    if pos_weight is None:
        loss = BinaryCrossEntropyWithLogits()(input, target)
    else:  # log sigmoid(x) = -softplus(-x), finite everywhere
        loss = (1 - target) * input - ((pos_weight - 1) * target + 1) * logsigmoid(input)
    if weight is not None:
        loss = loss * weight
    return in_dtype_of(reduce_loss(loss, reduction), target)


@autocast_op("nll_loss")
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` at class ``target``.

    Shapes: input (C,), (N, C) or (N, C, d1, ...); target (), (N,) or (N, d1, ...).
    'mean' divides by the summed weights of the non-ignored targets.
    """
    op = "nll_loss"
    reduction = reduction_mode(op, size_average, reduce, reduction)
    check_floating(input, op)
    if input.ndim < 1:
        raise ValueError(f"{op}: input must have at least 1 dimension, got {shape_of(input)}")
    if not isinstance(target, Tensor):
        raise TypeError(f"{op}: expected target to be a Tensor, got {type(target).__name__}")
    tg = ClassTargets(input, target, weight, ignore_index, op)
    loss = -PickClass(tg.idx, tg.dim)(input) * const_like(tg.wy, input)
    if reduction == "none":
        return loss
    total = _sum(loss)
    if reduction == "sum":
        return total
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / const_like(tg.wy.sum(), input)


class CrossEntropy(Function):
    """Fused ``-sum_c q_c log_softmax(x)_c`` along ``dim``, reduced.

    ``q`` is the effective target: for class indices ``(1 - eps) w_y onehot(y) +
    (eps / C) w`` on non-ignored entries (``tg`` holds y, w_y and the mask; the
    first-order path never builds q densely), for probability targets
    ``((1 - eps) t + eps / C) w`` (then ``t`` is input 1 and gets a gradient).
    """

    def __init__(self, dim, reduction, denom, tg=None, w=None, eps=0.0):
        self.dim, self.reduction, self.denom = dim, reduction, denom
        self.tg, self.eps = tg, eps
        self.w = tg.w if tg is not None else w

    def _wb(self, ndim):
        return bcast_class(self.w, self.dim, ndim)

    def forward(self, x, t=None):
        xp, d = B.xp_of(x), self.dim
        z = x - x.max(axis=d, keepdims=True) if x.shape[d] else x   # no classes: empty
        p = xp.exp(z)
        se = p.sum(axis=d, keepdims=True)
        with np.errstate(divide="ignore"):   # no classes: log(0)
            lse = xp.log(se)
        p /= se
        self.p = p  # softmax, kept for the first-order backward
        if t is None:
            loss = self._class_loss(z, lse)
        else:
            loss = -(self._prob_q(t.astype(x.dtype, copy=False)) * (z - lse)).sum(axis=d)
        if self.reduction != "none":
            with np.errstate(invalid="ignore", divide="ignore"):
                loss = loss.sum() / self.denom if self.reduction == "mean" else loss.sum()
        return xp.asarray(loss, dtype=x.dtype)

    def _class_loss(self, z, lse):
        xp, d, tg, eps, n = B.xp_of(z), self.dim, self.tg, self.eps, z.shape[self.dim]
        lse = lse.squeeze(d)
        zy = xp.take_along_axis(z, tg.idx, axis=d).squeeze(d)
        loss = (lse - zy) * (tg.wy * (1 - eps))
        if eps:  # -(eps / C) sum_c w_c log p_c = (eps / C) (sum(w) lse - sum_c w_c z_c)
            wz = z.sum(axis=d) if self.w is None else (z * self._wb(z.ndim)).sum(axis=d)
            wsum = n if self.w is None else self.w.sum()
            loss = loss + (wsum * lse - wz) * (eps / n) * tg.valid
        return loss

    def _prob_q(self, t):
        q = t * (1 - self.eps) + self.eps / t.shape[self.dim] if self.eps else t
        return q if self.w is None else q * self._wb(t.ndim)

    def _class_q(self, xp, dtype, ndim):
        """The dense effective target (for the higher-order path)."""
        tg, d, eps = self.tg, self.dim, self.eps
        q = xp.where(class_mask(xp, tg.idx, d, tg.n),
                     xp.expand_dims(tg.wy * (1 - eps), d), 0).astype(dtype)
        if eps:
            w = xp.ones(tg.n, dtype=dtype) if self.w is None else self.w
            q += bcast_class(w, d, ndim) * (eps / tg.n) * xp.expand_dims(tg.valid, d)
        return q

    def _scale(self, gy):
        """gy with the 'mean' division, broadcastable against the input."""
        if self.reduction == "none":
            shape = list(gy.shape)
            shape.insert(self.dim, 1)
            return reshape(gy, tuple(shape))
        if self.reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                return gy / self.denom
        return gy

    def _class_grad(self, gy):
        """First-order gradient on raw arrays: ``softmax * sum(q) - q`` without a dense q."""
        p, d, tg, eps = self.p, self.dim, self.tg, self.eps
        xp = B.xp_of(p)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = gy / self.denom if self.reduction == "mean" else gy
        s = xp.broadcast_to(s, tg.wy.shape)
        a = s * tg.wy * (1 - eps)  # the one-hot part of q, scaled
        qsum = a
        if eps:
            wsum = tg.n if self.w is None else self.w.sum()
            qsum = a + s * tg.valid * (wsum * eps / tg.n)
        gx = p * xp.expand_dims(qsum, d)
        a = xp.expand_dims(a, d)
        if hasattr(xp, "put_along_axis"):
            cur = xp.take_along_axis(gx, tg.idx, axis=d)
            xp.put_along_axis(gx, tg.idx, cur - a, axis=d)
        else:  # pragma: no cover - array modules without put_along_axis
            gx -= xp.where(class_mask(xp, tg.idx, d, tg.n), a, 0)
        if eps:
            w = 1.0 if self.w is None else self._wb(p.ndim)
            gx -= w * xp.expand_dims(s * tg.valid, d) * (eps / tg.n)
        return _make(gx.astype(p.dtype, copy=False))

    def backward(self, gy):  # d/dx = softmax(x) * sum(q) - q;  d/dt = -(1 - eps) w log p
        x, d = self.inputs[0], self.dim
        if len(self.inputs) == 1:
            if not _gm._State.enabled:
                return self._class_grad(gy._data),
            q = const_like(self._class_q(B.xp_of(x._data), x._data.dtype, x.ndim), x)
        else:
            t = self.inputs[1]
            q = t * (1 - self.eps) + self.eps / x.shape[d] if self.eps else t
            if self.w is not None:
                q = q * const_like(self._wb(x.ndim), x)
        g = self._scale(gy)
        gx = gt = None
        if self.needs_input_grad[0]:
            p = softmax(x, d) if _gm._State.enabled else _make(self.p)
            gx = g * (p * q.sum(d, keepdim=True) - q)
        if len(self.inputs) == 1:
            return gx,
        if self.needs_input_grad[1]:
            gt = g * log_softmax(x, d) * -(1 - self.eps)
            if self.w is not None:
                gt = gt * const_like(self._wb(x.ndim), x)
        return gx, gt

    def _release_extra(self):
        self.p = self.tg = None


@autocast_op("cross_entropy")
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits ``input`` and class-index or probability targets.

    Shapes: input (C,), (N, C) or (N, C, d1, ...) with classes along dim 1 (dim 0
    when unbatched); target of class indices (), (N,) or (N, d1, ...), or of class
    probabilities with the input's shape.  ``weight`` (C,) rescales each class;
    ``label_smoothing`` mixes the target with the uniform distribution.  Fused
    and stable for logits of any magnitude.

    >>> import chainrule as cr, chainrule.nn.functional as F
    >>> F.cross_entropy(cr.tensor([[2.0, 0.0, 0.0]]), cr.tensor([0])).item() < 0.25
    True
    """
    op = "cross_entropy"
    reduction = reduction_mode(op, size_average, reduce, reduction)
    check_floating(input, op)
    if not isinstance(target, Tensor):
        raise TypeError(f"{op}: expected target to be a Tensor, got {type(target).__name__}")
    if input.ndim < 1:
        raise ValueError(f"{op}: input must have at least 1 dimension, got {shape_of(input)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    x = input._data
    eps = float(label_smoothing)
    if target._data.dtype.kind == "f" and shape_of(target) == shape_of(input):
        if ignore_index >= 0:
            raise RuntimeError(f"{op}: ignore_index is not supported for floating point "
                               f"target")
        dt = D.result_type(x, target._data)  # probability targets promote (like torch)
        input, target, x = cast(input, dt), cast(target, dt), x.astype(dt, copy=False)
        dim = 0 if x.ndim == 1 else 1
        n = x.shape[dim]
        w = class_weight(weight, n, op, x.dtype)
        denom = float(x.size // n) if n else 0.0
        return CrossEntropy(dim, reduction, denom, w=w, eps=eps)(input, target)
    if target._data.dtype.kind == "f":
        want = shape_of(input)[:1] + shape_of(input)[2:] if x.ndim > 1 else ()
        raise ValueError(f"{op}: expected target {want} of class indices (integer dtype) "
                         f"or {shape_of(input)} of class probabilities for input "
                         f"{shape_of(input)}, got {shape_of(target)} {target.dtype}")
    tg = ClassTargets(input, target, weight, ignore_index, op)
    return CrossEntropy(tg.dim, reduction, float(tg.wy.sum()), tg=tg, eps=eps)(input)


# ---------------------------------------------------------------- divergences
def _xlogx(t):
    """``t log t`` with ``0 log 0 = 0``."""
    pos = _make(t._data > 0)
    return where(pos, t * log(where(pos, t, 1.0)), 0.0)


@autocast_op("kl_div")
def kl_div(input, target, size_average=None, reduce=None, reduction="mean",
           log_target=False):
    """KL divergence ``target * (log target - input)``, ``input`` in log space.

    ``reduction='batchmean'`` divides the sum by the batch size (the true KL
    divergence); 'mean' divides by the number of elements and warns like torch.
    """
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                      "the support size.'batchmean' divides only by the batch size, and "
                      "aligns with the KL div math definition.'mean' will be changed to "
                      "behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    check_reduction(reduction, op, ("none", "batchmean", "mean", "sum"))
    check_pair(input, target, op)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        loss = _xlogx(target) - target * input
    if reduction == "batchmean":
        total = _sum(loss)
        return total / input.shape[0] if input.ndim else total
    return reduce_loss(loss, reduction)


@autocast_op("poisson_nll_loss")
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log-likelihood: ``exp(input) - target * input`` when
    ``log_input``, else ``input - target * log(input + eps)``; ``full`` adds
    Stirling's approximation of ``log(target!)`` for targets above 1."""
    op = "poisson_nll_loss"
    reduction = reduction_mode(op, size_average, reduce, reduction)
    check_pair(input, target, op)
    if log_input:
        loss = exp(input) - target * input
    else:
        loss = input - target * log(input + eps)
    if full:
        big = _make(target._data > 1)
        ts = where(big, target, 2.0)
        stirling = ts * log(ts) - ts + log(ts * (2 * math.pi)) * 0.5
        loss = loss + where(big, stirling, 0.0)
    return reduce_loss(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood ``0.5 (log var + (input - target)^2 / var)``.

    ``var`` has the input's shape, or one fewer trailing dim / a trailing 1
    (homoscedastic), or is a number.  It is clamped at ``eps`` for the value
    only; the gradient passes through as in torch.
    """
    op = "gaussian_nll_loss"
    check_floating(input, op)
    if isinstance(var, numbers.Real):
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries")
        var = const_like(B.xp_of(input._data).full(input._data.shape, float(var)), input)
    elif bool((var._data < 0).any()):
        raise ValueError(f"{op}: var has negative entry/entries")
    if shape_of(var) != shape_of(input):
        if shape_of(input)[:-1] == shape_of(var):
            var = reshape(var, shape_of(var) + (1,))
        elif not (var.ndim == input.ndim and sum(
                b for a, b in zip(shape_of(input), shape_of(var)) if a != b) == 1):
            raise ValueError(f"{op}: var is of incorrect size: {shape_of(var)} for input "
                             f"{shape_of(input)}")
    check_reduction(reduction, op)
    v = var._data
    var = var + const_like(B.xp_of(v).maximum(v, eps) - v, var)  # clamp the value, not the grad
    d = input - target
    loss = (log(var) + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)
