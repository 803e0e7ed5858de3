"""Resampling: ``interpolate`` / ``upsample`` (nearest, nearest-exact, linear,
bilinear, area), with torch's output sizes and source coordinates.

Each mode is a separable linear map of the spatial dims, so every backward
is the transposed map (and double backward the map again).  Integer
nearest upsampling is a block broadcast (backward: block sums); other cases
multiply each spatial dim by a small ``(out, in)`` interpolation matrix.
"""
import math
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor
from chainrule.functional.pooling import AvgPoolT, LinearMap, _adaptive_avg

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "area")
_ND = {"linear": 1, "bilinear": 2}


def _nearest_index(o, L, scale, exact):
    """torch's source index for output ``o`` (float32 arithmetic, like its CPU kernel)."""
    dst = np.arange(o)
    if not exact and o == L:
        return dst
    if not exact and o == 2 * L:
        return dst >> 1
    s = np.float32(1.0 / scale) if scale else np.float32(L) / np.float32(o)
    if exact:  # round(s * (dst + 0.5) - 0.5), the fused multiply-add rounded to float32
        real = np.maximum(((dst + 0.5) * np.float64(s) - 0.5).astype(np.float32), 0)
        src = np.floor(real + np.float32(0.5))
    else:
        src = np.floor(dst.astype(np.float32) * s)
    return np.minimum(src.astype(np.int64), L - 1)


def _linear_matrix(o, L, scale, align_corners):
    """``(o, L)`` matrix of torch's linear interpolation weights."""
    m = np.zeros((o, L))
    dst = np.arange(o)
    if o == L:
        m[dst, dst] = 1.0
        return m
    if align_corners:
        ratio = (L - 1) / (o - 1) if o > 1 else 0.0
        src = ratio * dst
    else:
        ratio = 1.0 / scale if scale else L / o
        src = np.maximum(ratio * (dst + 0.5) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), L - 1)
    lam = np.clip(src - i0, 0.0, 1.0)
    i1 = i0 + (i0 < L - 1)
    np.add.at(m, (dst, i0), 1.0 - lam)
    np.add.at(m, (dst, i1), lam)
    return m


def _sizes(input, nd, size, scale_factor, recompute_scale_factor, op):
    in_sizes = tuple(input.shape[-nd:])
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: either size or scale_factor should be defined (exactly one)")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        outs = (int(size),) * nd if isinstance(size, numbers.Integral) else tuple(size)
        if len(outs) != nd:
            raise ValueError(f"{op}: Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_sizes)} and output size of {list(outs)}. Please "
                             f"provide input tensor in (N, C, d1, d2, ...,dK) format and "
                             f"output size in (o1, o2, ...,oK) format.")
        return in_sizes, tuple(int(o) for o in outs), (None,) * nd
    sf = (float(scale_factor),) * nd if isinstance(scale_factor, numbers.Real) \
        else tuple(float(s) for s in scale_factor)
    if len(sf) != nd:
        raise ValueError(f"{op}: Input and scale_factor must have the same number of spatial "
                         f"dimensions, but got input with spatial dimensions of "
                         f"{list(in_sizes)} and scale_factor of shape {list(sf)}.")
    outs = tuple(int(math.floor(L * s)) for L, s in zip(in_sizes, sf))
    scales = (None,) * nd if recompute_scale_factor else sf
    return in_sizes, outs, scales


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of ``(N, C, L)``/``(N, C, H, W)`` input.

    Args:
        size: output spatial size (int or tuple), or
        scale_factor: multiplier(s); the output size is ``floor(in * scale)``.
        mode: 'nearest' (torch's legacy floor rule), 'nearest-exact',
            'linear' (3D input), 'bilinear' (4D input) or 'area'.
        align_corners: for linear modes, map corner pixel centres onto each
            other (default False).

    >>> import chainrule as cr
    >>> interpolate(cr.tensor([[[1., 2.]]]), scale_factor=2).tolist()
    [[[1.0, 1.0, 2.0, 2.0]]]
    """
    op = "interpolate"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if mode not in _MODES:
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported; expected one of "
                                  f"{_MODES}")
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported")
    if mode in _ND:
        if align_corners is None:
            align_corners = False
    elif align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"{op}: input of {input.ndim}D (shape {tuple(input.shape)})"
                                  f" is not supported; expected 3D (N, C, L) or 4D (N, C, H, W)")
    nd = input.ndim - 2
    if mode in _ND and _ND[mode] != nd:
        need = {1: "3D", 2: "4D"}[_ND[mode]]
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {need} "
                                  f"input")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype}")
    in_sizes, outs, scales = _sizes(input, nd, size, scale_factor, recompute_scale_factor, op)
    if any(o <= 0 for o in outs):
        raise RuntimeError(f"{op}: output size must be positive, got {outs} for input "
                           f"{tuple(input.shape)}")
    if mode == "area":
        return _adaptive_avg(input, nd, outs, op)
    if mode in ("nearest", "nearest-exact"):
        idx = [_nearest_index(o, L, s, mode == "nearest-exact")
               for o, L, s in zip(outs, in_sizes, scales)]
        reps = [o // L if o % L == 0 else 0 for o, L in zip(outs, in_sizes)]
        if all(r and np.array_equal(i, np.arange(o) // r) for r, i, o in zip(reps, idx, outs)):
            wins = [B.Windows.regular(o, L, r, r, 0, 1) for o, L, r in zip(outs, in_sizes, reps)]
            return AvgPoolT(wins, 1.0)(input)
        mats = []
        for i, L in zip(idx, in_sizes):
            m = np.zeros((len(i), L))
            m[np.arange(len(i)), i] = 1.0
            mats.append(m)
        return LinearMap(mats)(input)
    mats = [_linear_matrix(o, L, s, align_corners) for o, L, s in zip(outs, in_sizes, scales)]
    return LinearMap(mats)(input)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate` (torch keeps it too)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Bilinear upsampling with ``align_corners=True`` (torch's legacy helper)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
