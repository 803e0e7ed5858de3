"""Connectionist temporal classification (Graves et al. 2006): ``F.ctc_loss``.

The loss of a target ``l`` (length S) given per-frame log-probabilities ``y`` (T frames,
C classes, class ``blank`` meaning "no label") is ``-log p(l | y)``, where ``p`` sums
the probabilities of every frame labelling that collapses to ``l`` (merge repeats, then
drop blanks).  With the extended target ``l'`` (``blank l_1 blank l_2 ... l_S blank``,
length ``2S + 1``) the sum is a dynamic programme over (frame t, position s):

* forward:  ``alpha_t(s) = y_t(l'_s) * (alpha_{t-1}(s) + alpha_{t-1}(s-1)
  [+ alpha_{t-1}(s-2) if l'_s is a label different from l'_{s-2}])``,
  ``alpha_0`` non-zero at ``s = 0, 1``;  ``p = alpha_{T-1}(2S) + alpha_{T-1}(2S-1)``.
* backward: ``beta_t(s)`` the same recursion run from the last frame, so that
  ``alpha_t(s) beta_t(s) / y_t(l'_s)`` is the probability of the labellings that pass
  through (t, s).
* gradient: ``d(-log p) / d log y_t(k) = -sum_{s: l'_s = k} alpha_t(s) beta_t(s)
  / (y_t(k) p)``: minus the expected number of times frame t emits k.

Everything runs in log space (``logaddexp``), vectorised over the batch and the
positions, one step per frame.

Difference from torch (docs/torch_differences.md): torch returns
``exp(log_probs) - occupancy`` as the gradient with respect to ``log_probs`` (the
gradient with respect to logits, assuming ``log_probs`` came from ``log_softmax``); we
return the gradient of the loss, ``-occupancy``.  Through ``log_softmax`` (how CTC is
used) both give the same gradient for the logits, which the op table checks.
"""
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core import grad_mode as _gm
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.autocast import autocast_op
from chainrule.functional.loss_util import check_floating, reduction_mode, shape_of

__all__ = ["ctc_loss"]

_OP = "ctc_loss"


def _lengths(x, name, n):
    """``input_lengths``/``target_lengths`` (a tensor, or a sequence of ints) as int64."""
    a = B.asnumpy(x.array) if isinstance(x, Tensor) else np.asarray(x)
    if a.dtype.kind not in "iu" and not (a.size == 0 and a.dtype.kind == "f"):
        raise RuntimeError(f"{_OP}: {name} must be integers, got dtype {a.dtype}")
    a = a.astype(np.int64).reshape(-1)
    if a.shape != (n,):
        raise RuntimeError(f"{_OP}: {name} must have {n} entries (one per batch element), "
                           f"got shape {tuple(np.shape(x))}")
    return a


def _logsumexp3(a, b, c):
    m = np.maximum(np.maximum(a, b), c)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.exp(a - safe) + np.exp(b - safe) + np.exp(c - safe))


def _shift(a, k):
    """``a`` moved ``k`` places right (k > 0) or left (k < 0) along the last axis,
    filled with -inf."""
    out = np.full_like(a, -np.inf)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


def ctc_forward_backward(lp, targets, in_len, tg_len, blank):
    """Losses ``(N,)`` and their gradients ``(T, N, C)`` with respect to ``lp``
    (float64 NumPy arrays; ``targets`` ``(N, S)`` padded)."""
    T, N, C = lp.shape
    S = targets.shape[1]
    L = 2 * S + 1
    ext = np.full((N, L), blank, dtype=np.int64)
    ext[:, 1::2] = targets
    pos = np.arange(L)
    valid = pos[None] < (2 * tg_len + 1)[:, None]                       # (N, L)
    ext = np.where(valid, ext, blank)
    skip = np.zeros((N, L), dtype=bool)                                 # s-2 -> s allowed
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    lpe = np.take_along_axis(lp, np.broadcast_to(ext[None], (T, N, L)), axis=2)
    lpe = np.where(valid[None], lpe, -np.inf)                           # y_t(l'_s)

    alpha = np.full((T, N, L), -np.inf)
    alpha[0, :, :2] = lpe[0, :, :2]
    for t in range(1, T):
        a = alpha[t - 1]
        alpha[t] = lpe[t] + _logsumexp3(a, _shift(a, 1), np.where(skip, _shift(a, 2), -np.inf))

    n_idx = np.arange(N)
    last = np.clip(in_len - 1, 0, T - 1)
    end = alpha[last, n_idx]                                            # (N, L)
    with np.errstate(divide="ignore"):
        log_p = np.logaddexp(end[n_idx, 2 * tg_len],
                             np.where(tg_len > 0, end[n_idx, np.maximum(2 * tg_len - 1, 0)],
                                      -np.inf))
    log_p = np.where(in_len > 0, log_p, np.where(tg_len == 0, 0.0, -np.inf))

    beta = np.full((T, N, L), -np.inf)
    finals = (pos[None] == (2 * tg_len)[:, None]) | \
        ((pos[None] == (2 * tg_len - 1)[:, None]) & (tg_len > 0)[:, None])
    nxt = np.full((N, L), -np.inf)
    skip_next = _shift(skip, -2) if L > 2 else np.zeros_like(skip)     # s -> s+2 allowed
    for t in range(T - 1, -1, -1):
        rec = lpe[t] + _logsumexp3(nxt, _shift(nxt, -1), np.where(skip_next, _shift(nxt, -2),
                                                                   -np.inf))
        init = np.where(finals, lpe[t], -np.inf)
        here = (t == in_len - 1)[:, None]
        before = (t < in_len - 1)[:, None]
        beta[t] = np.where(here, init, np.where(before, rec, -np.inf))
        nxt = beta[t]

    both = np.isfinite(alpha) & np.isfinite(beta)
    with np.errstate(invalid="ignore", over="ignore"):
        occ = np.where(both, np.exp(np.where(both, alpha + beta - lpe, 0.0)
                                    - log_p[None, :, None]), 0.0)      # (T, N, L)
    onehot = (ext[:, :, None] == np.arange(C)).astype(np.float64)       # (N, L, C)
    grad = -np.matmul(occ.transpose(1, 0, 2), onehot).transpose(1, 0, 2)
    grad[:, ~np.isfinite(log_p)] = np.nan
    return -log_p, grad


class CTCLoss(Function):
    """Per-sample CTC losses ``(N,)`` of log-probabilities ``(T, N, C)``."""

    def __init__(self, targets, in_len, tg_len, blank, zero_infinity):
        self.targets, self.in_len, self.tg_len = targets, in_len, tg_len
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, lp):
        xp = B.xp_of(lp)
        host = np.asarray(B.asnumpy(lp), dtype=np.float64)
        loss, grad = ctc_forward_backward(host, self.targets, self.in_len, self.tg_len,
                                          self.blank)
        if self.zero_infinity:
            inf = np.isinf(loss)
            loss[inf] = 0.0
            grad[:, inf] = 0.0
        self.grad = xp.asarray(grad.astype(lp.dtype, copy=False))
        return xp.asarray(loss.astype(lp.dtype, copy=False))

    def backward(self, gy):  # d loss_n / d lp[t, n, :] = grad[t, n, :]
        if _gm.is_grad_enabled():  # create_graph: a node that refuses a second derivative
            return _CTCGradient(self.grad)(gy, self.inputs[0])
        return _make(gy.array[None, :, None] * self.grad)


class _CTCGradient(Function):
    """``gy * grad`` as a node of a graph being built (``create_graph=True``), a function
    of ``gy`` and of the log-probabilities: its own derivative is not implemented
    (torch's neither)."""
    save_inputs = False

    def __init__(self, grad):
        self.grad = grad

    def forward(self, gy, log_probs):
        return gy[None, :, None] * self.grad

    def backward(self, gg):
        raise RuntimeError(f"{_OP}: the second derivative of ctc_loss is not implemented "
                           "(torch does not implement it either)")


def _int_targets(targets):
    t = B.asnumpy(targets.array) if isinstance(targets, Tensor) else np.asarray(targets)
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"{_OP}: targets must be integer class indices, got dtype "
                           f"{t.dtype}")
    return t.astype(np.int64)


@autocast_op("ctc_loss")
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """CTC loss of ``log_probs`` ``(T, N, C)`` (or ``(T, C)``), normally the output of
    ``log_softmax(dim=2)``, against ``targets``: ``(N, S)`` padded, or all targets
    concatenated ``(sum(target_lengths),)``.  ``reduction='mean'`` divides each loss
    by its target length, then averages over the batch (torch's rule)."""
    reduction = reduction_mode(_OP, None, None, reduction)
    if not isinstance(log_probs, Tensor):
        raise TypeError(f"{_OP}: log_probs must be a Tensor, got {type(log_probs).__name__}")
    check_floating(log_probs, _OP, "log_probs")
    unbatched = log_probs.ndim == 2
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(f"{_OP}: log_probs must be (T, N, C) or unbatched (T, C), got "
                           f"{shape_of(log_probs)}")
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    T, N, C = lp.shape
    if not isinstance(blank, numbers.Integral) or not 0 <= blank < C:
        raise RuntimeError(f"{_OP}: blank must be in label range [0, {C}), got {blank}")
    in_len = _lengths(input_lengths, "input_lengths", N)
    tg_len = _lengths(target_lengths, "target_lengths", N)
    if (in_len < 0).any() or (in_len > T).any():
        bad = in_len[(in_len < 0) | (in_len > T)][0]
        raise RuntimeError(f"{_OP}: Expected input_lengths to have value at most {T} (the "
                           f"frames of log_probs {shape_of(log_probs)}), but got value {bad}")
    if (tg_len < 0).any():
        raise RuntimeError(f"{_OP}: target_lengths must be >= 0, got {tg_len.tolist()}")
    t = _int_targets(targets)
    if unbatched and t.ndim == 1:
        t = t[None]
    if t.ndim == 1:  # concatenated targets
        if t.shape[0] != tg_len.sum():
            raise RuntimeError(f"{_OP}: concatenated targets have {t.shape[0]} labels but "
                               f"target_lengths sum to {int(tg_len.sum())}")
        pad = np.full((N, max(int(tg_len.max(initial=0)), 1)), blank, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(tg_len)[:-1]])
        for i in range(N):
            pad[i, :tg_len[i]] = t[starts[i]:starts[i] + tg_len[i]]
        t = pad
    elif t.ndim == 2:
        if t.shape[0] != N:
            raise RuntimeError(f"{_OP}: Expected targets to have size {N} at dimension 0 "
                               f"(the batch of log_probs {shape_of(log_probs)}), but got "
                               f"size {t.shape[0]}")
        if (tg_len > t.shape[1]).any():
            raise RuntimeError(f"{_OP}: Expected targets to have size at least "
                               f"{int(tg_len.max())} at dimension 1 (the longest "
                               f"target_lengths), but got size {t.shape[1]}")
    else:
        raise RuntimeError(f"{_OP}: targets must be (N, S) or 1-D concatenated, got "
                           f"{tuple(t.shape)}")
    used = np.arange(t.shape[1])[None] < tg_len[:, None]
    if used.any():
        lab = t[used]
        if (lab < 0).any() or (lab >= C).any() or (lab == blank).any():
            raise RuntimeError(f"{_OP}: targets must be class indices in [0, {C}) other than "
                               f"blank={blank}, got {sorted(set(lab.tolist()))[:8]}")
    t = np.where(used, t, blank)
    loss = CTCLoss(t, in_len, tg_len, blank, zero_infinity)(lp)
    if reduction == "none":
        return loss[0] if unbatched else loss
    if reduction == "sum":
        return loss.sum()
    div = B.xp_of(loss.array).asarray(np.maximum(tg_len, 1), dtype=loss.array.dtype)
    return (loss / _make(div)).mean()
