"""torch.nn.functional's variants of ops defined elsewhere: the in-place activations
(``relu_``, ``elu_``...), the ``*_with_indices`` pools, ``pixel_shuffle`` /
``pixel_unshuffle`` and ``channel_shuffle`` (reshape and permute), ``rrelu`` (leaky
ReLU with random slopes), ``gumbel_softmax`` (softmax of Gumbel-perturbed logits) and
``pdist`` (pairwise distances of the rows); none has a backward of its own.

>>> import chainrule as cr
>>> pixel_shuffle(cr.arange(8.0).reshape(1, 4, 1, 2), 2).shape
chainrule.Size([1, 1, 2, 4])
"""
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor, from_array
from chainrule.functional.autocast import autocast_op
from chainrule.functional.activation import (celu, elu, hardtanh, leaky_relu, maybe_inplace,
                                             require_floating, selu, softmax, threshold)
from chainrule.functional.elementwise import log
from chainrule.functional.masking import where
from chainrule.functional.reduction import norm
from chainrule.functional.scatter import index_select
from chainrule.functional.pooling import (adaptive_max_pool1d, adaptive_max_pool2d, max_pool1d,
                                          max_pool2d)
from chainrule.functional.shape import permute, reshape

__all__ = ["relu_", "elu_", "celu_", "selu_", "leaky_relu_", "hardtanh_", "threshold_",
           "max_pool1d_with_indices", "max_pool2d_with_indices",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
           "rrelu", "rrelu_", "gumbel_softmax", "pdist"]


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


def channel_shuffle(input, groups):
    """(N, g*k, *) -> (N, k*g, *): the channels of ``groups`` groups interleaved
    (ShuffleNet): channel ``i*k + j`` moves to ``j*g + i``."""
    c = input.shape[1] if input.ndim >= 2 else 0
    if input.ndim < 3 or not isinstance(groups, numbers.Integral) or groups <= 0 \
            or c % groups:
        raise RuntimeError(f"channel_shuffle: expected an (N, C, *) input with C divisible "
                           f"by groups > 0, got input {tuple(input.shape)} and groups "
                           f"{groups!r}")
    n, rest = input.shape[0], tuple(input.shape[2:])
    x = reshape(input, n, groups, c // groups, *rest)
    x = permute(x, 0, 2, 1, *range(3, x.ndim))
    return reshape(x, n, c, *rest)


native_channel_shuffle = channel_shuffle


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU (Xu et al. 2015): in training each element ``x <= 0`` is
    multiplied by its own slope drawn from U(lower, upper); in eval by
    ``(lower + upper) / 2``."""
    require_floating(input, "rrelu")
    if not lower <= upper:
        raise ValueError(f"rrelu: lower bound should be at most the upper bound, got "
                         f"lower={lower} upper={upper}")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    x = input.array
    xp = B.xp_of(x)
    slope = from_array(B.get_rng(xp).uniform(lower, upper, size=x.shape).astype(x.dtype))
    return maybe_inplace(input, inplace, lambda t: where(t > 0, t, t * slope), "rrelu")


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """Samples from the Gumbel-softmax (concrete) distribution: ``softmax((logits + g) /
    tau)`` with ``g`` standard Gumbel noise; ``hard`` returns the one-hot argmax with the
    soft sample's gradient (straight-through)."""
    require_floating(logits, "gumbel_softmax")
    x = logits.array
    xp = B.xp_of(x)
    gumbels = -log(from_array(B.get_rng(xp).exponential(size=x.shape).astype(x.dtype)))
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    y = y_soft.array
    d = dim % max(y.ndim, 1)
    hot = (y == y.max(axis=d, keepdims=True))
    first = xp.cumsum(hot, axis=d) == 1  # one 1 per row even on ties
    y_hard = from_array((hot & first).astype(y.dtype))
    return y_hard - y_soft.detach() + y_soft


@autocast_op("pdist")
def pdist(input, p=2):
    """The p-norm distances between the rows of an (N, M) input: the N(N-1)/2 pairs
    ``i < j`` in row-major order (``scipy.spatial.distance.pdist``'s order)."""
    if not isinstance(input, Tensor) or input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: "
                           f"{getattr(input, 'ndim', type(input).__name__)}D")
    require_floating(input, "pdist")
    if p < 0:
        raise RuntimeError(f"pdist only supports non-negative p values, got {p}")
    i, j = np.triu_indices(input.shape[0], 1)
    xp = B.xp_of(input.array)
    rows = lambda k: index_select(input, 0, from_array(xp.asarray(k)))  # noqa: E731
    return norm(rows(i) - rows(j), p, 1)
