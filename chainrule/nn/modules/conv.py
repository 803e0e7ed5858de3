"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``.

Constructor arguments, attribute names, weight layouts, default
initialisation and ``repr`` follow ``torch.nn.modules.conv``.
"""
import math
import numbers

from chainrule.core.creation import empty
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module
from chainrule.nn.parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, n, what):
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return (int(v),) * n
    t = tuple(int(a) for a in v)
    if len(t) != n:
        raise ValueError(f"{what} must be an int or a tuple of {n} ints, got {v!r}")
    return t


class _ConvNd(Module):
    """Shared constructor, initialisation and repr of the convolution layers."""
    _nd = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, output_padding=0, device=None, dtype=None):
        super().__init__()
        nd = self._nd
        name = type(self).__name__
        if not isinstance(groups, numbers.Integral) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by "
                             f"groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by "
                             f"groups ({groups})")
        kernel_size = _ntuple(kernel_size, nd, "kernel_size")
        stride = _ntuple(stride, nd, "stride")
        dilation = _ntuple(dilation, nd, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one "
                                 f"of {{'same', 'valid'}}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions")
        else:
            padding = _ntuple(padding, nd, "padding")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode={padding_mode!r}")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.padding_mode = dilation, groups, padding_mode
        self.transposed = self._transposed
        self.output_padding = _ntuple(output_padding, nd, "output_padding")
        self._reversed_padding_repeated_twice = self._reversed_pads()
        if self._transposed:
            shape = (in_channels, out_channels // groups) + kernel_size
        else:
            shape = (out_channels, in_channels // groups) + kernel_size
        self.weight = Parameter(empty(shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _reversed_pads(self):
        """F.pad amounts (last dim first) for the non-zero padding modes."""
        if isinstance(self.padding, str):
            out = [0, 0] * self._nd
            if self.padding == "same":
                for i, (d, k) in enumerate(zip(self.dilation, self.kernel_size)):
                    total = d * (k - 1)
                    j = self._nd - 1 - i
                    out[2 * j], out[2 * j + 1] = total // 2, total - total // 2
            return out
        return [p for p in reversed(self.padding) for _ in range(2)]

    def reset_parameters(self):
        # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as in torch
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
            f"stride={self.stride}"
        if isinstance(self.padding, str) or self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def __setstate__(self, state):
        super().__setstate__(state)
        if not hasattr(self, "padding_mode"):
            self.padding_mode = "zeros"

    def _check_input(self, input):
        nd = self._nd
        cin = self.weight.shape[0] if self._transposed else self.weight.shape[1] * self.groups
        dims = ", ".join(("L",) if nd == 1 else ("H", "W"))
        if input.ndim not in (nd + 1, nd + 2) or input.shape[-nd - 1] != cin:
            raise RuntimeError(f"{type(self).__name__}({self.extra_repr()}): expected input "
                               f"(N, {cin}, {dims}) or ({cin}, {dims}), got "
                               f"{tuple(input.shape)}")


class _Conv(_ConvNd):
    _conv = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype)

    def _conv_forward(self, input, weight, bias):
        conv = type(self)._conv
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(input, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        self._check_input(input)
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-D convolution: ``(N, C_in, L) -> (N, C_out, L_out)``; see :class:`Conv2d`.

    >>> import chainrule as cr
    >>> Conv1d(16, 33, 3, stride=2)(cr.randn(20, 16, 50)).shape
    chainrule.Size([20, 33, 24])
    """
    _nd = 1
    _conv = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution: ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``.

    Args:
        in_channels, out_channels: channel counts (both divisible by ``groups``).
        kernel_size, stride, dilation: int or pair.
        padding: int, pair, ``'valid'`` or ``'same'``.
        groups: channel groups (``groups == in_channels``: depthwise).
        bias: learn a per-channel bias (default True).
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    ``weight`` is ``(out_channels, in_channels/groups, kH, kW)``; weight and bias
    start as ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with
    ``fan_in = in_channels/groups * kH * kW``, as in torch.

    >>> import chainrule as cr
    >>> m = Conv2d(1, 6, 5, padding=2)
    >>> m
    Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))
    >>> m(cr.randn(8, 1, 28, 28)).shape
    chainrule.Size([8, 6, 28, 28])
    """
    _nd = 2
    _conv = staticmethod(F.conv2d)


class _ConvTranspose(_ConvNd):
    _transposed = True
    _conv = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, "
                             f"got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device=device, dtype=dtype)

    def _output_padding(self, input, output_size):
        """The output_padding giving ``output_size`` (torch's rule)."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        output_size = tuple(int(s) for s in output_size)
        lead = input.ndim - nd
        if len(output_size) == lead + nd:
            output_size = output_size[lead:]
        if len(output_size) != nd:
            raise ValueError(f"{type(self).__name__}: output_size must have {nd} or "
                             f"{lead + nd} elements (got {len(output_size)})")
        lo = [(input.shape[lead + d] - 1) * self.stride[d] - 2 * self.padding[d]
              + self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(nd)]
        hi = [a + s - 1 for a, s in zip(lo, self.stride)]
        if any(not a <= n <= b for n, a, b in zip(output_size, lo, hi)):
            raise ValueError(f"requested an output size of {list(output_size)}, but valid "
                             f"sizes range from {lo} to {hi} (for an input of "
                             f"{tuple(input.shape[lead:])})")
        return tuple(n - a for n, a in zip(output_size, lo))

    def forward(self, input, output_size=None):
        self._check_input(input)
        opad = self._output_padding(input, output_size)
        return type(self)._conv(input, self.weight, self.bias, self.stride, self.padding,
                                opad, self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution: ``(N, C_in, L) -> (N, C_out, L_out)`` with
    ``L_out = (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1``.

    ``weight`` is ``(in_channels, out_channels/groups, k)``.

    >>> import chainrule as cr
    >>> ConvTranspose1d(4, 2, 3, stride=2)(cr.randn(1, 4, 5)).shape
    chainrule.Size([1, 2, 11])
    """
    _nd = 1
    _conv = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution (the gradient of :class:`Conv2d` w.r.t. its input).

    ``weight`` is ``(in_channels, out_channels/groups, kH, kW)``; ``forward``
    accepts ``output_size`` to choose ``output_padding`` as torch does.

    >>> import chainrule as cr
    >>> up = ConvTranspose2d(16, 8, 3, stride=2, padding=1)
    >>> up(cr.randn(1, 16, 12, 12), output_size=(1, 8, 24, 24)).shape
    chainrule.Size([1, 8, 24, 24])
    """
    _nd = 2
    _conv = staticmethod(F.conv_transpose2d)
