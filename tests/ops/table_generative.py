"""Op table: the generative models' pieces (``chainrule.functional.generative``).

Torch has none of them as ops; each reference is the paper's formula written in torch,
so the rows still compare values and gradients with torch, and get float64 gradcheck
and gradgradcheck.  Samples keep away from the kinks of the margin loss (lengths near
m+ = 0.9 and m- = 0.1) and from ``|s| = 0`` for squash.
"""
import numpy as np

from chainrule.functional import generative as G
from chainrule.testing.opinfo import OpInfo, Sample, nograd


def _u(rng, shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, shape)


def _kl_samples(rng):
    return [Sample((_u(rng, (3, 4)), _u(rng, (3, 4))), {"reduction": r}, r)
            for r in ("none", "mean", "sum")] + [Sample((_u(rng, (5,)), _u(rng, (5,))))]


def _kl_ref(t, mu, logvar, reduction="none"):
    kl = 0.5 * (logvar.exp() + mu * mu - 1.0 - logvar).sum(-1)
    return {"none": kl, "mean": kl.mean(), "sum": kl.sum()}[reduction]


def _bkl_samples(rng):
    return [Sample((rho, _u(rng, (6,), 0.05, 0.95)), {}, f"rho={rho}") for rho in (0.05, 0.5)]


def _bkl_ref(t, rho, rh):
    return (rho * t.log(rho / rh) + (1 - rho) * t.log((1 - rho) / (1 - rh))).sum()


def _away_from_zero(rng, shape):
    x = _u(rng, shape, 0.3, 2.0)
    return x * rng.choice([-1.0, 1.0], shape)


def _squash_samples(rng):
    return [Sample((_away_from_zero(rng, (3, 4)),)),
            Sample((_away_from_zero(rng, (2, 3, 5)),), {"dim": 1}, "dim=1")]


def _squash_ref(t, s, dim=-1, eps=1e-8):
    n2 = (s * s).sum(dim, keepdim=True)
    return s * (n2 / ((1 + n2) * t.sqrt(n2 + eps)))


def _routing_samples(rng):
    return [Sample((_u(rng, (2, 3, 4, 5)),), {"iterations": it}, f"iterations={it}")
            for it in (1, 3)]


def _routing_ref(t, u, iterations=3):
    b = t.zeros(u.shape[:3], dtype=u.dtype)
    for it in range(iterations):
        c = t.softmax(b, dim=2)
        v = _squash_ref(t, (c.unsqueeze(-1) * u).sum(1))
        if it < iterations - 1:
            b = b + (u * v.unsqueeze(1)).sum(-1)
    return v


def _margin_samples(rng):
    out = []
    for r in ("mean", "sum", "none"):
        lengths = rng.choice([0.02, 0.05, 0.3, 0.5, 0.7, 0.95, 0.97], (4, 5)) + \
            _u(rng, (4, 5), -0.01, 0.01)
        target = np.eye(5)[rng.integers(0, 5, 4)]
        out.append(Sample((lengths, nograd(target)), {"reduction": r}, r))
    return out


def _margin_ref(t, lengths, target, m_plus=0.9, m_minus=0.1, lambda_=0.5, reduction="mean"):
    per = (target * t.relu(m_plus - lengths) ** 2
           + lambda_ * (1 - target) * t.relu(lengths - m_minus) ** 2).sum(1)
    return {"none": per, "mean": per.mean(), "sum": per.sum()}[reduction]


OPS = [
    OpInfo("generative.gaussian_kl", G.gaussian_kl, _kl_ref, _kl_samples),
    OpInfo("generative.bernoulli_kl", G.bernoulli_kl, _bkl_ref, _bkl_samples),
    OpInfo("generative.squash", G.squash, _squash_ref, _squash_samples),
    OpInfo("generative.routing_by_agreement", G.routing_by_agreement, _routing_ref,
           _routing_samples),
    OpInfo("generative.margin_loss", G.margin_loss, _margin_ref, _margin_samples),
]
