"""Discrete distributions: ``Bernoulli``, ``Categorical``, ``Multinomial``.

Each takes ``probs`` or ``logits`` (exactly one); log_prob and entropy are
differentiable in them.  Samples are drawn from the global generator
(:func:`chainrule.manual_seed`).

>>> import chainrule as cr
>>> from chainrule.distributions import Categorical
>>> d = Categorical(probs=cr.tensor([0.2, 0.3, 0.5]))
>>> d.sample((4,)).shape, round(float(d.entropy()), 4)
(chainrule.Size([4]), 1.0297)
"""
import math

import numpy as np

from chainrule import backend as B
from chainrule.core.creation import tensor
from chainrule.distributions.distribution import (Distribution, as_param, logits_to_probs,
                                                  probs_to_logits)
from chainrule.functional import gather, log, logsumexp, where, broadcast_to, clamp
from chainrule.functional.loss import binary_cross_entropy_with_logits

__all__ = ["Bernoulli", "Categorical", "Multinomial"]


def _one_of(probs, logits, name):
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: give exactly one of probs or logits")


class Bernoulli(Distribution):
    """1 with probability ``probs`` (or ``sigmoid(logits)``), else 0."""
    arg_constraints = {"probs": "unit_interval", "logits": "real"}

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits, "Bernoulli")
        if probs is not None:
            self.probs = as_param(probs)
            self.logits = probs_to_logits(self.probs, is_binary=True)
        else:
            self.logits = as_param(logits)
            self.probs = logits_to_probs(self.logits, is_binary=True)
        super().__init__(self.probs.shape)

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        p = B.asnumpy(broadcast_to(self.probs.detach(), shape).array)
        return tensor((B.get_rng().random(shape) < p).astype(p.dtype))

    def log_prob(self, value):
        logits = broadcast_to(self.logits, np.broadcast_shapes(self.logits.shape, value.shape))
        value = broadcast_to(value.to(logits.dtype), logits.shape)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


class Categorical(Distribution):
    """An index in ``0..K-1`` drawn with the last dim of ``probs`` (normalized) or
    ``logits`` (log-softmaxed) as its weights."""
    arg_constraints = {"probs": "simplex", "logits": "real_vector"}

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits, type(self).__name__)
        if probs is not None:
            p = as_param(probs)
            if p.ndim < 1:
                raise ValueError(f"{type(self).__name__}: probs needs at least one dim")
            self.probs = p / p.sum(-1, keepdim=True)
            self.logits = probs_to_logits(self.probs)
        else:
            lg = as_param(logits)
            if lg.ndim < 1:
                raise ValueError(f"{type(self).__name__}: logits needs at least one dim")
            self.logits = lg - logsumexp(lg, -1, keepdim=True)
            self.probs = logits_to_probs(self.logits)
        self._num_events = self.probs.shape[-1]
        super().__init__(self.probs.shape[:-1])

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self):
        return self.probs.new_full(self._extended_shape(), float("nan"))

    @property
    def mode(self):
        return self.probs.argmax(-1)

    def _draw(self, n):
        """(rows, n) category indices, rows = prod(batch_shape), from numpy's generator."""
        p = B.asnumpy(self.probs.detach().array).reshape(-1, self._num_events).astype(np.float64)
        rng = B.get_rng()
        cum = np.cumsum(p, -1)
        u = rng.random((p.shape[0], n)) * cum[:, -1:]
        return np.minimum((u[:, :, None] >= cum[:, None, :]).sum(-1), self._num_events - 1)

    def sample(self, sample_shape=()):
        n = int(np.prod(sample_shape)) if len(sample_shape) else 1
        idx = self._draw(n).T.reshape(tuple(sample_shape) + self._batch_shape)
        return tensor(idx.astype(np.int64))

    def log_prob(self, value):
        value = value.long()
        shape = np.broadcast_shapes(value.shape, self._batch_shape)
        logits = broadcast_to(self.logits, shape + (self._num_events,))
        return gather(logits, -1, broadcast_to(value, shape).unsqueeze(-1)).squeeze(-1)

    def entropy(self):
        min_real = float(np.finfo(np.float32 if self.logits.dtype.itemsize == 4
                                  else np.float64).min)
        return -(clamp(self.logits, min=min_real) * self.probs).sum(-1)


class Multinomial(Distribution):
    """Counts of ``total_count`` draws over the last dim's categories."""
    arg_constraints = {"probs": "simplex", "logits": "real_vector"}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("Multinomial: inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:])

    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        n = int(np.prod(sample_shape)) if len(sample_shape) else 1
        k = self.event_shape[0]
        draws = self._categorical._draw(n * self.total_count)  # (rows, n * total)
        draws = draws.reshape(draws.shape[0], n, self.total_count)
        counts = (draws[..., None] == np.arange(k)).sum(2)  # (rows, n, k)
        counts = np.moveaxis(counts, 1, 0).reshape(self._extended_shape(sample_shape))
        return tensor(counts.astype(B.asnumpy(self.probs.array).dtype))

    def log_prob(self, value):
        counts = B.asnumpy(value.detach().array).astype(np.float64)
        lg = np.vectorize(math.lgamma, otypes=[np.float64])
        norm = math.lgamma(self.total_count + 1) - lg(counts + 1).sum(-1)
        logits = where(value == 0, 0.0, self.logits)  # 0 * -inf counts as 0
        return (logits * value).sum(-1) + tensor(norm, dtype=self.logits.dtype)

    def entropy(self):
        """Exact, as torch: n * H(categorical) - lgamma(n+1) + sum_i E[lgamma(X_i + 1)],
        with X_i ~ Binomial(n, p_i)."""
        n = self.total_count
        k = np.arange(n + 1, dtype=np.float64)
        lgk = np.array([math.lgamma(v + 1) for v in k])
        log_binom = tensor(math.lgamma(n + 1) - lgk - lgk[::-1].copy(), dtype=self.probs.dtype)
        kt = tensor(k, dtype=self.probs.dtype)
        p = self.probs.unsqueeze(-1)  # (..., K, 1) against the support (n + 1,)
        log_pmf = log_binom + kt * log(clamp(p, min=1e-38)) + (n - kt) * log(clamp(1 - p, min=1e-38))
        expected = (log_pmf.exp() * tensor(lgk, dtype=self.probs.dtype)).sum((-1, -2))
        return n * self._categorical.entropy() - math.lgamma(n + 1) + expected
