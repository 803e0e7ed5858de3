"""Lazy layers: the input size comes from the first input (``nn.LazyConv2d(16, 3)``).

Each holds its constructor's arguments until the first call, then becomes the full
layer (``cls_to_become``, as torch) with ``in_channels`` / ``num_features`` =
``input.shape[1]``.  Until then it has no parameters: create the optimizer after a
first (dry-run) call, as torch advises.

>>> import chainrule as cr, chainrule.nn as nn
>>> m = nn.LazyConv2d(4, 3)
>>> m(cr.randn(2, 3, 8, 8)).shape, type(m).__name__, m.in_channels
(chainrule.Size([2, 4, 6, 6]), 'Conv2d', 3)
"""
from chainrule.nn.modules.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.normalization import (
    BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d)

__all__ = ["LazyConv1d", "LazyConv2d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


class _LazyModule(Module):
    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__()
        object.__setattr__(self, "_lazy_args", (args, kwargs))

    def has_uninitialized_params(self):
        return True

    def initialize_parameters(self, input):
        """Become ``cls_to_become`` with the input's channel count (dim 1)."""
        if input.ndim < 2:
            raise ValueError(f"{type(self).__name__}: expected an input of shape (N, C, ...), "
                             f"got {tuple(input.shape)}")
        args, kwargs = self._lazy_args
        training = self.training
        hooks = {k: self.__dict__[k] for k in ("_forward_hooks", "_forward_pre_hooks",
                                                "_forward_hooks_with_kwargs",
                                                "_forward_pre_hooks_with_kwargs")}
        del self.__dict__["_lazy_args"]
        cls = self.cls_to_become
        self.__class__ = cls
        cls.__init__(self, input.shape[1], *args, **kwargs)
        self.__dict__.update(hooks)
        self.train(training)

    def forward(self, input, *args, **kwargs):
        self.initialize_parameters(input)
        return self.forward(input, *args, **kwargs)

    def extra_repr(self):
        args, kwargs = self._lazy_args
        return ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])


def _lazy(cls):
    return type(f"Lazy{cls.__name__}", (_LazyModule,), {
        "cls_to_become": cls, "__module__": __name__,
        "__doc__": f"A :class:`{cls.__name__}` whose input size is taken from the first input."})


LazyConv1d, LazyConv2d = _lazy(Conv1d), _lazy(Conv2d)
LazyConvTranspose1d, LazyConvTranspose2d = _lazy(ConvTranspose1d), _lazy(ConvTranspose2d)
LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d = (
    _lazy(BatchNorm1d), _lazy(BatchNorm2d), _lazy(BatchNorm3d))
LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d = (
    _lazy(InstanceNorm1d), _lazy(InstanceNorm2d), _lazy(InstanceNorm3d))
