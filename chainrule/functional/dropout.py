"""Dropout: element-wise (``dropout``, ``alpha_dropout``) and channel-wise
("feature") dropout (``dropout1d/2d/3d``, ``feature_alpha_dropout``), one
``Dropout`` Function (``x * mask``) for all of them.

``chainrule.functional.dropout`` names the function (the package re-exports it
over this module's name); import the module as ``chainrule.functional.dropout``
with ``from ... import``.
"""
import numbers
import warnings

from chainrule import backend as B
from chainrule.core.function import Function
from chainrule.core.tensor import _make
from chainrule.functional.activation import (
    SELU_ALPHA, SELU_SCALE, maybe_inplace, require_floating)

__all__ = ["dropout", "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d",
           "dropout3d"]


class Dropout(Function):
    save_inputs = False

    def forward(self, x):
        return x * self.mask

    def backward(self, gy):  # mask / (1 - p)
        return gy * _make(self.mask)

    def _release_extra(self):
        self.mask = None


def dropout_mask(x, shape, p):
    """The inverted-dropout mask for array ``x``: ``keep / (1 - p)`` in ``x``'s dtype with
    ``keep ~ Bernoulli(1 - p)`` of ``shape`` drawn from the global generator (all zeros
    for ``p = 1``).  The one place dropout draws random numbers, so that
    :func:`chainrule.compile` can record the draw and make it again at every call."""
    xp = B.xp_of(x)
    if p == 1:
        return xp.zeros(shape, dtype=x.dtype)
    keep = B.get_rng(xp).random(shape) >= p
    return keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))


def _check_p(p, op):
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op} probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: zero each element with probability ``p``, scale the
    rest by ``1/(1-p)``; identity when not training."""
    _check_p(p, "dropout")
    if not training or p == 0:
        return input
    require_floating(input, "dropout")
    x = input._data
    fn = Dropout()
    fn.mask = dropout_mask(x, x.shape, p)
    return maybe_inplace(input, inplace, fn, "dropout")


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: keeps mean and variance of a unit normal input."""
    _check_p(p, "alpha_dropout")
    return _alpha_dropout(input, p, training, tuple(input.shape))


def _feature_dropout(input, p, training, inplace, op):
    """One Bernoulli draw per (N, C) entry, scaled by 1/(1-p); identity when not training."""
    _check_p(p, op)
    if not training or p == 0:
        return input
    require_floating(input, op)
    x = input._data
    fn = Dropout()
    fn.mask = dropout_mask(x, x.shape[:2] + (1,) * (x.ndim - 2), p)
    return maybe_inplace(input, inplace, fn, op)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` input with probability ``p``.

    >>> import chainrule as cr
    >>> dropout1d(cr.ones(2, 3, 4), 0.5, training=False).sum().item()
    24.0
    """
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           f"input of shape {tuple(input.shape)}. Note that dropout1d exists to "
                           f"provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           f"channel dimension, and an optional batch dimension (i.e. 2D or 3D "
                           f"inputs).")
    if input.ndim == 2:
        out = _feature_dropout(input.unsqueeze(0), p, training, False, "dropout1d")
        out = out.squeeze(0)
        return input.copy_(out) if inplace and training and p else out
    return _feature_dropout(input, p, training, inplace, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, H, W)`` input with probability ``p``.

    Like torch, a 3D input is read as ``(N, C, L)`` (1D channel dropout) with
    a warning; use :func:`dropout1d` for that.
    """
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      f"deprecated and will result in an error in a future release. To retain "
                      f"the behavior and silence this warning, please use dropout instead. Note "
                      f"that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      f"spatial dimensions, a channel dimension, and an optional batch "
                      f"dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input."""
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is "
                      f"deprecated and will result in an error in a future release.",
                      stacklevel=2)
    if input.ndim != 5:  # unbatched, as torch: one draw per input[i]
        out = _feature_dropout(input.unsqueeze(0), p, training, False, "dropout3d").squeeze(0)
        return input.copy_(out) if inplace and training and p else out
    return _feature_dropout(input, p, training, inplace, "dropout3d")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels (SELU networks)."""
    _check_p(p, "feature_alpha_dropout")
    shape = tuple(input.shape)
    return _alpha_dropout(input, p, training, shape[:2] + (1,) * (len(shape) - 2))


def _alpha_dropout(input, p, training, mask_shape):
    """``(x * keep + (1 - keep) * alpha') * a + b`` with ``keep`` drawn in
    ``mask_shape`` (elements, or whole channels broadcast over the rest): the
    affine ``a, b`` keep a unit normal input's mean and variance."""
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    x = input._data
    alpha_p = -SELU_ALPHA * SELU_SCALE
    a = ((1 - p) * (1 + p * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * p
    keep = _make((B.get_rng(B.xp_of(x)).random(mask_shape) >= p).astype(x.dtype))
    return (input * keep + (1 - keep) * alpha_p) * a + b

