"""Divergence, margin and embedding losses (torch.nn.functional's names).

Split from :mod:`chainrule.functional.loss`, whose helpers they share; all are
compositions of differentiable ops with no backward of their own.
"""
import math
import numbers
import warnings


from chainrule import backend as B
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.activation import logsigmoid, pairwise_distance
from chainrule.functional.elementwise import clamp, exp, log, minimum, sqrt, where
from chainrule.functional.reduction import sum as _sum
from chainrule.functional.shape import reshape
from chainrule.functional.loss import (
    _legacy_reduction, _check_reduction, _reduction, _reduce, _shape, _floating, _const,
    _pair, _Targets, PickClass, _class_mask)

__all__ = ["kl_div", "margin_ranking_loss", "triplet_margin_loss", "cosine_embedding_loss",
           "hinge_embedding_loss", "soft_margin_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "multilabel_soft_margin_loss", "multi_margin_loss"]


# ---------------------------------------------------------------- divergences
def _xlogx(t):
    """``t log t`` with ``0 log 0 = 0``."""
    pos = _make(t._data > 0)
    return where(pos, t * log(where(pos, t, 1.0)), 0.0)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean",
           log_target=False):
    """KL divergence ``target * (log target - input)``, ``input`` in log space.

    ``reduction='batchmean'`` divides the sum by the batch size (the true KL
    divergence); 'mean' divides by the number of elements and warns like torch.
    """
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                      "the support size.'batchmean' divides only by the batch size, and "
                      "aligns with the KL div math definition.'mean' will be changed to "
                      "behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    _check_reduction(reduction, op, ("none", "batchmean", "mean", "sum"))
    _pair(input, target, op)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        loss = _xlogx(target) - target * input
    if reduction == "batchmean":
        total = _sum(loss)
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log-likelihood: ``exp(input) - target * input`` when
    ``log_input``, else ``input - target * log(input + eps)``; ``full`` adds
    Stirling's approximation of ``log(target!)`` for targets above 1."""
    op = "poisson_nll_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _pair(input, target, op)
    if log_input:
        loss = exp(input) - target * input
    else:
        loss = input - target * log(input + eps)
    if full:
        big = _make(target._data > 1)
        ts = where(big, target, 2.0)
        stirling = ts * log(ts) - ts + log(ts * (2 * math.pi)) * 0.5
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood ``0.5 (log var + (input - target)^2 / var)``.

    ``var`` has the input's shape, or one fewer trailing dim / a trailing 1
    (homoscedastic), or is a number.  It is clamped at ``eps`` for the value
    only; the gradient passes through as in torch.
    """
    op = "gaussian_nll_loss"
    _floating(input, op)
    if isinstance(var, numbers.Real):
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries")
        var = _const(B.xp_of(input._data).full(input._data.shape, float(var)), input)
    elif bool((var._data < 0).any()):
        raise ValueError(f"{op}: var has negative entry/entries")
    if _shape(var) != _shape(input):
        if _shape(input)[:-1] == _shape(var):
            var = reshape(var, _shape(var) + (1,))
        elif not (var.ndim == input.ndim and sum(
                b for a, b in zip(_shape(input), _shape(var)) if a != b) == 1):
            raise ValueError(f"{op}: var is of incorrect size: {_shape(var)} for input "
                             f"{_shape(input)}")
    _check_reduction(reduction, op)
    v = var._data
    var = var + _const(B.xp_of(v).maximum(v, eps) - v, var)  # clamp the value, not the grad
    d = input - target
    loss = (log(var) + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- margins and embeddings
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)``, target in {1, -1}."""
    op = "margin_ranking_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"{op}: All input tensors should have same dimension but got "
                           f"sizes: input1: {_shape(input1)}, input2: {_shape(input2)}, "
                           f"target: {_shape(target)}")
    return _reduce(clamp(-target * (input1 - input2) + margin, min=0.0), reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """``max(d(a, p) - d(a, n) + margin, 0)`` with ``d`` the p-norm pairwise distance;
    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance."""
    op = "triplet_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    a, pz, n = anchor.ndim, positive.ndim, negative.ndim
    if not a == pz == n:
        raise RuntimeError(f"{op}: The anchor, positive, and negative tensors are expected "
                           f"to have the same number of dimensions, but got: anchor {a}D, "
                           f"positive {pz}D, and negative {n}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(clamp(d_pos - d_neg + margin, min=0.0), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """``1 - cos(x1, x2)`` for target 1, ``max(0, cos(x1, x2) - margin)`` for -1."""
    op = "cosine_embedding_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    td = target.ndim
    if td not in (0, 1):
        raise RuntimeError(f"{op}: 0D or 1D target tensor expected, multi-target not "
                           f"supported, got target {_shape(target)}")
    if not input1.ndim == input2.ndim == td + 1:
        raise RuntimeError(f"{op}: expected {td + 1}D inputs for a {td}D target "
                           f"{_shape(target)}, got input1 {_shape(input1)} and input2 "
                           f"{_shape(input2)}")
    prod = (input1 * input2).sum(td)
    mag = sqrt(((input1 * input1).sum(td) + 1e-12) * ((input2 * input2).sum(td) + 1e-12))
    cos = prod / mag
    t = target._data
    loss = where(_make(t == 1), 1 - cos, 0.0) + \
        where(_make(t == -1), clamp(cos - margin, min=0.0), 0.0)
    return _reduce(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """``input`` where target is 1, ``max(0, margin - input)`` where it is -1."""
    op = "hinge_embedding_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    t = target._data
    loss = where(_make(t != 1), clamp(margin - input, min=0.0), 0.0) + \
        where(_make(t != -1), input, 0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Two-class logistic loss ``log(1 + exp(-target * input))`` (stable)."""
    op = "soft_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _pair(input, target, op)
    return _reduce(-logsigmoid(input * target), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Multi-label one-vs-all logistic loss, averaged over the classes (last dim)."""
    op = "multilabel_soft_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _pair(input, target, op)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    c = input.ndim - 1
    loss = loss.sum(c) / input.shape[c]
    return _reduce(loss, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Multi-class hinge loss: ``sum_{j != y} max(0, margin - x_y + x_j)^p / C``,
    scaled by ``weight[y]``.  input (N, C) or (C,), target (N,) or ()."""
    op = "multi_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _floating(input, op)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 supported, got {p}")
    if input.ndim not in (1, 2):
        raise ValueError(f"{op}: expected input (N, C) or (C,), got {_shape(input)}")
    if not isinstance(target, Tensor):
        raise TypeError(f"{op}: expected target to be a Tensor, got {type(target).__name__}")
    tg = _Targets(input, target, weight, -(2 ** 62), op)
    d = tg.dim
    xy = reshape(PickClass(tg.idx, d)(input), _shape(input)[:d] + (1,))
    h = clamp(input - xy + margin, min=0.0)
    if p == 2:
        h = h * h
    others = ~_class_mask(B.xp_of(input._data), tg.idx, d, tg.n)
    loss = (h * _const(others, input)).sum(d) / tg.n
    if weight is not None:
        loss = loss * _const(tg.wy, input)
    return _reduce(loss, reduction)
