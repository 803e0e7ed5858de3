"""Margin, ranking and embedding losses (torch.nn.functional's names).

They share ``loss_util``'s helpers with ``loss.py``; all are compositions of
differentiable ops with no backward of their own.
"""
from chainrule import backend as B
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.autocast import autocast_op
from chainrule.functional.activation import logsigmoid, pairwise_distance
from chainrule.functional.elementwise import clamp, minimum, sqrt
from chainrule.functional.masking import where
from chainrule.functional.scatter import gather
from chainrule.functional.shape import reshape
from chainrule.functional.loss_util import (
    ClassTargets, PickClass, check_floating, check_pair, class_mask, const_like, in_dtype_of,
    reduce_loss, reduction_mode, shape_of)

__all__ = ["margin_ranking_loss", "triplet_margin_loss", "cosine_embedding_loss",
           "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "multi_margin_loss", "multilabel_margin_loss", "triplet_margin_with_distance_loss"]


# ---------------------------------------------------------------- margins and embeddings
@autocast_op("margin_ranking_loss")
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)``, target in {1, -1}."""
    op = "margin_ranking_loss"
    reduction = reduction_mode(op, size_average, reduce, reduction)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"{op}: All input tensors should have same dimension but got "
                           f"sizes: input1: {shape_of(input1)}, input2: {shape_of(input2)}, "
                           f"target: {shape_of(target)}")
    return reduce_loss(clamp(-target * (input1 - input2) + margin, min=0.0), reduction)


@autocast_op("triplet_margin_loss")
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """``max(d(a, p) - d(a, n) + margin, 0)`` with ``d`` the p-norm pairwise distance;
    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance."""
    reduction = reduction_mode("triplet_margin_loss", size_average, reduce, reduction)
    return _triplet("triplet_margin_loss", anchor, positive, negative,
                    lambda x, y: pairwise_distance(x, y, p, eps), margin, swap, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """The triplet loss with any ``distance_function`` (default ``pairwise_distance``)."""
    op = "triplet_margin_with_distance_loss"
    reduction = reduction_mode(op, None, None, reduction)
    return _triplet(op, anchor, positive, negative, distance_function or pairwise_distance,
                    margin, swap, reduction)


def _triplet(op, anchor, positive, negative, dist, margin, swap, reduction):
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    a, pz, n = anchor.ndim, positive.ndim, negative.ndim
    if not a == pz == n:
        raise RuntimeError(f"{op}: The anchor, positive, and negative tensors are expected "
                           f"to have the same number of dimensions, but got: anchor {a}D, "
                           f"positive {pz}D, and negative {n}D inputs")
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = minimum(d_neg, dist(positive, negative))
    return reduce_loss(clamp(d_pos - d_neg + margin, min=0.0), reduction)


@autocast_op("cosine_embedding_loss")
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """``1 - cos(x1, x2)`` for target 1, ``max(0, cos(x1, x2) - margin)`` for -1."""
    op = "cosine_embedding_loss"
    reduction = reduction_mode(op, size_average, reduce, reduction)
    td = target.ndim
    if td not in (0, 1):
        raise RuntimeError(f"{op}: 0D or 1D target tensor expected, multi-target not "
                           f"supported, got target {shape_of(target)}")
    if not input1.ndim == input2.ndim == td + 1:
        raise RuntimeError(f"{op}: expected {td + 1}D inputs for a {td}D target "
                           f"{shape_of(target)}, got input1 {shape_of(input1)} and input2 "
                           f"{shape_of(input2)}")
    prod = (input1 * input2).sum(td)
    mag = sqrt(((input1 * input1).sum(td) + 1e-12) * ((input2 * input2).sum(td) + 1e-12))
    cos = prod / mag
    t = target._data
    loss = where(_make(t == 1), 1 - cos, 0.0) + \
        where(_make(t == -1), clamp(cos - margin, min=0.0), 0.0)
    return reduce_loss(loss, reduction)


@autocast_op("hinge_embedding_loss")
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """``input`` where target is 1, ``max(0, margin - input)`` where it is -1."""
    op = "hinge_embedding_loss"
    reduction = reduction_mode(op, size_average, reduce, reduction)
    t = target._data
    loss = where(_make(t != 1), clamp(margin - input, min=0.0), 0.0) + \
        where(_make(t != -1), input, 0.0)
    return reduce_loss(loss, reduction)


@autocast_op("soft_margin_loss")
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Two-class logistic loss ``log(1 + exp(-target * input))`` (stable)."""
    op = "soft_margin_loss"
    reduction = reduction_mode(op, size_average, reduce, reduction)
    check_pair(input, target, op)
    return in_dtype_of(reduce_loss(-logsigmoid(input * target), reduction), input)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Multi-label one-vs-all logistic loss, averaged over the classes (last dim)."""
    op = "multilabel_soft_margin_loss"
    reduction = reduction_mode(op, size_average, reduce, reduction)
    check_pair(input, target, op)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    c = input.ndim - 1
    loss = loss.sum(c) / input.shape[c]
    return reduce_loss(loss, reduction)


@autocast_op("multi_margin_loss")
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Multi-class hinge loss: ``sum_{j != y} max(0, margin - x_y + x_j)^p / C``,
    scaled by ``weight[y]``.  input (N, C) or (C,), target (N,) or ()."""
    op = "multi_margin_loss"
    reduction = reduction_mode(op, size_average, reduce, reduction)
    check_floating(input, op)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 supported, got {p}")
    if input.ndim not in (1, 2):
        raise ValueError(f"{op}: expected input (N, C) or (C,), got {shape_of(input)}")
    if not isinstance(target, Tensor):
        raise TypeError(f"{op}: expected target to be a Tensor, got {type(target).__name__}")
    tg = ClassTargets(input, target, weight, -(2 ** 62), op)
    d = tg.dim
    xy = reshape(PickClass(tg.idx, d)(input), shape_of(input)[:d] + (1,))
    h = clamp(input - xy + margin, min=0.0)
    if p == 2:
        h = h * h
    others = ~class_mask(B.xp_of(input._data), tg.idx, d, tg.n)
    loss = (h * const_like(others, input)).sum(d) / tg.n
    if weight is not None:
        loss = loss * const_like(tg.wy, input)
    return reduce_loss(loss, reduction)


@autocast_op("multilabel_margin_loss")
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge loss: for each sample, ``sum_j sum_{i not a target}
    max(0, 1 - (x[y_j] - x[i])) / C`` over its target classes ``y_j``: the entries of
    ``target`` before the first -1."""
    op = "multilabel_margin_loss"
    reduction = reduction_mode(op, size_average, reduce, reduction)
    check_floating(input, op)
    if input.ndim not in (0, 1, 2) or shape_of(target) != shape_of(input):
        raise RuntimeError(f"{op}: expected input (C,) or (N, C) and a target of the same "
                           f"shape, got input {shape_of(input)} and target "
                           f"{shape_of(target)}")
    x = input if input.ndim == 2 else reshape(input, 1, -1)
    t = target._data.reshape(x.shape)
    xp = B.xp_of(t)
    C = x.shape[1]
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: target must hold class indices (int64), got {target.dtype}")
    used = xp.cumprod(t != -1, axis=1).astype(bool)   # the targets before the first -1
    if t.size and ((t[used] < 0) | (t[used] >= C)).any():
        raise RuntimeError(f"{op}: target values must be in [0, {C}) or -1, got "
                           f"{sorted(set(t[used].tolist()))[:8]}")
    idx = xp.where(used, t, 0)
    is_target = xp.zeros(x.shape, dtype=bool)
    rows = xp.broadcast_to(xp.arange(x.shape[0])[:, None], t.shape)
    is_target[rows[used], idx[used]] = True
    xy = gather(x, 1, _make(idx))                          # x[y_j]  (N, C)
    pairs = used[:, :, None] & ~is_target[:, None, :]      # (target j, non-target i)
    hinge = clamp(1 - reshape(xy, *xy.shape, 1) + reshape(x, x.shape[0], 1, C), min=0.0)
    loss = (hinge * _make(pairs.astype(x._data.dtype))).sum((1, 2)) / C
    if input.ndim < 2:
        loss = reshape(loss, ())
    return reduce_loss(loss, reduction)
