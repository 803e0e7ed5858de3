"""More of torch.distributions: ``Exponential``, ``Laplace``, ``LogNormal``, ``Gumbel``,
``Cauchy``, ``HalfNormal`` (reparameterized), ``Gamma``, ``Beta``, ``Dirichlet`` (sampled
by NumPy's generator, no ``rsample``: see docs/torch_differences.md), ``Poisson``,
``Geometric``, ``Binomial``, ``OneHotCategorical`` and ``Independent``.

Every density is written with differentiable ops (``lgamma``/``digamma`` included), so
log_prob, entropy and the KL terms have gradients in the parameters.

>>> import chainrule as cr
>>> from chainrule.distributions import Gamma
>>> round(float(Gamma(2.0, 3.0).log_prob(cr.tensor(0.5))), 4)
0.0041
"""
import math

import numpy as np

from chainrule import backend as B
from chainrule.core.creation import rand, tensor
from chainrule.distributions.continuous import Normal
from chainrule.distributions.discrete import Categorical
from chainrule.distributions.distribution import (Distribution, as_param, broadcast_params,
                                                  logits_to_probs, probs_to_logits)
from chainrule.functional import (clamp, digamma, exp, expm1, lgamma, log, log1p, where)

__all__ = ["Exponential", "Laplace", "LogNormal", "Gumbel", "Cauchy", "HalfNormal", "Gamma",
           "Beta", "Dirichlet", "Poisson", "Geometric", "Binomial", "OneHotCategorical",
           "Independent"]

_EULER = 0.57721566490153286061


def _tiny(t):
    return float(np.finfo(np.float32 if t.dtype.itemsize == 4 else np.float64).tiny)


def _eps(t):
    return float(np.finfo(np.float32 if t.dtype.itemsize == 4 else np.float64).eps)


def _uniform(shape, like):
    """U(tiny, 1) draws of ``shape`` in ``like``'s dtype (never exactly 0)."""
    return clamp(rand(shape, dtype=like.dtype), min=_tiny(like))


def _np_params(*ts):
    return [B.asnumpy(t.detach().array).astype(np.float64) for t in ts]


# ---------------------------------------------------------------- reparameterized
class Exponential(Distribution):
    """rate * exp(-rate * x) on x >= 0."""
    has_rsample = True
    arg_constraints = {"rate": "positive"}

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_params(rate)
        super().__init__(self.rate.shape)

    mean = property(lambda self: 1 / self.rate)
    mode = property(lambda self: self.rate * 0)
    variance = property(lambda self: self.rate ** -2)
    stddev = property(lambda self: 1 / self.rate)

    def rsample(self, sample_shape=()):  # inverse CDF: -log(U) / rate
        return -log(_uniform(self._extended_shape(sample_shape), self.rate)) / self.rate

    def log_prob(self, value):
        return log(self.rate) - self.rate * value

    def cdf(self, value):
        return 1 - exp(-self.rate * value)

    def entropy(self):
        return 1.0 - log(self.rate)


class Laplace(Distribution):
    """exp(-|x - loc| / scale) / (2 scale)."""
    has_rsample = True
    arg_constraints = {"loc": "real", "scale": "positive"}

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_params(loc, scale)
        super().__init__(self.loc.shape)

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)
    variance = property(lambda self: 2 * self.scale ** 2)
    stddev = property(lambda self: math.sqrt(2) * self.scale)

    def rsample(self, sample_shape=()):  # loc - scale sign(u) log(1 - |u|), u ~ U(-1, 1)
        u = rand(self._extended_shape(sample_shape), dtype=self.loc.dtype) * 2 - 1
        u = clamp(u, min=_eps(self.loc) - 1)
        return self.loc - self.scale * u.sign() * log1p(-u.abs())

    def log_prob(self, value):
        return -log(2 * self.scale) - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        z = (value - self.loc) / self.scale
        return 0.5 - 0.5 * z.sign() * expm1(-z.abs())

    def entropy(self):
        return 1 + log(2 * self.scale)


class LogNormal(Distribution):
    """exp(X) with X ~ Normal(loc, scale)."""
    has_rsample = True
    arg_constraints = {"loc": "real", "scale": "positive"}

    def __init__(self, loc, scale, validate_args=None):
        self.base_dist = Normal(loc, scale)
        self.loc, self.scale = self.base_dist.loc, self.base_dist.scale
        super().__init__(self.loc.shape)

    mean = property(lambda self: exp(self.loc + self.scale ** 2 / 2))
    mode = property(lambda self: exp(self.loc - self.scale ** 2))
    variance = property(lambda self: expm1(self.scale ** 2) * exp(2 * self.loc +
                                                                   self.scale ** 2))

    def rsample(self, sample_shape=()):
        return exp(self.base_dist.rsample(sample_shape))

    def log_prob(self, value):  # change of variables: - log x
        return self.base_dist.log_prob(log(value)) - log(value)

    def entropy(self):
        return self.base_dist.entropy() + self.loc


class Gumbel(Distribution):
    """Type-I extreme value: loc - scale log(-log U)."""
    has_rsample = True
    arg_constraints = {"loc": "real", "scale": "positive"}

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_params(loc, scale)
        super().__init__(self.loc.shape)

    mean = property(lambda self: self.loc + self.scale * _EULER)
    mode = property(lambda self: self.loc)
    variance = property(lambda self: (math.pi ** 2 / 6) * self.scale ** 2)
    stddev = property(lambda self: (math.pi / math.sqrt(6)) * self.scale)

    def rsample(self, sample_shape=()):
        u = clamp(_uniform(self._extended_shape(sample_shape), self.loc),
                  max=1 - _eps(self.loc))
        return self.loc - self.scale * log(-log(u))

    def log_prob(self, value):
        z = (value - self.loc) / self.scale
        return -(z + exp(-z)) - log(self.scale)

    def entropy(self):
        return log(self.scale) + (1 + _EULER)


class Cauchy(Distribution):
    """Lorentz: 1 / (pi scale (1 + ((x - loc) / scale)^2))."""
    has_rsample = True
    arg_constraints = {"loc": "real", "scale": "positive"}

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_params(loc, scale)
        super().__init__(self.loc.shape)

    mean = property(lambda self: self.loc.new_full(self.loc.shape, float("nan")))
    mode = property(lambda self: self.loc)
    variance = property(lambda self: self.loc.new_full(self.loc.shape, float("inf")))

    def rsample(self, sample_shape=()):  # loc + scale tan(pi (u - 1/2))
        u = rand(self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + self.scale * ((u - 0.5) * math.pi).tan()

    def log_prob(self, value):
        return -math.log(math.pi) - log(self.scale) - log1p(((value - self.loc) /
                                                              self.scale) ** 2)

    def cdf(self, value):
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def entropy(self):
        return math.log(4 * math.pi) + log(self.scale)


class HalfNormal(Distribution):
    """|X| with X ~ Normal(0, scale)."""
    has_rsample = True
    arg_constraints = {"scale": "positive"}

    def __init__(self, scale, validate_args=None):
        self.base_dist = Normal(0.0 * as_param(scale), scale)
        self.scale = self.base_dist.scale
        super().__init__(self.scale.shape)

    mean = property(lambda self: self.scale * math.sqrt(2 / math.pi))
    mode = property(lambda self: self.scale * 0)
    variance = property(lambda self: self.scale ** 2 * (1 - 2 / math.pi))

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).abs()

    def log_prob(self, value):
        lp = self.base_dist.log_prob(value) + math.log(2)
        return where(value >= 0, lp, float("-inf"))

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)


# ---------------------------------------------------------------- gamma family
class Gamma(Distribution):
    """x^(a-1) exp(-b x) b^a / Gamma(a) with a = concentration, b = rate."""
    arg_constraints = {"concentration": "positive", "rate": "positive"}

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_params(concentration, rate)
        super().__init__(self.rate.shape)

    mean = property(lambda self: self.concentration / self.rate)
    mode = property(lambda self: clamp((self.concentration - 1) / self.rate, min=0))
    variance = property(lambda self: self.concentration / self.rate ** 2)

    def sample(self, sample_shape=()):
        a, b = _np_params(self.concentration, self.rate)
        x = B.get_rng().gamma(a, 1.0, size=self._extended_shape(sample_shape)) / b
        return tensor(np.maximum(x, np.finfo(np.float64).tiny),
                      dtype=self.rate.dtype)

    def log_prob(self, value):
        a, b = self.concentration, self.rate
        return a * log(b) + (a - 1) * log(value) - b * value - lgamma(a)

    def entropy(self):
        a = self.concentration
        return a - log(self.rate) + lgamma(a) + (1.0 - a) * digamma(a)


class Beta(Distribution):
    """x^(a-1) (1-x)^(b-1) / B(a, b) on (0, 1), a = concentration1, b = concentration0."""
    arg_constraints = {"concentration1": "positive", "concentration0": "positive"}

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_params(concentration1,
                                                                    concentration0)
        super().__init__(self.concentration1.shape)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        t = a + b
        return a * b / (t ** 2 * (t + 1))

    def sample(self, sample_shape=()):
        a, b = _np_params(self.concentration1, self.concentration0)
        x = B.get_rng().beta(a, b, size=self._extended_shape(sample_shape))
        return tensor(x, dtype=self.concentration1.dtype)

    def log_prob(self, value):
        a, b = self.concentration1, self.concentration0
        return (a - 1) * log(value) + (b - 1) * log1p(-value) - _log_beta(a, b)

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        t = a + b
        return _log_beta(a, b) - (a - 1) * digamma(a) - (b - 1) * digamma(b) + \
            (t - 2) * digamma(t)


def _log_beta(a, b):
    return lgamma(a) + lgamma(b) - lgamma(a + b)


class Dirichlet(Distribution):
    """Density prod x_i^(a_i - 1) / B(a) on the simplex of the last dim."""
    arg_constraints = {"concentration": "independent(positive, 1)"}

    def __init__(self, concentration, validate_args=None):
        self.concentration = as_param(concentration)
        if self.concentration.ndim < 1:
            raise ValueError("Dirichlet: concentration needs at least one dim")
        c = self.concentration.shape
        super().__init__(c[:-1], c[-1:])

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def variance(self):
        a0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (a0 - self.concentration) / (a0 ** 2 * (a0 + 1))

    def sample(self, sample_shape=()):
        (a,) = _np_params(self.concentration)
        g = B.get_rng().gamma(np.broadcast_to(a, self._extended_shape(sample_shape)))
        g = np.maximum(g, np.finfo(np.float64).tiny)
        return tensor(g / g.sum(-1, keepdims=True), dtype=self.concentration.dtype)

    def log_prob(self, value):
        a = self.concentration
        return ((a - 1) * log(value)).sum(-1) + lgamma(a.sum(-1)) - lgamma(a).sum(-1)

    def entropy(self):
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return lgamma(a).sum(-1) - lgamma(a0) - (k - a0) * digamma(a0) - \
            ((a - 1) * digamma(a)).sum(-1)


# ---------------------------------------------------------------- discrete
class Poisson(Distribution):
    """rate^k exp(-rate) / k!."""
    arg_constraints = {"rate": "nonnegative"}

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_params(rate)
        super().__init__(self.rate.shape)

    mean = property(lambda self: self.rate)
    mode = property(lambda self: self.rate.floor())
    variance = property(lambda self: self.rate)

    def sample(self, sample_shape=()):
        (r,) = _np_params(self.rate)
        k = B.get_rng().poisson(np.broadcast_to(r, self._extended_shape(sample_shape)))
        return tensor(k.astype(np.float64), dtype=self.rate.dtype)

    def log_prob(self, value):
        r = self.rate
        # value * log(rate), 0 where both are 0 (torch's xlogy)
        vlog = where(value == 0, 0.0, value * log(clamp(r, min=_tiny(r))))
        return vlog - r - lgamma(value + 1)


class Geometric(Distribution):
    """Number of failures before the first success: (1 - p)^k p."""
    arg_constraints = {"probs": "unit_interval", "logits": "real"}

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Geometric: give exactly one of probs or logits")
        if probs is not None:
            (self.probs,) = broadcast_params(probs)
            self.logits = probs_to_logits(self.probs, is_binary=True)
        else:
            (self.logits,) = broadcast_params(logits)
            self.probs = logits_to_probs(self.logits, is_binary=True)
        super().__init__(self.probs.shape)

    mean = property(lambda self: 1.0 / self.probs - 1.0)
    mode = property(lambda self: self.probs * 0)
    variance = property(lambda self: (1.0 / self.probs - 1.0) / self.probs)

    def sample(self, sample_shape=()):
        (p,) = _np_params(self.probs)
        k = B.get_rng().geometric(np.broadcast_to(p, self._extended_shape(sample_shape))) - 1
        return tensor(k.astype(np.float64), dtype=self.probs.dtype)

    def log_prob(self, value):
        p = self.probs
        q = where((value == 0) & (p == 1), 0.0, value * log1p(-clamp(p, max=1 - _eps(p))))
        return q + log(p)

    def entropy(self):
        from chainrule.functional.loss import binary_cross_entropy_with_logits as bce
        return bce(self.logits, self.probs, reduction="none") / self.probs


class Binomial(Distribution):
    """Successes in ``total_count`` Bernoulli(probs) trials."""
    arg_constraints = {"total_count": "nonnegative_integer", "probs": "unit_interval",
                       "logits": "real"}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Binomial: give exactly one of probs or logits")
        given = probs if probs is not None else logits
        self.total_count, given = broadcast_params(total_count, given)
        if probs is not None:
            self.probs = given
            self.logits = probs_to_logits(given, is_binary=True)
        else:
            self.logits = given
            self.probs = logits_to_probs(given, is_binary=True)
        super().__init__(self.probs.shape)

    mean = property(lambda self: self.total_count * self.probs)
    variance = property(lambda self: self.total_count * self.probs * (1 - self.probs))

    def sample(self, sample_shape=()):
        n, p = _np_params(self.total_count, self.probs)
        shape = self._extended_shape(sample_shape)
        k = B.get_rng().binomial(np.broadcast_to(n, shape).astype(np.int64),
                                 np.broadcast_to(p, shape))
        return tensor(k.astype(np.float64), dtype=self.probs.dtype)

    def log_prob(self, value):
        n, lg = self.total_count, self.logits
        log_comb = lgamma(n + 1) - lgamma(value + 1) - lgamma(n - value + 1)
        # k log p + (n - k) log(1 - p) = k * logits - n * log(1 + e^logits), stably
        norm = n * (clamp(lg, min=0) + log1p(exp(-lg.abs())))
        return log_comb + value * lg - norm


class OneHotCategorical(Distribution):
    """A one-hot vector whose hot index is Categorical(probs/logits)."""
    arg_constraints = {"probs": "simplex", "logits": "real_vector"}

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs=probs, logits=logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:])

    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)
    mean = property(lambda self: self.probs)
    variance = property(lambda self: self.probs * (1 - self.probs))

    def sample(self, sample_shape=()):
        idx = B.asnumpy(self._categorical.sample(sample_shape).array)
        k = self.event_shape[0]
        return tensor((idx[..., None] == np.arange(k)).astype(
            B.asnumpy(self.probs.array).dtype))

    def log_prob(self, value):
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()


class Independent(Distribution):
    """``base_distribution`` with its rightmost ``reinterpreted_batch_ndims`` batch dims
    read as event dims: log_prob and entropy sum over them."""

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = int(reinterpreted_batch_ndims)
        shape = base_distribution.batch_shape + base_distribution.event_shape
        if n > len(base_distribution.batch_shape):
            raise ValueError(f"Independent: reinterpreted_batch_ndims {n} exceeds the base "
                             f"distribution's batch dims {base_distribution.batch_shape}")
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, n
        cut = len(base_distribution.batch_shape) - n
        super().__init__(shape[:cut], shape[cut:])

    has_rsample = property(lambda self: self.base_dist.has_rsample)
    mean = property(lambda self: self.base_dist.mean)
    variance = property(lambda self: self.base_dist.variance)

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def _sum(self, t):
        n = self.reinterpreted_batch_ndims
        return t.sum(tuple(range(-n, 0))) if n else t

    def log_prob(self, value):
        return self._sum(self.base_dist.log_prob(value))

    def entropy(self):
        return self._sum(self.base_dist.entropy())


