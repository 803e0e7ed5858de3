"""Shape ops: reshape/view, transposes, expand, cat/stack/split, flips, pads.

View-producing ops (``is_view = True``) return tensors sharing memory and the
version counter with their input, like torch's views.
"""
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional._util import norm_dim, norm_dims

__all__ = ["sum_to", "broadcast_to", "reshape", "view"]


def _sum_to_array(x, shape):
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"cannot sum {x.shape} to {shape}")
    axes = tuple(range(lead))
    for i, s in enumerate(shape):
        n = x.shape[i + lead]
        if s == 1 and n != 1:
            axes += (i + lead,)
        elif s != n:
            raise ValueError(f"cannot sum {x.shape} to {shape}")
    y = x.sum(axis=axes, keepdims=True) if axes else x
    if lead:
        y = y.reshape(shape)
    return y


class SumTo(Function):
    save_inputs = False

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return _sum_to_array(x, self.shape)

    def backward(self, gy):  # broadcast back
        return broadcast_to(gy, self._in_meta[0][0])


def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (the adjoint of broadcasting)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo(shape)(x)


class BroadcastTo(Function):
    save_inputs = False
    is_view = True

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return B.xp_of(x).broadcast_to(x, self.shape)

    def backward(self, gy):  # sum over the broadcast axes
        return sum_to(gy, self._in_meta[0][0])


def broadcast_to(x, shape):
    shape = tuple(shape)
    if x.shape == shape:
        return x
    try:
        return BroadcastTo(shape)(x)
    except ValueError:
        raise RuntimeError(f"broadcast_to: shape {tuple(x.shape)} can't be broadcast to "
                           f"{shape}") from None


def _infer_shape(shape, numel, op, src):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got {shape}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid shape dimension {s} in {shape}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of size "
                               f"{numel} (shape {tuple(src)})")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of size "
                           f"{numel} (shape {tuple(src)})")
    return shape


class Reshape(Function):
    save_inputs = False
    is_view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, gy):  # reshape back
        return reshape(gy, self._in_meta[0][0])


def reshape(input, *shape):
    shape = _infer_shape(shape, input._data.size, "reshape", input.shape)
    if shape == input.shape:
        return input
    return Reshape(shape)(input)


def view(input, *shape):
    """Like :func:`reshape` (NumPy copies only when a view is impossible)."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, numbers.Integral)):
        from chainrule.functional.elementwise import cast
        return cast(input, shape[0])
    shape = _infer_shape(shape, input._data.size, "view", input.shape)
    return Reshape(shape)(input)
