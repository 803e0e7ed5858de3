"""Non-contiguous layouts for op tests (Chainer's ``contiguous`` test axis).

An op must give the same values and gradients whatever the strides of its
inputs.  :func:`make_layout` returns a NumPy view of a sample array in one of
three layouts, or ``None`` and the reason the layout does not apply:

``transposed``
    a C-contiguous array of the reversed shape, filled and transposed back:
    the values of the sample, strides in Fortran order.
``strided``
    every other element (step 2 on each axis) of a twice-as-large array
    whose other elements are NaN, so an op that reads past the view's
    strides shows it.
``channels_last``
    for inputs of three or more axes, axis 1 (channels) innermost in memory
    (NHWC for an NCHW image): the layout the conv and norm fast paths look for.
``broadcast``
    the first slice along the first axis of size > 1, broadcast back to the
    full shape (stride 0 on that axis, read-only).  The values change (that
    axis repeats), so it applies only where another axis of size > 1 keeps
    them varying (a broadcast 1-d input would be constant), and rows whose
    ops need distinct values along it (ties, full rank) opt out in the op
    table.

NumPy arrays give NumPy views and CuPy arrays CuPy views (the device axis).
Wrap the view with :func:`chainrule.core.tensor.from_array` so the op
receives it as is; give the reference the same values with
``np.ascontiguousarray(view)``.

>>> import numpy as np
>>> v, why = make_layout(np.arange(6.).reshape(2, 3), "transposed")
>>> v.flags.c_contiguous, v.tolist()
(False, [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
>>> make_layout(np.zeros(3), "transposed")
(None, 'transposed needs two axes of size > 1, got shape (3,)')
"""
import numpy as np

from chainrule import backend as B

__all__ = ["LAYOUTS", "make_layout"]

LAYOUTS = ("transposed", "strided", "channels_last", "broadcast")


def _transposed(a):
    if sum(d > 1 for d in a.shape) < 2:
        return None, f"transposed needs two axes of size > 1, got shape {a.shape}"
    buf = B.xp_of(a).empty(a.shape[::-1], a.dtype)
    view = buf.T
    view[...] = a
    return view, ""


def _channels_last(a):
    if a.ndim < 3 or a.shape[1] <= 1 or a.size == 0:
        return None, f"channels_last needs 3+ axes and 2+ channels, got shape {a.shape}"
    perm = (0,) + tuple(range(2, a.ndim)) + (1,)
    buf = B.xp_of(a).empty(tuple(a.shape[p] for p in perm), a.dtype)
    view = buf.transpose(tuple(int(i) for i in np.argsort(perm)))
    view[...] = a
    return view, ""


def _strided(a):
    if a.size <= 1:
        return None, f"strided needs more than one element, got shape {a.shape}"
    buf = B.xp_of(a).full(tuple(2 * d for d in a.shape), np.nan, a.dtype)
    view = buf[(slice(None, None, 2),) * a.ndim]
    view[...] = a
    return view, ""


def _broadcast(a):
    axes = [k for k, d in enumerate(a.shape) if d > 1]
    if len(axes) < 2:
        return None, (f"broadcast needs two axes of size > 1 (one repeats, one varies), "
                      f"got shape {a.shape}")
    k = axes[0]
    first = a[(slice(None),) * k + (slice(0, 1),)].copy()
    return B.xp_of(a).broadcast_to(first, a.shape), ""


_MAKERS = {"transposed": _transposed, "strided": _strided, "channels_last": _channels_last,
           "broadcast": _broadcast}


def make_layout(array, layout):
    """``(view, "")`` holding ``array``'s values in ``layout``, or ``(None, reason)``.

    The view lives where ``array`` does (NumPy or CuPy)."""
    if layout not in _MAKERS:
        raise ValueError(f"make_layout: unknown layout {layout!r}; expected one of {LAYOUTS}")
    a = B.xp_of(array).asarray(array)
    if a.dtype.kind != "f":
        return None, f"{layout} applies to float arrays, got {a.dtype}"
    return _MAKERS[layout](a)
