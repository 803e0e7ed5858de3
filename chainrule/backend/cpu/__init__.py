"""The CPU backend: the kernel table for NumPy arrays, and the machine tuning
that is explicit (importing chainrule changes nothing outside chainrule).

Ops reach these kernels through :func:`chainrule.backend.kernels_of`, by name::

    K = kernels_of(x)            # this module for NumPy arrays
    y = K.conv_forward(x, w, geom, bias)

Tuning, off until asked for:

* :func:`tune` applies both switches below; ``CHAINRULE_CPU_TUNE=1`` applies it
  at ``import chainrule``, and the processes chainrule's own CLI starts apply it
  unless ``CHAINRULE_CPU_TUNE=0``.
* :func:`enable_blas_control` lets the kernels run their blocks on
  :func:`get_num_threads` threads with OpenBLAS held at one thread, and runs
  small GEMMs on one BLAS thread (:func:`chainrule.set_num_threads` enables
  it too).  Without it, blocks run one after another and each GEMM uses
  OpenBLAS's own threads, as plain NumPy code does.
* :func:`tune_malloc` keeps freed array memory in the process (glibc), so a
  training step does not page-fault on last step's temporaries.

What they buy is measured in ``docs/performance.md``.
"""
import os

import numpy as np

from chainrule.backend.cpu.layout import (  # noqa: F401
    align_layouts, digamma, erf, lgamma, polygamma, select, sigmoid, zero_where)
from chainrule.backend.cpu.malloc import malloc_tuned, tune_malloc  # noqa: F401
from chainrule.backend.cpu.scratch import release_scratch  # noqa: F401
from chainrule.backend.cpu.threads import (  # noqa: F401
    blas_control_enabled, disable_blas_control, enable_blas_control, gemm_threads,
    get_num_threads, set_num_threads)
from chainrule.backend.kernels.conv import conv_forward, conv_weight_grad  # noqa: F401
from chainrule.backend.kernels.conv_transpose import conv_input_grad  # noqa: F401
from chainrule.backend.kernels.rows import channel_sum, row_sum, rows_op  # noqa: F401
from chainrule.backend.kernels.window import (  # noqa: F401
    apply_mats, crop_last, pad_last, plane_gather, plane_scatter, window_max, window_sum,
    window_sum_t)

name = "cpu"

# Batch norm of a channels-last conv output works on its (N*H*W, C) rows
# (NumPy's own reductions over such an array run C elements at a time).
channels_last_batch_norm = True


def stable_argsort(a, axis):
    """A stable argsort along ``axis`` (equal elements keep their order)."""
    return np.argsort(a, axis=axis, kind="stable")


def tune(malloc=True, blas=True):
    """Apply the CPU tuning (see the module docstring); returns what took effect."""
    return {"malloc": bool(malloc) and tune_malloc(),
            "blas": bool(blas) and enable_blas_control()}


def tune_from_env(default=False):
    """:func:`tune` when ``CHAINRULE_CPU_TUNE`` says so (``1``/``0``), else when
    ``default``; the CLI passes ``default=True``."""
    value = os.environ.get("CHAINRULE_CPU_TUNE", "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return tune()
    if value in ("0", "false", "no", "off") or not default:
        return None
    return tune()

