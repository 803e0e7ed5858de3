"""Small helpers shared by the CNN families: input-shape checks, weight init and
the size of a feature map after a stack of layers."""
import math

from chainrule import nn
from chainrule.core.creation import zeros
from chainrule.core.grad_mode import no_grad

__all__ = ["check_input_shape", "init_cnn", "conv_out", "flat_features"]


def check_input_shape(name, input_shape, min_size=1):
    """``(C, H, W)`` as ints; a clear error for anything else (e.g. a flattened 784)."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"{name}: expected input_shape (C, H, W), got {tuple(input_shape)}")
    if min(shape[1:]) < min_size:
        raise ValueError(f"{name}: images must be at least {min_size}x{min_size}, "
                         f"got {shape[1]}x{shape[2]}")
    return shape


def conv_out(size, kernel, stride=1, padding=0, dilation=1):
    """Output length of a convolution or pooling along one axis (floor mode)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def flat_features(module, input_shape):
    """Number of features ``module`` produces per sample for one ``input_shape`` image
    (runs a dummy forward without recording the graph)."""
    with no_grad():
        was = module.training
        module.eval()
        y = module(zeros(1, *input_shape))
        module.train(was)
    return int(math.prod(y.shape[1:]))


def init_cnn(model, nonlinearity="relu"):
    """He (Kaiming) normal init for convolutions, Xavier for linear layers, BN at (1, 0)
    (what d2l and torchvision do for ReLU networks)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity=nonlinearity)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
