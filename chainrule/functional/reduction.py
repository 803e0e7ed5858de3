"""Reductions over ``dim`` (int, tuple or None) with ``keepdim``, like torch."""
import numpy as np

from chainrule import backend as B
from chainrule.core import dtype as D
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional._util import norm_dim, norm_dims, float_np
from chainrule.functional.shape import broadcast_to, reshape

__all__ = ["sum", "mean"]


def _expand_back(gy, in_shape, axes, keepdim):
    """Broadcast a reduced gradient back to the input shape."""
    if not keepdim and axes:
        shape = list(in_shape)
        for a in axes:
            shape[a] = 1
        gy = reshape(gy, tuple(shape))
    return broadcast_to(gy, in_shape)


class Sum(Function):
    save_inputs = False

    def __init__(self, axes, keepdim, npd):
        self.axes, self.keepdim, self.npd = axes, keepdim, npd

    def forward(self, x):
        return x.sum(axis=self.axes, keepdims=self.keepdim, dtype=self.npd)

    def backward(self, gy):  # d sum = 1 for every element
        return _expand_back(gy, self._in_meta[0][0], self.axes, self.keepdim)


def sum(input, dim=None, keepdim=False, dtype=None):
    """Sum over ``dim``; integer and bool inputs sum to int64 like torch."""
    axes = norm_dims(dim, input.ndim, "sum")
    if dtype is not None:
        npd = D.to_np_dtype(dtype)
    else:
        npd = input._data.dtype if input._data.dtype.kind == "f" else np.dtype(np.int64)
    return Sum(axes, keepdim, npd)(input)


class Mean(Function):
    save_inputs = False

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        self.n = int(np.prod([x.shape[a] for a in self.axes])) if self.axes else 1
        return x.mean(axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):  # 1/n for every element
        return _expand_back(gy / self.n, self._in_meta[0][0], self.axes, self.keepdim)


def mean(input, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        from chainrule.functional.elementwise import cast
        input = cast(input, dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be "
                           f"either a floating point or complex dtype. Got: {input.dtype}")
    axes = norm_dims(dim, input.ndim, "mean")
    return Mean(axes, keepdim)(input)
