"""The differentiable pieces of the generative and unsupervised models (issue #15).

Torch has none of these as ops, so they live here under their papers' names, not in
``chainrule.nn.functional``.  All are compositions of differentiable ops (no backward
of their own), so their first and second derivatives come from the ops they use; each
has float64 gradcheck rows in ``tests/ops/table_generative.py`` and is compared there
with the same formula written in torch.

* :func:`gaussian_kl` -- ``KL(N(mu, exp(logvar)) || N(0, I))``, the VAE's analytic KL
  (Kingma & Welling 2014, appendix B).
* :func:`bernoulli_kl` -- ``KL(rho || rho_hat)`` between Bernoulli means, the sparse
  autoencoder's penalty (Ng, "Sparse autoencoder" lecture notes, 2011).
* :func:`squash`, :func:`routing_by_agreement`, :func:`margin_loss` -- capsule
  networks (Sabour, Frosst & Hinton 2017, eqs. 1-4).
"""
from chainrule.functional.activation import softmax
from chainrule.functional.elementwise import clamp, exp, log, relu, sqrt
from chainrule.functional.linalg import matmul
from chainrule.functional.reduction import mean, sum as _sum
from chainrule.functional.shape import squeeze, unsqueeze

__all__ = ["gaussian_kl", "bernoulli_kl", "squash", "routing_by_agreement", "margin_loss"]


def _shape(t):
    return tuple(getattr(t, "shape", ()))


def _reduce(op, x, reduction):
    if reduction == "none":
        return x
    if reduction == "sum":
        return _sum(x)
    if reduction == "mean":
        return mean(x)
    raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def gaussian_kl(mu, logvar, reduction="none"):
    """``KL(N(mu, diag(exp(logvar))) || N(0, I))`` summed over the last dim:
    ``-1/2 * sum(1 + logvar - mu**2 - exp(logvar))`` (nats), one value per row.

    >>> import chainrule as cr
    >>> float(gaussian_kl(cr.zeros(2, 3), cr.zeros(2, 3)).sum())
    0.0
    """
    if _shape(mu) != _shape(logvar) or not _shape(mu):
        raise ValueError(f"gaussian_kl: mu and logvar must have one same shape with at "
                         f"least one dim, got {_shape(mu)} and {_shape(logvar)}")
    kl = _sum(exp(logvar) + mu * mu - 1.0 - logvar, dim=-1) * 0.5
    return _reduce("gaussian_kl", kl, reduction)


def bernoulli_kl(rho, rho_hat, eps=1e-7):
    """``sum_j rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j))``:
    Ng's sparsity penalty for a target mean activation ``rho`` (a float in (0, 1)) and
    the hidden units' mean activations ``rho_hat`` (a 1-D tensor, clamped to
    ``[eps, 1 - eps]``)."""
    rho = float(rho)
    if not 0.0 < rho < 1.0:
        raise ValueError(f"bernoulli_kl: rho must be in (0, 1), got {rho}")
    if len(_shape(rho_hat)) != 1:
        raise ValueError(f"bernoulli_kl: rho_hat must be 1-D (one mean per hidden unit), "
                         f"got shape {_shape(rho_hat)}")
    r = clamp(rho_hat, min=eps, max=1.0 - eps)
    return _sum(-rho * log(r) - (1.0 - rho) * log(1.0 - r)) + (
        len(r) * (rho * _log(rho) + (1.0 - rho) * _log(1.0 - rho)))


def _log(v):
    import math
    return math.log(v)


def squash(s, dim=-1, eps=1e-8):
    """``v = |s|^2 / (1 + |s|^2) * s / |s|`` along ``dim`` (Sabour et al. eq. 1): short
    vectors shrink to ~0, long ones to just under unit length.  ``eps`` keeps the
    gradient finite at ``s = 0``."""
    if not _shape(s):
        raise ValueError("squash: input must have at least one dim, got a scalar")
    n2 = _sum(s * s, dim=dim, keepdim=True)
    return s * (n2 / ((1.0 + n2) * sqrt(n2 + eps)))


def routing_by_agreement(u_hat, iterations=3, detach_inner=False):
    """Dynamic routing (Sabour et al. procedure 1) of predictions
    ``u_hat`` of shape ``(N, in_caps, out_caps, out_dim)``; returns the output capsules
    ``v`` ``(N, out_caps, out_dim)``.

    Each iteration: ``c = softmax(b, over out_caps)``, ``s_j = sum_i c_ij u_hat_j|i``,
    ``v_j = squash(s_j)``, ``b_ij += u_hat_j|i . v_j``.  ``detach_inner=True`` stops the
    gradient through the routing logits of the inner iterations (a common speed-up; the
    paper differentiates through all of them, the default here).
    """
    sh = _shape(u_hat)
    if len(sh) != 4:
        raise ValueError(f"routing_by_agreement: u_hat must be (N, in_caps, out_caps, "
                         f"out_dim), got shape {sh}")
    if int(iterations) < 1:
        raise ValueError(f"routing_by_agreement: iterations must be >= 1, got {iterations}")
    u_in = u_hat.detach() if detach_inner else u_hat
    b = None
    for it in range(int(iterations)):
        last = it == int(iterations) - 1
        u = u_hat if last else u_in
        if b is None:  # uniform coupling: softmax of zeros
            s = _sum(u, dim=1) * (1.0 / sh[2])
        else:
            c = softmax(b, dim=2)                                   # (N, in, out)
            s = _sum(unsqueeze(c, -1) * u, dim=1)                   # (N, out, dim)
        v = squash(s, dim=-1)
        if not last:
            # agreement a_ij = u_hat_j|i . v_j: (N, in, out, 1, dim) @ (N, 1, out, dim, 1)
            agree = squeeze(matmul(unsqueeze(u, -2), unsqueeze(unsqueeze(v, 1), -1)), -1)
            agree = squeeze(agree, -1)
            b = agree if b is None else b + agree
    return v


def margin_loss(lengths, target, m_plus=0.9, m_minus=0.1, lambda_=0.5, reduction="mean"):
    """Capsule margin loss (Sabour et al. eq. 4) on capsule lengths ``(N, classes)``
    and one-hot (or multi-hot) float targets of the same shape:
    ``T max(0, m+ - |v|)^2 + lambda (1 - T) max(0, |v| - m-)^2`` summed over classes,
    then reduced over the batch."""
    if _shape(lengths) != _shape(target) or len(_shape(lengths)) != 2:
        raise ValueError(f"margin_loss: lengths and target must both be (N, classes), got "
                         f"{_shape(lengths)} and {_shape(target)}")
    pos = relu(m_plus - lengths)
    neg = relu(lengths - m_minus)
    per = _sum(target * pos * pos + lambda_ * (1.0 - target) * neg * neg, dim=1)
    return _reduce("margin_loss", per, reduction)
