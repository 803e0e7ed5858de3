"""``chainrule.distributions``: torch.distributions' Normal, Uniform, Bernoulli,
Categorical, Multinomial, Exponential, Laplace, LogNormal, Gumbel, Cauchy, HalfNormal,
Gamma, Beta, Dirichlet, Poisson, Geometric, Binomial, OneHotCategorical and Independent,
with ``sample``, ``rsample`` (where torch has it, but Gamma, Beta and Dirichlet),
``log_prob``, ``entropy`` and ``kl_divergence``."""
from chainrule.distributions.distribution import Distribution  # noqa: F401
from chainrule.distributions.continuous import Normal, Uniform  # noqa: F401
from chainrule.distributions.discrete import Bernoulli, Categorical, Multinomial  # noqa: F401
from chainrule.distributions.more import *  # noqa: F401,F403
from chainrule.distributions.more import __all__ as _more
from chainrule.distributions.kl import kl_divergence, register_kl  # noqa: F401
from chainrule.distributions import kl  # noqa: F401

__all__ = ["Distribution", "Normal", "Uniform", "Bernoulli", "Categorical", "Multinomial",
           "kl_divergence", "register_kl", "kl", *_more]
