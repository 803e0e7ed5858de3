"""Run the independent blocks of a kernel on a few threads (private).

The convolution kernels split their work into cache-sized blocks (im2col row
blocks, Winograd tile blocks).  Here the blocks are shared out to
``get_num_threads()`` threads (the caller plus a small pool), each pulling the
next block index from a shared counter, so a thread the OS deschedules on a
busy machine just does fewer blocks.  NumPy releases the GIL in the copies,
additions and GEMMs a block is made of.

While blocks run in parallel, OpenBLAS is switched to one thread (and
restored afterwards): the parallelism is ours, and OpenBLAS's own threads
would otherwise be oversubscribed and, worse, spin-wait on every one of the
many small GEMMs.  When the BLAS thread count cannot be controlled (a NumPy
not built on OpenBLAS) or the arrays are CuPy arrays, blocks run serially in
the calling thread.
"""
import ctypes
import glob
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["get_num_threads", "set_num_threads", "run", "reduce"]


# ---------------------------------------------------------------- OpenBLAS control
def _find_openblas():
    """(set_num_threads, get_num_threads) of the OpenBLAS NumPy uses, or None."""
    paths = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs",
                                   "*openblas*"))
    try:
        with open("/proc/self/maps") as f:
            paths += sorted({line.split()[-1] for line in f if "openblas" in line})
    except OSError:  # pragma: no cover - not Linux
        pass
    names = [("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
             ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
             ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
             ("openblas_set_num_threads", "openblas_get_num_threads")]
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:  # pragma: no cover
            continue
        for set_name, get_name in names:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                return setter, getter
    return None


class _State:
    blas = _find_openblas()
    threads = None          # our thread count (default: OpenBLAS's at first use)
    pool = None
    pool_size = 0
    pool_pid = None
    lock = threading.Lock()
    blas_lock = threading.Lock()
    blas_users = 0            # callers currently spreading blocks (BLAS kept at 1 thread)
    blas_saved = None
    busy = threading.local()  # set while a thread runs blocks: no nested spreading


def get_num_threads():
    """Threads the convolution kernels use (OpenBLAS's thread count by default)."""
    if _State.threads is None:
        n = _State.blas[1]() if _State.blas is not None else 1
        _State.threads = max(1, int(n))
    return _State.threads


def set_num_threads(n):
    """Set the threads used by the kernels and by OpenBLAS (like torch's)."""
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive thread count, got {n}")
    _State.threads = n
    if _State.blas is not None:
        _State.blas[0](n)


def _pool(workers):
    """The worker pool (re-created after a fork, whose child has no threads)."""
    with _State.lock:
        if _State.pool is None or _State.pool_pid != os.getpid() or \
                _State.pool_size < workers:
            if _State.pool is not None and _State.pool_pid == os.getpid():
                _State.pool.shutdown(wait=False)
            _State.pool = ThreadPoolExecutor(workers, thread_name_prefix="chainrule-kernel")
            _State.pool_size, _State.pool_pid = workers, os.getpid()
        return _State.pool


def _parallel(nblocks, xp):
    n = get_num_threads()
    return (n > 1 and nblocks > 1 and xp is np and _State.blas is not None
            and not getattr(_State.busy, "on", False))


def _spread(worker, nblocks):
    """Run ``worker()`` on ``min(threads, nblocks)`` threads (this one included)
    with single-threaded OpenBLAS; returns their results."""
    n = min(get_num_threads(), nblocks)
    setter, getter = _State.blas

    def marked():
        _State.busy.on = True
        try:
            return worker()
        finally:
            _State.busy.on = False
    with _State.blas_lock:  # several user threads may be spreading blocks at once
        if _State.blas_users == 0:
            _State.blas_saved = getter()
            setter(1)
        _State.blas_users += 1
    try:
        pool = _pool(get_num_threads() - 1)
        futures = [pool.submit(marked) for _ in range(n - 1)]
        out = [marked()]
        return out + [f.result() for f in futures]
    finally:
        with _State.blas_lock:
            _State.blas_users -= 1
            if _State.blas_users == 0:
                setter(_State.blas_saved)


def run(fn, blocks, xp=np):
    """Call ``fn(block)`` for every block (in any order, possibly concurrently)."""
    blocks = list(blocks)
    if not _parallel(len(blocks), xp):
        for b in blocks:
            fn(b)
        return
    counter = itertools.count()

    def worker():
        while True:
            i = next(counter)
            if i >= len(blocks):
                return None
            fn(blocks[i])
    _spread(worker, len(blocks))


def reduce(fn, blocks, xp=np):
    """``sum(fn(block) for block in blocks)`` (arrays; None when there are no
    blocks), blocks possibly computed concurrently."""
    blocks = list(blocks)
    if not _parallel(len(blocks), xp):
        acc = None
        for b in blocks:
            r = fn(b)
            acc = r if acc is None else _add(acc, r)
        return acc
    counter = itertools.count()

    def worker():
        acc = None
        while True:
            i = next(counter)
            if i >= len(blocks):
                return acc
            r = fn(blocks[i])
            acc = r if acc is None else _add(acc, r)
    acc = None
    for r in _spread(worker, len(blocks)):
        if r is not None:
            acc = r if acc is None else _add(acc, r)
    return acc


def _add(a, b):
    a += b
    return a
