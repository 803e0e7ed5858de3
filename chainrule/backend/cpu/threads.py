"""Threads: run the independent blocks of a kernel on a few threads, and
control OpenBLAS's thread count.

The convolution kernels split their work into cache-sized blocks (im2col row
blocks, Winograd tile blocks).  Here the blocks are shared out to
``get_num_threads()`` threads (the caller plus a small pool), each pulling the
next block index from a shared counter, so a thread the OS deschedules on a
busy machine just does fewer blocks.  NumPy releases the GIL in the copies,
additions and GEMMs a block is made of.

While blocks run in parallel, OpenBLAS is switched to one thread (and
restored afterwards): the parallelism is ours, and OpenBLAS's own threads
would otherwise be oversubscribed and, worse, spin-wait on every one of the
many small GEMMs.

BLAS control is explicit: importing chainrule does not touch OpenBLAS.  It is
switched on by :func:`enable_blas_control` (called by
:func:`chainrule.backend.cpu.tune`, by :func:`set_num_threads`, and in the
processes chainrule's CLI starts).  Until then, or when the BLAS thread count
cannot be controlled (a NumPy not built on OpenBLAS), or for CuPy arrays,
blocks run serially in the calling thread and each GEMM uses BLAS's own
threads, as in plain NumPy code.
"""
import contextlib
import ctypes
import glob
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["get_num_threads", "set_num_threads", "run", "reduce", "enable_blas_control",
           "disable_blas_control", "blas_control_enabled", "gemm_threads"]


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
    blas = None             # (set, get) of OpenBLAS's thread count, once control is enabled
    threads = None          # our thread count (default: OpenBLAS's, or the CPUs we may use)
    pool = None
    pool_size = 0
    pool_pid = None
    lock = threading.Lock()
    blas_lock = threading.Lock()
    blas_users = 0            # callers currently spreading blocks (BLAS kept at 1 thread)
    blas_saved = None
    busy = threading.local()  # set while a thread runs blocks: no nested spreading


def enable_blas_control():
    """Let chainrule set OpenBLAS's thread count: one thread inside the kernels'
    own parallel blocks and for small GEMMs.  Returns whether OpenBLAS was found."""
    if _State.blas is None:
        _State.blas = _find_openblas()
        if _State.blas is not None and _State.threads is None:
            _State.threads = max(1, int(_State.blas[1]()))
    return _State.blas is not None


def disable_blas_control():
    """Stop touching OpenBLAS's thread count (blocks run serially again)."""
    _State.blas = None


def blas_control_enabled():
    return _State.blas is not None


def _default_threads():
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        try:
            return max(1, int(os.environ.get(var, "")))
        except ValueError:
            pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def get_num_threads():
    """Threads the convolution kernels use: :func:`set_num_threads`'s value, else
    OpenBLAS's thread count when BLAS control was enabled first, else
    ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` or the CPUs this process may use."""
    if _State.threads is None:
        _State.threads = _default_threads()
    return _State.threads


def set_num_threads(n):
    """Set the threads used by the kernels and by OpenBLAS (like torch's).

    An explicit request to control threads: it enables BLAS control
    (:func:`enable_blas_control`)."""
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive thread count, got {n}")
    _State.threads = n
    if enable_blas_control():
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


def _blas_single_enter():
    with _State.blas_lock:  # several user threads may be spreading blocks at once
        if _State.blas_users == 0:
            _State.blas_saved = _State.blas[1]()
            _State.blas[0](1)
        _State.blas_users += 1


def _blas_single_exit():
    with _State.blas_lock:
        _State.blas_users -= 1
        if _State.blas_users == 0:
            _State.blas[0](_State.blas_saved)


# GEMMs below this many multiply-adds (m*n*k) run on one BLAS thread: threads
# barely speed them up, and a multi-threaded call leaves OpenBLAS's workers
# spin-waiting for a while afterwards, taking a core from the kernel threads of
# the next layer (LeNet's Linear layers next to its convolutions: 2 threads
# were slower than 1).  OpenBLAS itself goes multi-threaded from 2^18.
SMALL_GEMM = 1 << 23


class _SingleBlas:
    __slots__ = ("on",)

    def __enter__(self):
        self.on = get_num_threads() > 1 and _State.blas is not None
        if self.on:
            _blas_single_enter()
        return self

    def __exit__(self, *exc):
        if self.on:
            _blas_single_exit()
        return False


_NOTHING = contextlib.nullcontext()


def gemm_threads(m, n, k):
    """Context for a GEMM of ``m x k`` by ``k x n``: single-threaded BLAS when it
    is small (:data:`SMALL_GEMM`), else nothing."""
    if m * n * k < SMALL_GEMM and _State.threads != 1:
        return _SingleBlas()
    return _NOTHING


def _spread(worker, nblocks):
    """Run ``worker()`` on ``min(threads, nblocks)`` threads (this one included)
    with single-threaded OpenBLAS; returns their results."""
    n = min(get_num_threads(), nblocks)

    def marked():
        _State.busy.on = True
        try:
            return worker()
        finally:
            _State.busy.on = False
    _blas_single_enter()
    try:
        pool = _pool(get_num_threads() - 1)
        futures = [pool.submit(marked) for _ in range(n - 1)]
        out = [marked()]
        return out + [f.result() for f in futures]
    finally:
        _blas_single_exit()


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
