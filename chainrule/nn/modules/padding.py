"""Padding layers (``ConstantPad2d``, ``ReflectionPad1d``, ``ZeroPad2d``...), each one
``F.pad`` call with torch's padding tuple, and the small distance layers
(``CosineSimilarity``, ``PairwiseDistance``) and ``Fold`` / ``Unfold``.

>>> import chainrule as cr, chainrule.nn as nn
>>> nn.ReflectionPad2d(1)(cr.zeros(1, 1, 2, 3)).shape
chainrule.Size([1, 1, 4, 5])
>>> nn.ZeroPad2d((1, 0, 2, 0))(cr.ones(1, 2, 2)).shape
chainrule.Size([1, 4, 3])
"""
import numbers

from chainrule.nn import functional as F
from chainrule.nn.modules.module import Module

__all__ = ["ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d",
           "ZeroPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d", "CosineSimilarity", "PairwiseDistance", "Fold",
           "Unfold"]


class _PadNd(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding, value=None):
        super().__init__()
        if isinstance(padding, numbers.Integral):
            padding = (int(padding),) * (2 * self.dims)
        padding = tuple(int(p) for p in padding)
        if len(padding) != 2 * self.dims:
            raise ValueError(f"{type(self).__name__}: padding must be an int or "
                             f"{2 * self.dims} ints, got {padding}")
        self.padding = padding
        self.value = value

    def forward(self, input):
        if self.mode == "constant":
            return F.pad(input, self.padding, "constant", self.value or 0.0)
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        if self.mode == "constant" and not type(self).__name__.startswith("Zero"):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


def _pad_class(name, mode, dims, zero=False):
    def __init__(self, padding, value=0.0):
        _PadNd.__init__(self, padding, 0.0 if zero else value)
    attrs = {"mode": mode, "dims": dims, "__module__": __name__,
             "__doc__": f"Pads the last {dims} dim(s) ({mode} mode, as ``F.pad``)."}
    if mode != "constant" or zero:
        attrs["__init__"] = lambda self, padding: _PadNd.__init__(
            self, padding, 0.0 if zero else None)
    elif mode == "constant":
        attrs["__init__"] = __init__
    return type(name, (_PadNd,), attrs)


for _d in (1, 2, 3):
    for _name, _mode, _zero in (("ConstantPad", "constant", False), ("ZeroPad", "constant", True),
                                ("ReflectionPad", "reflect", False),
                                ("ReplicationPad", "replicate", False),
                                ("CircularPad", "circular", False)):
        globals()[f"{_name}{_d}d"] = _pad_class(f"{_name}{_d}d", _mode, _d, _zero)


class CosineSimilarity(Module):
    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class Unfold(Module):
    """Sliding blocks of a (N, C, H, W) input as columns (``F.unfold``)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Unfold):
    """Columns back into a (N, C, H, W) output, summing overlaps (``F.fold``)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self):
        return f"output_size={self.output_size}, " + super().extra_repr()
