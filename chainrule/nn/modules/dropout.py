"""Dropout layers: active in ``train()`` mode, the identity in ``eval()``."""
import numbers
import warnings

from chainrule import backend as B
from chainrule.core.tensor import from_array
from chainrule.nn import functional as F
from chainrule.nn.modules.module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not isinstance(p, numbers.Real) or p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` and scale the rest by
    ``1/(1-p)`` while training; the identity in eval mode.

    >>> import chainrule as cr
    >>> d = Dropout(0.5).eval()
    >>> bool((d(cr.ones(4)) == 1).all())
    True
    """

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


def _feature_dropout(input, p, training, inplace, nd, name):
    """Zero whole channels: one Bernoulli draw per (N, C) entry."""
    if not training or p == 0:
        return input
    x = input.array
    xp = B.xp_of(x)
    shape = x.shape[:-nd] + (1,) * nd
    if input.ndim not in (nd + 1, nd + 2):
        if nd == 1 or input.ndim == 0:
            raise RuntimeError(f"{name}: expected {nd + 1}-D or {nd + 2}-D input, got "
                               f"{tuple(input.shape)}")
        # torch (deprecated, with this warning): an unbatched input whose dim 0 is the
        # channel dim, so whole slices x[i] are dropped
        warnings.warn(f"{name.lower()}: Received a {input.ndim}-D input to {name.lower()}, "
                      f"which is deprecated and will result in an error in a future release. "
                      f"To retain the behavior and silence this warning, please use dropout "
                      f"instead.", UserWarning, stacklevel=3)
        shape = x.shape[:1] + (1,) * (x.ndim - 1)
    if p == 1:
        mask = xp.zeros(shape, dtype=x.dtype)
    else:
        mask = (B.get_rng(xp).random(shape) >= p).astype(x.dtype) * x.dtype.type(1 / (1 - p))
    if inplace:
        return input.mul_(from_array(mask))
    return input * from_array(mask)


class Dropout1d(_DropoutNd):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` inputs."""

    def forward(self, input):
        return _feature_dropout(input, self.p, self.training, self.inplace, 1, "Dropout1d")


class Dropout2d(_DropoutNd):
    """Zero whole channels of ``(N, C, H, W)`` or ``(C, H, W)`` inputs."""

    def forward(self, input):
        return _feature_dropout(input, self.p, self.training, self.inplace, 2, "Dropout2d")


class Dropout3d(_DropoutNd):
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` inputs."""

    def forward(self, input):
        return _feature_dropout(input, self.p, self.training, self.inplace, 3, "Dropout3d")


class AlphaDropout(_DropoutNd):
    """Dropout that keeps a SELU network's mean and variance."""

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (``F.feature_alpha_dropout``)."""

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)
