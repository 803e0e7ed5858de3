"""Continuous distributions: ``Normal``, ``Uniform`` (reparameterized: ``rsample``).

>>> import chainrule as cr
>>> from chainrule.distributions import Normal
>>> d = Normal(cr.tensor([0.0, 1.0]), cr.tensor([1.0, 2.0]))
>>> d.sample((3,)).shape, d.log_prob(cr.zeros(2)).shape
(chainrule.Size([3, 2]), chainrule.Size([2]))
"""
import math

from chainrule.core.creation import rand, randn
from chainrule.distributions.distribution import Distribution, broadcast_params
from chainrule.functional import erf, log, where

__all__ = ["Normal", "Uniform"]


class Normal(Distribution):
    """N(loc, scale**2)."""
    has_rsample = True
    arg_constraints = {"loc": "real", "scale": "positive"}
    support = "real"

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_params(loc, scale)
        if validate_args and bool((self.scale <= 0).any()):
            raise ValueError(f"Normal: scale must be positive, got {self.scale}")
        super().__init__(self.loc.shape)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self.scale ** 2

    @property
    def stddev(self):
        return self.scale

    def rsample(self, sample_shape=()):
        eps = randn(self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + eps * self.scale  # d/dloc = 1, d/dscale = eps

    def log_prob(self, value):
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - log(self.scale) \
            - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value):
        return 0.5 * (1 + erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + log(self.scale)


class Uniform(Distribution):
    """U[low, high)."""
    has_rsample = True
    arg_constraints = {"low": "dependent", "high": "dependent"}

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_params(low, high)
        if validate_args and not bool((self.low < self.high).all()):
            raise ValueError("Uniform: low must be less than high")
        super().__init__(self.low.shape)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()):
        u = rand(self._extended_shape(sample_shape), dtype=self.low.dtype)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        inside = (self.low <= value) & (self.high > value)
        lp = -log(self.high - self.low) + value * 0
        return where(inside, lp, float("-inf"))

    def cdf(self, value):
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def entropy(self):
        return log(self.high - self.low)
