"""torch.nn.functional's variants of ops defined elsewhere: the in-place activations
(``relu_``, ``elu_``...), the ``*_with_indices`` pools, and ``pixel_shuffle`` /
``pixel_unshuffle`` (reshape and permute, so no backward of their own).

>>> import chainrule as cr
>>> pixel_shuffle(cr.arange(8.0).reshape(1, 4, 1, 2), 2).shape
(1, 1, 2, 4)
"""
from chainrule.functional.activation import celu, elu, hardtanh, leaky_relu, selu, threshold
from chainrule.functional.pooling import (adaptive_max_pool1d, adaptive_max_pool2d, max_pool1d,
                                          max_pool2d)
from chainrule.functional.shape import permute, reshape

__all__ = ["relu_", "elu_", "celu_", "selu_", "leaky_relu_", "hardtanh_", "threshold_",
           "max_pool1d_with_indices", "max_pool2d_with_indices",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "pixel_shuffle", "pixel_unshuffle"]


def relu_(input):
    return input.relu_()


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def selu_(input):
    return selu(input, inplace=True)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input, threshold_value, value):
    return threshold(input, threshold_value, value, inplace=True)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if input.ndim < 3 or c % (r * r):
        raise RuntimeError(f"pixel_shuffle: expected (*, C*{r * r}, H, W) input, got "
                           f"{tuple(input.shape)}")
    n = len(lead)
    x = reshape(input, *lead, c // (r * r), r, r, h, w)
    x = permute(x, *range(n), n, n + 3, n + 1, n + 4, n + 2)
    return reshape(x, *lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if input.ndim < 3 or h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle: expected (*, C, H*{r}, W*{r}) input, got "
                           f"{tuple(input.shape)}")
    n = len(lead)
    x = reshape(input, *lead, c, h // r, r, w // r, r)
    x = permute(x, *range(n), n, n + 2, n + 4, n + 1, n + 3)
    return reshape(x, *lead, c * r * r, h // r, w // r)
