"""``Distribution``: the base of torch.distributions' API (sample, rsample, log_prob,
entropy, mean/variance/stddev, batch_shape/event_shape)."""
import numbers

import numpy as np

from chainrule.core.creation import tensor
from chainrule.core.dtype import get_default_dtype
from chainrule.core.grad_mode import no_grad
from chainrule.core.tensor import Tensor
from chainrule.functional import broadcast_to, sigmoid, log, clamp

__all__ = ["Distribution", "as_param", "broadcast_params", "probs_to_logits", "logits_to_probs"]


def as_param(x):
    """A float tensor from a tensor or a number (a parameter of a distribution)."""
    if isinstance(x, Tensor):
        return x if x.is_floating_point() else x.float()
    if isinstance(x, (numbers.Number, list, tuple, np.ndarray)):
        return tensor(x, dtype=get_default_dtype())
    raise TypeError(f"expected a tensor or a number, got {type(x).__name__}")


def broadcast_params(*params):
    """The parameters as tensors broadcast to one shape (torch's broadcast_all: numbers
    take the dtype of the tensors among them)."""
    like = next((p for p in params if isinstance(p, Tensor) and p.is_floating_point()), None)
    ts = [tensor(p, dtype=like.dtype) if like is not None and isinstance(p, numbers.Number)
          else as_param(p) for p in params]
    shape = np.broadcast_shapes(*[t.shape for t in ts])
    return [broadcast_to(t, shape) for t in ts]


def probs_to_logits(probs, is_binary=False):
    eps = float(np.finfo(np.float32 if probs.dtype.itemsize == 4 else np.float64).eps)
    p = clamp(probs, eps, 1 - eps)
    return log(p) - log(1 - p) if is_binary else log(p)


def logits_to_probs(logits, is_binary=False):
    return sigmoid(logits) if is_binary else logits.softmax(-1)


class Distribution:
    """A family of probability distributions with batched parameters."""
    has_rsample = False
    arg_constraints = {}
    support = None

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return tuple(sample_shape) + self._batch_shape + self._event_shape

    def sample(self, sample_shape=()):
        """Draw samples of shape ``sample_shape + batch_shape + event_shape`` (no graph)."""
        with no_grad():
            return self.rsample(sample_shape)

    def sample_n(self, n):
        return self.sample((n,))

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sample "
                                  f"(rsample); use sample()")

    def log_prob(self, value):
        raise NotImplementedError(f"{type(self).__name__}.log_prob")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__}.entropy")

    def perplexity(self):
        return self.entropy().exp()

    @property
    def stddev(self):
        return self.variance.sqrt()

    def __repr__(self):
        params = ", ".join(f"{k}: {getattr(self, k).shape if isinstance(getattr(self, k), Tensor) else getattr(self, k)}"
                           for k in self.arg_constraints if k in self.__dict__)
        return f"{type(self).__name__}({params})"
