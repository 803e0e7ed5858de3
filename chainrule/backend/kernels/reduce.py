"""Sums over the trailing or the leading axes of a float array as a matrix-vector
product with a vector of ones.

NumPy's ``sum`` along a short contiguous axis runs its pairwise loop once per row:
for a (512, 128) float32 array it takes 19 us, where ``a @ ones(128)`` (BLAS's
``gemv``) takes 5 us; 48 us against 9 us for (2048, 32), the rows of a Transformer's
attention softmax.  Sums over the leading axes (a bias gradient, ``g.sum(0)``) gain
2-9x the same way, as ``ones(R) @ a``.  The error is of the same size as NumPy's
(relative to ``sum |a|``: 2-6e-8 against 1-5e-8 in float32 over rows of 32 to 1,027;
``gemv`` keeps vector-wide partial sums), so it is used for float32 and float64
arrays, C-contiguous, with at least :data:`_MIN_OTHER` results and, for row sums, at
most :data:`_MAX_LEN` terms (NumPy sums longer rows pairwise, more accurately; its
column sums are sequential like gemv's, 7x slower for (65,536, 32)); anything else is
NumPy's ``sum``.
"""
import numpy as np

from chainrule.backend.arrays import is_device_array

__all__ = ["fast_sum"]

_MIN_OTHER = 8         # fewer sums than this: NumPy's own loop is as fast
_MAX_LEN = 1 << 13     # longer sums: NumPy's pairwise summation (its error grows slower)
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_ONES = {}


def _ones(n, dtype):
    key = (n, dtype)
    v = _ONES.get(key)
    if v is None:
        v = np.ones(n, dtype)
        v.flags.writeable = False
        if len(_ONES) < 256:
            _ONES[key] = v
    return v


def fast_sum(a, axes, keepdims=False):
    """``a.sum(axis=axes, keepdims=keepdims)`` (``axes`` a tuple of axes), by ``gemv``
    where that is faster (see the module)."""
    nd = a.ndim
    axes = tuple(sorted(ax % nd for ax in axes)) if nd else tuple(axes)
    if (not axes or is_device_array(a) or a.dtype not in _FLOATS
            or not a.flags.c_contiguous or a.size == 0):
        return a.sum(axis=axes, keepdims=keepdims)
    k = len(axes)
    if axes == tuple(range(nd - k, nd)):          # trailing axes: row sums
        kept, trailing = a.shape[:nd - k], True
    elif axes == tuple(range(k)):                 # leading axes: column sums
        kept, trailing = a.shape[k:], False
    else:
        return a.sum(axis=axes, keepdims=keepdims)
    n = 1
    for ax in axes:
        n *= a.shape[ax]
    other = a.size // n
    # (NumPy sums a long row pairwise, more accurately than gemv: those stay NumPy's;
    # it sums columns row after row, as gemv does, so any length of those is ours)
    if other < _MIN_OTHER or n < 2 or (trailing and n > _MAX_LEN):
        return a.sum(axis=axes, keepdims=keepdims)
    ones = _ones(n, a.dtype)
    s = a.reshape(other, n) @ ones if trailing else ones @ a.reshape(n, other)
    if not keepdims:
        return s.reshape(kept)
    return s.reshape(kept + (1,) * k if trailing else (1,) * k + kept)
