"""The CUDA backend: the kernel table for CuPy arrays.

The kernels in :mod:`chainrule.backend.kernels` are written once for NumPy
and CuPy; with CuPy arrays they take their plain paths (no CPU threads, no
scratch cache, unblocked GEMMs).  What differs on a GPU is here.
"""
import contextlib

from chainrule.backend.arrays import _cupy
from chainrule.backend.kernels.conv import conv_forward, conv_weight_grad  # noqa: F401
from chainrule.backend.kernels.conv_transpose import conv_input_grad  # noqa: F401
from chainrule.backend.kernels.rows import channel_sum, row_sum, rows_op  # noqa: F401
from chainrule.backend.kernels.window import (  # noqa: F401
    apply_mats, crop_last, pad_last, plane_gather, plane_scatter, window_max, window_sum,
    window_sum_t)

name = "cuda"
channels_last_batch_norm = False
_NOTHING = contextlib.nullcontext()


def align_layouts(a, b):
    """Mixed memory layouts cost a GPU nothing worth a copy: unchanged."""
    return a, b


def zero_where(drop, g):
    """``where(drop, 0, g)``: a GPU does not mispredict branches."""
    return _cupy.where(drop, g.dtype.type(0), g)  # pragma: no cover - GPU path


def select(cond, a, b):
    """``where(cond, a, b)``: a GPU does not mispredict branches."""
    return _cupy.where(cond, a, b)  # pragma: no cover - GPU path


def sigmoid(x):
    """``1 / (1 + e^-x)``: the limit 0 where ``e^-x`` overflows (CuPy does not warn)."""
    return 1 / (1 + _cupy.exp(-x))  # pragma: no cover - GPU path


def erf(x):
    import cupyx.scipy.special as sp  # pragma: no cover - GPU path
    return sp.erf(x)  # pragma: no cover


from chainrule.backend.kernels.special import digamma, lgamma, polygamma  # noqa: F401,E402


def stable_argsort(a, axis):
    return _cupy.argsort(a, axis=axis)  # pragma: no cover - CuPy's sort is stable


def gemm_threads(m, n, k):
    """BLAS thread control is a CPU matter."""
    return _NOTHING
