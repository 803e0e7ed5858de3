"""Helpers shared by the loss files (``loss.py``, ``loss_margin.py``): torch's
reduction arguments, input checks, and the class-target gather/scatter pair
``PickClass``/``PutClass`` (each the other's adjoint)."""
import warnings

import numpy as np

from chainrule import backend as B
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.binary import cast
from chainrule.functional.reduction import sum as _sum, mean as _mean

__all__ = []  # in-package helpers, not ops


# ---------------------------------------------------------------- helpers
def legacy_reduction(size_average, reduce, reduction):
    """torch's ``_Reduction.legacy_get_string``: the deprecated flags win."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{ret}' instead.", stacklevel=4)
    return ret


def check_reduction(reduction, op, allowed=("none", "mean", "sum")):
    if reduction not in allowed:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction "
                         f"(expected one of {', '.join(map(repr, allowed))})")


def reduction_mode(op, size_average, reduce, reduction):
    """The validated reduction (the deprecated flags win, as in torch)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction, op)
    return reduction


def reduce_loss(loss, reduction):
    if reduction == "mean":
        return _mean(loss)
    if reduction == "sum":
        return _sum(loss)
    return loss


def shape_of(x):
    return tuple(x.shape)


def check_floating(x, op, what="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected {what} to be a Tensor, got {type(x).__name__}")
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected {what} to be a floating-point tensor, "
                           f"got {x.dtype}")
    return x


def in_dtype_of(loss, like):
    """``loss`` in ``like``'s dtype.  torch writes some losses into a buffer of one
    operand's dtype instead of promoting: huber_loss and soft_margin_loss the
    input's, binary_cross_entropy_with_logits the target's."""
    return loss if loss._data.dtype == like._data.dtype else cast(loss, like.dtype)


def const_like(array, like):
    """A constant tensor (no grad) of ``like``'s dtype."""
    return _make(B.xp_of(like._data).asarray(array, dtype=like._data.dtype))


def check_pair(input, target, op):
    """Check an (input, target) pair of a pointwise loss; warn like torch when
    the shapes differ (and so broadcast)."""
    check_floating(input, op)
    check_floating(target, op, "target")
    if shape_of(target) != shape_of(input):
        try:
            np.broadcast_shapes(shape_of(input), shape_of(target))
        except ValueError:
            raise RuntimeError(f"{op}: target {shape_of(target)} is not broadcastable to "
                               f"input {shape_of(input)}") from None
        warnings.warn(f"{op}: Using a target size ({shape_of(target)}) that is different to "
                      f"the input size ({shape_of(input)}). This will likely lead to "
                      f"incorrect results due to broadcasting. Please ensure they have "
                      f"the same size.", stacklevel=3)


# ---------------------------------------------------------------- class targets
class PickClass(Function):
    """``x`` at the target class along ``dim`` (``idx`` has size 1 there); the
    class dim is dropped."""
    save_inputs = False

    def __init__(self, idx, dim):
        self.idx, self.dim = idx, dim

    def forward(self, x):
        return B.xp_of(x).take_along_axis(x, self.idx, axis=self.dim).squeeze(self.dim)

    def backward(self, gy):  # scatter gy into zeros at the target classes
        return PutClass(self.idx, self.dim, self._in_meta[0][0])(gy)


class PutClass(Function):
    """Zeros of ``shape`` with ``g`` placed at the target classes (adjoint of PickClass)."""
    save_inputs = False

    def __init__(self, idx, dim, shape):
        self.idx, self.dim, self.shape = idx, dim, shape

    def forward(self, g):
        xp = B.xp_of(g)
        return xp.where(class_mask(xp, self.idx, self.dim, self.shape[self.dim]),
                        xp.expand_dims(g, self.dim), g.dtype.type(0))

    def backward(self, gg):  # adjoint of scatter is gather
        return PickClass(self.idx, self.dim)(gg)


def class_mask(xp, idx, dim, n):
    """Boolean one-hot along ``dim`` (``idx`` has size 1 there)."""
    shape = [1] * idx.ndim
    shape[dim] = n
    return idx == xp.arange(n).reshape(shape)


class ClassTargets:
    """Validated class-index targets of ``input`` (class dim 1, or 0 when unbatched)."""

    def __init__(self, input, target, weight, ignore_index, op):
        x = input._data
        self.dim = 0 if x.ndim == 1 else 1
        self.n = n = x.shape[self.dim]
        want = shape_of(input)[:self.dim] + shape_of(input)[self.dim + 1:]
        t = target._data
        if x.ndim == 1 and t.shape == (1,):   # torch accepts (1,) for an unbatched input
            t = t.reshape(())
        if t.dtype.kind not in "iu":
            raise RuntimeError(f"{op}: expected target of class indices with an integer "
                               f"dtype (like int64), got {target.dtype}")
        if t.shape != want:
            raise ValueError(f"{op}: expected target {want} for input {shape_of(input)}, "
                             f"got {tuple(t.shape)}")
        xp = B.xp_of(x)
        valid = t != ignore_index
        bad = valid & ((t < 0) | (t >= n))
        if bad.any():
            raise IndexError(f"{op}: target {int(t[bad].reshape(-1)[0])} is out of bounds "
                             f"for {n} classes (input {shape_of(input)})")
        self.idx = xp.expand_dims(xp.where(valid, t, 0).astype(np.int64), self.dim)
        self.valid = valid
        self.w = class_weight(weight, n, op, x.dtype)
        self.wy = valid.astype(x.dtype) if self.w is None else \
            xp.where(valid, self.w[self.idx.squeeze(self.dim)], 0).astype(x.dtype)


def class_weight(weight, n, op, dtype):
    if weight is None:
        return None
    if not isinstance(weight, Tensor) or shape_of(weight) != (n,):
        shape = shape_of(weight) if isinstance(weight, Tensor) else type(weight).__name__
        raise RuntimeError(f"{op}: weight tensor should be defined either for all {n} "
                           f"classes or no classes but got weight tensor of shape: {shape}")
    return weight._data.astype(dtype, copy=False)


def bcast_class(vec, dim, ndim):
    """A (C,) vector shaped to broadcast along class dim ``dim``."""
    shape = [1] * ndim
    shape[dim] = vec.shape[0]
    return vec.reshape(shape)
