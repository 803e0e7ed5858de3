"""Linear layers: ``Identity``, ``Linear``, ``Bilinear``, ``LazyLinear``."""
import math

from chainrule import backend as B
from chainrule.core.creation import empty
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.parameter import Parameter
from chainrule.nn.modules.module import Module

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear"]


def _shape_error(layer, expected, input):
    return RuntimeError(f"{layer}: expected input {expected}, got {tuple(input.shape)}")


class Identity(Module):
    """Returns its input; accepts (and ignores) any constructor arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x W^T + b``.

    Args:
        in_features: size of each input sample's last dimension.
        out_features: size of each output sample's last dimension.
        bias: learn an additive bias (default True).

    Shape: input ``(*, in_features)`` -> output ``(*, out_features)``.

    ``weight`` (out_features, in_features) and ``bias`` (out_features,) are
    initialised like torch: ``U(-1/sqrt(in_features), 1/sqrt(in_features))``.

    >>> import chainrule as cr
    >>> Linear(4, 3)(cr.ones(2, 4)).shape
    chainrule.Size([2, 3])
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in_features), dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        w = self.weight
        n = w.array.shape[1]   # arrays' shapes: no Size objects on this hot path
        shape = input.array.shape
        if not shape or shape[-1] != n:
            raise _shape_error(f"Linear(in_features={n})", f"(..., {n})", input)
        return F.linear(input, w, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")



class NonDynamicallyQuantizableLinear(Linear):
    """torch's name for MultiheadAttention's ``out_proj`` class (a Linear); here so
    that code naming it (safe_globals lists for ``torch.load``) finds it.  Not in
    ``chainrule.nn``'s namespace, like torch (it lives in ``nn.modules.linear``)."""

class Bilinear(Module):
    """``y = x1^T A x2 + b`` for each output feature.

    Shape: ``(*, in1_features)`` and ``(*, in2_features)`` ->
    ``(*, out_features)``; ``weight`` is (out_features, in1_features,
    in2_features), initialised ``U(-1/sqrt(in1_features), 1/sqrt(in1_features))``.
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in1_features, in2_features),
                                      dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        if input1.ndim == 0 or input1.shape[-1] != self.in1_features:
            raise _shape_error(f"Bilinear(in1_features={self.in1_features})",
                               f"input1 (..., {self.in1_features})", input1)
        if input2.ndim == 0 or input2.shape[-1] != self.in2_features:
            raise _shape_error(f"Bilinear(in2_features={self.in2_features})",
                               f"input2 (..., {self.in2_features})", input2)
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(Linear):
    """A :class:`Linear` whose ``in_features`` is taken from the first input.

    Until then ``weight`` is an empty placeholder (shape (out_features, 0))
    and ``in_features`` is 0; create the optimizer after the first call.
    """

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(0, out_features, bias, device, dtype)

    def reset_parameters(self):
        if self.in_features != 0:
            super().reset_parameters()

    def forward(self, input):
        if self.in_features == 0:
            self._materialize(input.shape[-1])
        return Linear.forward(self, input)

    def _materialize(self, in_features):
        self.in_features = in_features
        w = self.weight
        w.array = B.xp_of(w.array).empty((self.out_features, in_features), dtype=w.array.dtype)
        w._version[0] += 1
        self.reset_parameters()
        self.__class__ = Linear  # like torch's cls_to_become
