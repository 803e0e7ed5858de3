"""Pooling layers: max, average, adaptive, power-average and unpooling (torch's names,
arguments and reprs).  Each ``forward`` is one ``F.*`` call; errors name the layer."""
from chainrule.nn import functional as F
from chainrule.nn.modules.module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "MaxUnpool1d",
           "MaxUnpool2d", "LPPool1d", "LPPool2d"]


def _named(layer, fn, *args, **kwargs):
    """Call ``fn``; re-raise its error prefixed with the layer's repr."""
    try:
        return fn(*args, **kwargs)
    except (RuntimeError, ValueError) as e:
        raise type(e)(f"{layer._get_name()}({layer.extra_repr()}): {e}") from None


def _single(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


def _ntuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                f", dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over sliding windows of ``(N, C, L)`` or ``(C, L)`` input (see ``F.max_pool1d``).

    >>> import chainrule as cr
    >>> MaxPool1d(2)(cr.tensor([[[1., 3., 2., 5.]]])).tolist()
    [[[3.0, 5.0]]]
    """

    def forward(self, input):
        return _named(self, F.max_pool1d, input, self.kernel_size, self.stride, self.padding,
                      self.dilation, ceil_mode=self.ceil_mode,
                      return_indices=self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """Max over sliding windows of ``(N, C, H, W)`` or ``(C, H, W)`` input.

    Args: kernel_size, stride (default kernel_size), padding (implicit -inf),
    dilation, return_indices (also return flat per-plane argmax, for
    :class:`MaxUnpool2d`), ceil_mode.

    >>> import chainrule as cr
    >>> MaxPool2d(2)(cr.ones(1, 3, 28, 28)).shape
    chainrule.Size([1, 3, 14, 14])
    """

    def forward(self, input):
        return _named(self, F.max_pool2d, input, self.kernel_size, self.stride, self.padding,
                      self.dilation, ceil_mode=self.ceil_mode,
                      return_indices=self.return_indices)


class AvgPool1d(Module):
    """Mean over sliding windows of ``(N, C, L)`` or ``(C, L)`` input."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return _named(self, F.avg_pool1d, input, self.kernel_size, self.stride, self.padding,
                      self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over sliding windows of ``(N, C, H, W)`` or ``(C, H, W)`` input.

    >>> import chainrule as cr
    >>> AvgPool2d(2)(cr.ones(1, 1, 4, 4)).tolist()
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return _named(self, F.avg_pool2d, input, self.kernel_size, self.stride, self.padding,
                      self.ceil_mode, self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """Mean pooling of ``(N, C, L)`` input to ``output_size`` windows."""

    def forward(self, input):
        return _named(self, F.adaptive_avg_pool1d, input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Mean pooling of ``(N, C, H, W)`` input to ``output_size``; ``1`` is
    global average pooling.

    >>> import chainrule as cr
    >>> AdaptiveAvgPool2d((1, 1))(cr.ones(2, 8, 7, 7)).shape
    chainrule.Size([2, 8, 1, 1])
    """

    def forward(self, input):
        return _named(self, F.adaptive_avg_pool2d, input, self.output_size)


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Max pooling of ``(N, C, L)`` input to ``output_size`` windows."""

    def forward(self, input):
        return _named(self, F.adaptive_max_pool1d, input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max pooling of ``(N, C, H, W)`` input to ``output_size``."""

    def forward(self, input):
        return _named(self, F.adaptive_max_pool2d, input, self.output_size, self.return_indices)


class _MaxUnpoolNd(Module):
    _nd = 1

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _ntuple(kernel_size, self._nd)
        self.stride = _ntuple(stride if (stride is not None) else kernel_size, self._nd)
        self.padding = _ntuple(padding, self._nd)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool1d` (needs its indices)."""

    def forward(self, input, indices, output_size=None):
        return _named(self, F.max_unpool1d, input, indices, self.kernel_size, self.stride,
                      self.padding, output_size)


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool2d` (needs its indices)."""
    _nd = 2

    def forward(self, input, indices, output_size=None):
        return _named(self, F.max_unpool2d, input, indices, self.kernel_size, self.stride,
                      self.padding, output_size)


class _LPPoolNd(Module):
    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """Power-average pooling ``(sum x^p)^(1/p)`` over 1D windows."""

    def forward(self, input):
        return _named(self, F.lp_pool1d, input, float(self.norm_type), self.kernel_size,
                      self.stride, self.ceil_mode)


class LPPool2d(_LPPoolNd):
    """Power-average pooling ``(sum x^p)^(1/p)`` over 2D windows."""

    def forward(self, input):
        return _named(self, F.lp_pool2d, input, float(self.norm_type), self.kernel_size,
                      self.stride, self.ceil_mode)
