"""Per-thread scratch memory for the kernels' temporaries.

Padded buffers and im2col blocks live in per-thread scratch memory reused
across calls: fresh multi-megabyte allocations are mmapped and page-fault on
first touch, which cost about as much as the copies.  CuPy arrays get plain
``empty`` arrays (CuPy pools device memory itself).
"""
import threading

import numpy as np

__all__ = ["scratch", "release_scratch"]

_SCRATCH_CACHE_MAX = 64 << 20  # larger scratch arrays are not kept between calls


class _Scratch(threading.local):
    bufs = None


_SCRATCH = _Scratch()


def scratch(xp, name, shape, dtype):
    """An uninitialised array for a temporary of one kernel call.

    The memory is cached per thread and ``name`` and reused by later calls:
    fresh multi-megabyte allocations come from mmap and page-fault on first
    touch, which cost about as much as the copies themselves.  A scratch
    array must never outlive the kernel call that asked for it (kernels
    return fresh arrays), and two live temporaries need different names.
    :func:`release_scratch` frees the cache."""
    size = 1
    for n in shape:
        size *= n
    if xp is not np:  # CuPy pools its memory itself
        return xp.empty(shape, dtype=dtype)
    dtype = np.dtype(dtype)
    nbytes = size * dtype.itemsize
    if nbytes > _SCRATCH_CACHE_MAX:
        return np.empty(shape, dtype=dtype)
    if _SCRATCH.bufs is None:
        _SCRATCH.bufs = {}
    buf = _SCRATCH.bufs.get(name)
    if buf is None or buf.nbytes < nbytes:
        buf = _SCRATCH.bufs[name] = np.empty(max(nbytes, 64), dtype=np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def release_scratch():
    """Free the scratch memory the convolution kernels keep between calls."""
    _SCRATCH.bufs = None
