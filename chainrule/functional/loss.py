"""Loss functions (torch.nn.functional's names, arguments and reductions).

Most losses are compositions of differentiable ops and need no backward of
their own.  Two pieces are Functions here:

* ``CrossEntropy`` fuses log-softmax and the negative log-likelihood (the hot
  path of every classifier); it is stable for any finite logits and its
  backward, ``(softmax * sum(q) - q) * scale``, is written with Tensor ops so
  double backward works.  ``tests/nn/test_losses.py`` checks it against the
  composed ``nll_loss(log_softmax(x))``.
* ``PickClass``/``PutClass`` gather the target-class entries along the class
  dim and scatter gradients back (each is the other's adjoint).

Every loss takes ``reduction='none'|'mean'|'sum'`` and the deprecated
``size_average``/``reduce`` where torch does.
"""
import warnings

import numpy as np

from chainrule import backend as B
from chainrule.core.function import Function
from chainrule.core import grad_mode as _gm
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.activation import log_softmax, softmax, logsigmoid
from chainrule.functional.elementwise import abs as _abs, clamp, log, where
from chainrule.functional.reduction import sum as _sum, mean as _mean
from chainrule.functional.shape import reshape

__all__ = [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss",
]


# ---------------------------------------------------------------- helpers
def _legacy_reduction(size_average, reduce, reduction):
    """torch's ``_Reduction.legacy_get_string``: the deprecated flags win."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{ret}' instead.", stacklevel=4)
    return ret


def _check_reduction(reduction, op, allowed=("none", "mean", "sum")):
    if reduction not in allowed:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction "
                         f"(expected one of {', '.join(map(repr, allowed))})")


def _reduction(op, size_average, reduce, reduction):
    """The validated reduction (the deprecated flags win, as in torch)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return _mean(loss)
    if reduction == "sum":
        return _sum(loss)
    return loss


def _shape(x):
    return tuple(x.shape)


def _floating(x, op, what="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected {what} to be a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected {what} to be a floating-point tensor, "
                           f"got {x.dtype}")
    return x


def _const(array, like):
    """A constant tensor (no grad) of ``like``'s dtype."""
    return _make(B.xp_of(like._data).asarray(array, dtype=like._data.dtype))


def _pair(input, target, op):
    """Check an (input, target) pair of a pointwise loss; warn like torch when
    the shapes differ (and so broadcast)."""
    _floating(input, op)
    _floating(target, op, "target")
    if _shape(target) != _shape(input):
        try:
            np.broadcast_shapes(_shape(input), _shape(target))
        except ValueError:
            raise RuntimeError(f"{op}: target {_shape(target)} is not broadcastable to "
                               f"input {_shape(input)}") from None
        warnings.warn(f"{op}: Using a target size ({_shape(target)}) that is different to "
                      f"the input size ({_shape(input)}). This will likely lead to "
                      f"incorrect results due to broadcasting. Please ensure they have "
                      f"the same size.", stacklevel=3)


def _elementwise_weight(loss, weight, input, reduction, op, mean_by_weight=True):
    """Per-element ``weight`` (same shape as ``input``), as torch's mse/l1/huber."""
    if weight is None:
        return _reduce(loss, reduction)
    if _shape(weight) != _shape(input):
        raise ValueError(f"{op}: Weights and input must have the same size, got weight "
                         f"{_shape(weight)} for input {_shape(input)}")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return _sum(loss) / _sum(weight)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- regression
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(input - target)^2`` (optionally weighted per element)."""
    reduction = _reduction("mse_loss", size_average, reduce, reduction)
    _pair(input, target, "mse_loss")
    d = input - target
    return _elementwise_weight(d * d, weight, input, reduction, "mse_loss")


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``|input - target|``."""
    reduction = _reduction("l1_loss", size_average, reduce, reduction)
    _pair(input, target, "l1_loss")
    return _elementwise_weight(_abs(input - target), weight, input, reduction, "l1_loss")


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",
                   beta=1.0):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``."""
    reduction = _reduction("smooth_l1_loss", size_average, reduce, reduction)
    _pair(input, target, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, "
                           f"got {beta}")
    d = input - target
    ad = _abs(d)
    if beta == 0:
        return _reduce(ad, reduction)
    quad = _make(ad._data < beta)
    return _reduce(where(quad, d * d * (0.5 / beta), ad - 0.5 * beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``."""
    _check_reduction(reduction, "huber_loss")
    _pair(input, target, "huber_loss")
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta, "
                           f"got {delta}")
    d = input - target
    ad = _abs(d)
    quad = _make(ad._data < delta)
    loss = where(quad, d * d * 0.5, (ad - 0.5 * delta) * delta)
    return _elementwise_weight(loss, weight, input, reduction, "huber_loss",
                               mean_by_weight=False)


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
        if self.needs_input_grad[1]:  # log(1 - x) - log(x)
            with np.errstate(divide="ignore"):
                gy_t = gy * (clamp(log(1 - x), min=-100.0) - clamp(log(x), min=-100.0))
        return gx, gy_t


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy between probabilities ``input`` and ``target``."""
    op = "binary_cross_entropy"
    reduction = _reduction(op, size_average, reduce, reduction)
    _floating(input, op)
    _floating(target, op, "target")
    if _shape(target) != _shape(input):
        raise ValueError(f"{op}: Using a target size ({_shape(target)}) that is different "
                         f"to the input size ({_shape(input)}) is deprecated. Please ensure "
                         f"they have the same size.")
    x = input._data
    if x.size and not bool(((x >= 0) & (x <= 1)).all()):
        raise RuntimeError(f"{op}: all elements of input should be between 0 and 1")
    loss = BinaryCrossEntropy()(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """``binary_cross_entropy(sigmoid(input), target)`` computed stably as
    ``(1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)``."""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(op, size_average, reduce, reduction)
    _floating(input, op)
    _floating(target, op, "target")
    if _shape(target) != _shape(input):
        raise ValueError(f"{op}: Target size ({_shape(target)}) must be the same as input "
                         f"size ({_shape(input)})")
    neg_softplus = logsigmoid(input)  # log sigmoid(x) = -softplus(-x), finite everywhere
    if pos_weight is None:
        loss = (1 - target) * input - neg_softplus
    else:
        loss = (1 - target) * input - ((pos_weight - 1) * target + 1) * neg_softplus
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- class targets
class PickClass(Function):
    """``x`` at the target class along ``dim`` (``idx`` has size 1 there); the
    class dim is dropped."""
    save_inputs = False

    def __init__(self, idx, dim):
        self.idx, self.dim = idx, dim

    def forward(self, x):
        return B.xp_of(x).take_along_axis(x, self.idx, axis=self.dim).squeeze(self.dim)

    def backward(self, gy):  # scatter gy into zeros at the target classes
        return PutClass(self.idx, self.dim, self._in_meta[0][0])(gy)


class PutClass(Function):
    """Zeros of ``shape`` with ``g`` placed at the target classes (adjoint of PickClass)."""
    save_inputs = False

    def __init__(self, idx, dim, shape):
        self.idx, self.dim, self.shape = idx, dim, shape

    def forward(self, g):
        xp = B.xp_of(g)
        return xp.where(_class_mask(xp, self.idx, self.dim, self.shape[self.dim]),
                        xp.expand_dims(g, self.dim), g.dtype.type(0))

    def backward(self, gg):  # adjoint of scatter is gather
        return PickClass(self.idx, self.dim)(gg)


def _class_mask(xp, idx, dim, n):
    """Boolean one-hot along ``dim`` (``idx`` has size 1 there)."""
    shape = [1] * idx.ndim
    shape[dim] = n
    return idx == xp.arange(n).reshape(shape)


class _Targets:
    """Validated class-index targets of ``input`` (class dim 1, or 0 when unbatched)."""

    def __init__(self, input, target, weight, ignore_index, op):
        x = input._data
        self.dim = 0 if x.ndim == 1 else 1
        self.n = n = x.shape[self.dim]
        want = _shape(input)[:self.dim] + _shape(input)[self.dim + 1:]
        t = target._data
        if t.dtype.kind not in "iu":
            raise RuntimeError(f"{op}: expected target of class indices with an integer "
                               f"dtype (like int64), got {target.dtype}")
        if t.shape != want:
            raise ValueError(f"{op}: expected target {want} for input {_shape(input)}, "
                             f"got {tuple(t.shape)}")
        xp = B.xp_of(x)
        valid = t != ignore_index
        bad = valid & ((t < 0) | (t >= n))
        if bad.any():
            raise IndexError(f"{op}: target {int(t[bad].reshape(-1)[0])} is out of bounds "
                             f"for {n} classes (input {_shape(input)})")
        self.idx = xp.expand_dims(xp.where(valid, t, 0).astype(np.int64), self.dim)
        self.valid = valid
        self.w = _class_weight(weight, n, op, x.dtype)
        self.wy = valid.astype(x.dtype) if self.w is None else \
            xp.where(valid, self.w[self.idx.squeeze(self.dim)], 0).astype(x.dtype)


def _class_weight(weight, n, op, dtype):
    if weight is None:
        return None
    if not isinstance(weight, Tensor) or _shape(weight) != (n,):
        shape = _shape(weight) if isinstance(weight, Tensor) else type(weight).__name__
        raise RuntimeError(f"{op}: weight tensor should be defined either for all {n} "
                           f"classes or no classes but got weight tensor of shape: {shape}")
    return weight._data.astype(dtype, copy=False)


def _bcast_class(vec, dim, ndim):
    """A (C,) vector shaped to broadcast along class dim ``dim``."""
    shape = [1] * ndim
    shape[dim] = vec.shape[0]
    return vec.reshape(shape)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` at class ``target``.

    Shapes: input (C,), (N, C) or (N, C, d1, ...); target (), (N,) or (N, d1, ...).
    'mean' divides by the summed weights of the non-ignored targets.
    """
    op = "nll_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _floating(input, op)
    if input.ndim < 1:
        raise ValueError(f"{op}: input must have at least 1 dimension, got {_shape(input)}")
    if not isinstance(target, Tensor):
        raise TypeError(f"{op}: expected target to be a Tensor, got {type(target).__name__}")
    tg = _Targets(input, target, weight, ignore_index, op)
    loss = -PickClass(tg.idx, tg.dim)(input) * _const(tg.wy, input)
    if reduction == "none":
        return loss
    total = _sum(loss)
    if reduction == "sum":
        return total
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / _const(tg.wy.sum(), input)


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
        return _bcast_class(self.w, self.dim, ndim)

    def forward(self, x, t=None):
        xp, d = B.xp_of(x), self.dim
        z = x - x.max(axis=d, keepdims=True)
        p = xp.exp(z)
        se = p.sum(axis=d, keepdims=True)
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
        q = xp.where(_class_mask(xp, tg.idx, d, tg.n),
                     xp.expand_dims(tg.wy * (1 - eps), d), 0).astype(dtype)
        if eps:
            w = xp.ones(tg.n, dtype=dtype) if self.w is None else self.w
            q += _bcast_class(w, d, ndim) * (eps / tg.n) * xp.expand_dims(tg.valid, d)
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
            gx -= xp.where(_class_mask(xp, tg.idx, d, tg.n), a, 0)
        if eps:
            w = 1.0 if self.w is None else self._wb(p.ndim)
            gx -= w * xp.expand_dims(s * tg.valid, d) * (eps / tg.n)
        return _make(gx.astype(p.dtype, copy=False))

    def backward(self, gy):  # d/dx = softmax(x) * sum(q) - q;  d/dt = -(1 - eps) w log p
        x, d = self.inputs[0], self.dim
        if len(self.inputs) == 1:
            if not _gm._State.enabled:
                return self._class_grad(gy._data),
            q = _const(self._class_q(B.xp_of(x._data), x._data.dtype, x.ndim), x)
        else:
            t = self.inputs[1]
            q = t * (1 - self.eps) + self.eps / x.shape[d] if self.eps else t
            if self.w is not None:
                q = q * _const(self._wb(x.ndim), x)
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
                gt = gt * _const(self._wb(x.ndim), x)
        return gx, gt

    def _release_extra(self):
        self.p = self.tg = None


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
    reduction = _reduction(op, size_average, reduce, reduction)
    _floating(input, op)
    if not isinstance(target, Tensor):
        raise TypeError(f"{op}: expected target to be a Tensor, got {type(target).__name__}")
    if input.ndim < 1:
        raise ValueError(f"{op}: input must have at least 1 dimension, got {_shape(input)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    x = input._data
    eps = float(label_smoothing)
    if target._data.dtype.kind == "f" and _shape(target) == _shape(input):
        if ignore_index >= 0:
            raise RuntimeError(f"{op}: ignore_index is not supported for floating point "
                               f"target")
        dim = 0 if x.ndim == 1 else 1
        n = x.shape[dim]
        w = _class_weight(weight, n, op, x.dtype)
        denom = float(x.size // n) if n else 0.0
        return CrossEntropy(dim, reduction, denom, w=w, eps=eps)(input, target)
    if target._data.dtype.kind == "f":
        want = _shape(input)[:1] + _shape(input)[2:] if x.ndim > 1 else ()
        raise ValueError(f"{op}: expected target {want} of class indices (integer dtype) "
                         f"or {_shape(input)} of class probabilities for input "
                         f"{_shape(input)}, got {_shape(target)} {target.dtype}")
    tg = _Targets(input, target, weight, ignore_index, op)
    return CrossEntropy(tg.dim, reduction, float(tg.wy.sum()), tg=tg, eps=eps)(input)


from chainrule.functional.loss_extra import *  # noqa: F401,F403,E402
from chainrule.functional.loss_extra import __all__ as _extra_all  # noqa: E402

__all__ += _extra_all
