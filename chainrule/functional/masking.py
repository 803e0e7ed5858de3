"""Masks and conditions: ``where``, ``masked_fill``, ``masked_select``, ``nonzero``."""
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor, _make
from chainrule.functional._util import as_tensor_arg, const
from chainrule.functional.binary import cast, pick
from chainrule.functional.indexing import MaskedSelect, _Idx
from chainrule.functional.shape import broadcast_to

__all__ = ["where", "where_method", "masked_fill", "masked_select", "nonzero", "argwhere"]


def where(condition, input=None, other=None):
    """``where(cond, a, b)`` picks from ``a`` where ``cond`` else ``b``;
    ``where(cond)`` returns the indices of the true elements (like nonzero)."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    return pick(condition, input, other)


def where_method(self, condition, other):
    """``tensor.where(condition, other)``."""
    return pick(condition, self, other)


# ---------------------------------------------------------------- masks
def _mask_arg(mask, op):
    if not isinstance(mask, Tensor):
        mask = as_tensor_arg(mask, None, op)
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"{op}: only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype}")
    return mask


def _broadcast_shape(a, b, op, what):
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        raise RuntimeError(f"{op}: {what} {tuple(b)} is not broadcastable with input "
                           f"{tuple(a)}") from None


def masked_fill(input, mask, value):
    """``input`` with ``value`` (a number or 0-d tensor, differentiable) where
    the boolean ``mask`` (broadcast with ``input``) is True."""
    op = "masked_fill"
    mask = _mask_arg(mask, op)
    _broadcast_shape(input.shape, mask.shape, op, "mask")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"{op}: only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s)")
        value = cast(value, input.dtype)
    else:
        if not isinstance(value, (numbers.Number, np.generic)):
            raise TypeError(f"{op}: value must be a number or a 0-d Tensor, got "
                            f"{type(value).__name__}")
        value = const(value, input._data.dtype, input)
    return pick(mask, value, input)


def masked_select(input, mask):
    """The elements of ``input`` where ``mask`` is True, as a 1-D tensor
    (``input`` and ``mask`` broadcast together)."""
    op = "masked_select"
    mask = _mask_arg(mask, op)
    shape = _broadcast_shape(input.shape, mask.shape, op, "mask")
    x = broadcast_to(input, shape)
    xp = B.xp_of(input._data)
    m = xp.broadcast_to(mask._data, shape)
    return MaskedSelect(_Idx(None, tuple(xp.nonzero(m))))(x)



# ---------------------------------------------------------------- nonzero
def nonzero(input, *, as_tuple=False):
    """Indices of the non-zero elements: an int64 ``(n, ndim)`` tensor, or with
    ``as_tuple=True`` one 1-D tensor per dimension.  Not differentiable."""
    a = input._data if isinstance(input, Tensor) else np.asarray(input)
    xp = B.xp_of(a)
    if as_tuple:
        if a.ndim == 0:
            a = a.reshape(1)
        return tuple(_make(i.astype(np.int64)) for i in xp.nonzero(a))
    return _make(xp.argwhere(a).astype(np.int64))


def argwhere(input):
    """Same as ``nonzero(input)``."""
    return nonzero(input)
