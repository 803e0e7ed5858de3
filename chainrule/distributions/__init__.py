"""``chainrule.distributions``: torch.distributions' Normal, Uniform, Bernoulli,
Categorical and Multinomial, with ``sample``, ``rsample`` (where torch has it),
``log_prob``, ``entropy`` and ``kl_divergence``."""
from chainrule.distributions.distribution import Distribution  # noqa: F401
from chainrule.distributions.continuous import Normal, Uniform  # noqa: F401
from chainrule.distributions.discrete import Bernoulli, Categorical, Multinomial  # noqa: F401
from chainrule.distributions.kl import kl_divergence, register_kl  # noqa: F401
from chainrule.distributions import kl  # noqa: F401

__all__ = ["Distribution", "Normal", "Uniform", "Bernoulli", "Categorical", "Multinomial",
           "kl_divergence", "register_kl", "kl"]
