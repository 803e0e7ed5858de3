"""``DistributedDataParallel``: data-parallel training over ``chainrule.distributed`` (MPI).

Each rank holds a replica of the model and runs forward and backward on its share of
the global batch; the gradients are averaged over the ranks before the optimizer step,
so every replica takes the same step as one process would on the whole batch (when the
loss is a mean over the batch and every rank gets as many samples).

* At construction the parameters and buffers are broadcast from rank 0.
* Parameters are grouped into buckets of about ``bucket_cap_mb`` megabytes, in reverse
  order of ``parameters()`` (roughly the order backward produces their gradients).  A
  post-accumulate-grad hook on each parameter marks it ready; when every parameter of
  a bucket is ready the bucket's gradients are copied into one flat buffer and a
  non-blocking all-reduce (``MPI_Iallreduce``) starts while backward goes on.  Buckets
  start in order, so every rank issues the same collectives in the same order.
* When backward ends (an engine callback) the remaining buckets are reduced, every
  request is waited on and the averaged gradients are written back into ``.grad``.
  A parameter whose gradient arrives more than once (weights used twice) is counted on
  the first iteration, which reduces every bucket only at the end; a bucket that got a
  gradient after its reduction had started is reduced again (agreed across ranks), so
  the result is always the average of the complete gradients.
* Parameters that got no gradient on a rank contribute zeros (torch's
  ``find_unused_parameters=True`` result).
* ``no_sync()``: backward passes inside it only accumulate local gradients; the first
  pass outside reduces the accumulated sum.
* ``broadcast_buffers=True`` (default): buffers (BatchNorm running statistics) are
  broadcast from rank 0 before each forward in training mode, as torch does; each rank
  normalises with its local batch statistics (use ``SyncBatchNorm`` semantics by hand
  if you need global ones).
"""
import contextlib

import numpy as np

from chainrule import backend as B
from chainrule import distributed as dist
from chainrule.core import engine as _engine
from chainrule.core import grad_mode as _gm
from chainrule.core.tensor import from_array
from chainrule.nn.modules.module import Module

__all__ = ["DistributedDataParallel"]


class _Bucket:
    def __init__(self, index, params):
        self.index, self.params = index, params
        self.ready = set()
        self.flat = None
        self.request = None
        self.late = False


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training on every rank of the process group.

    Args:
        module: the model (the same architecture on every rank).
        broadcast_buffers: broadcast rank 0's buffers before each training forward.
        bucket_cap_mb: bucket size in megabytes (torch's default 25).
        find_unused_parameters, gradient_as_bucket_view, static_graph, device_ids,
        output_device, dim, process_group: accepted for torch compatibility.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, **kwargs):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a Module, got "
                            f"{type(module).__name__}")
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: call chainrule.distributed."
                               "init_process_group(backend='mpi') first")
        self.module = module
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.bucket_cap_mb = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        object.__setattr__(self, "_ddp", _Reducer(module, self.bucket_cap_mb))
        self.require_backward_grad_sync = True
        self._sync_module_states()

    def _sync_module_states(self):
        with _gm.no_grad():
            for _, p in self.module.named_parameters():
                dist.broadcast(p, 0)
            for _, b in self.module.named_buffers():
                dist.broadcast(b, 0)

    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers and self.training and dist.get_world_size() > 1:
            with _gm.no_grad():
                for _, b in self.module.named_buffers():
                    dist.broadcast(b, 0)
        self._ddp.armed = self.require_backward_grad_sync and _gm.is_grad_enabled()
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside only accumulate local gradients (no communication)."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    @property
    def buckets(self):
        """The parameter names of each gradient bucket, in reduction order."""
        names = {id(p): n for n, p in self.module.named_parameters()}
        return [[names[id(p)] for p in b.params] for b in self._ddp.buckets]


class _Reducer:
    """Buckets, gradient hooks and the end-of-backward synchronisation."""

    def __init__(self, module, cap_mb):
        params = [p for p in module.parameters() if p.requires_grad]
        self.params = params
        self.armed = False
        self.queued = False
        self.world = dist.get_world_size()
        self.expected = None       # gradients per parameter per backward (learned once)
        self.counts = {}
        self.buckets = []
        cap = cap_mb * 1024 * 1024
        cur, size = [], 0
        for p in reversed(params):
            nbytes = p.numel() * p.array.dtype.itemsize
            if cur and (size + nbytes > cap or p.array.dtype != cur[0].array.dtype
                        or B.device_of(p.array) != B.device_of(cur[0].array)):
                self.buckets.append(_Bucket(len(self.buckets), cur))
                cur, size = [], 0
            cur.append(p)
            size += nbytes
        if cur:
            self.buckets.append(_Bucket(len(self.buckets), cur))
        self.bucket_of = {id(p): b for b in self.buckets for p in b.params}
        self.next_bucket = 0
        for p in params:
            p.register_post_accumulate_grad_hook(self._hook)

    # ---------------------------------------------------------------- backward
    def _hook(self, p):
        if not self.armed:
            return
        if not self.queued:
            _engine.queue_callback(self._finish)
            self.queued = True
        k = id(p)
        self.counts[k] = self.counts.get(k, 0) + 1
        b = self.bucket_of[k]
        if b.request is not None or b.flat is not None:
            b.late = True          # a gradient arrived after this bucket was reduced
            return
        if self.expected is None or self.counts[k] < self.expected.get(k, 1):
            return
        b.ready.add(k)
        self._launch_ready()
        # drive the reductions in flight: without a progress thread (MPICH's
        # MPIR_CVAR_ASYNC_PROGRESS=1) MPI advances them only inside MPI calls
        for done in self.buckets[:self.next_bucket]:
            done.request.is_completed()

    def _launch_ready(self):
        while self.next_bucket < len(self.buckets):
            b = self.buckets[self.next_bucket]
            if len(b.ready) < len(b.params):
                break
            self._start(b)
            self.next_bucket += 1

    def _flatten(self, b):
        like = b.params[0].array
        xp = B.xp_of(like)
        flat = xp.empty(sum(p.numel() for p in b.params), like.dtype)
        o = 0
        for p in b.params:
            n = p.numel()
            if p.grad is None:
                flat[o:o + n] = 0
            else:
                flat[o:o + n] = p.grad.array.reshape(-1)
            o += n
        return flat

    def _start(self, b):
        # always the non-blocking all-reduce: MPI does not match a blocking collective on
        # one rank with a non-blocking one on another, and ranks may differ in which
        # buckets were ready during backward
        b.flat = from_array(self._flatten(b))
        b.request = dist.all_reduce(b.flat, dist.ReduceOp.SUM, async_op=True)

    def _finish(self):
        try:
            for b in self.buckets[self.next_bucket:]:
                self._start(b)
            for b in self.buckets:
                b.request.wait()
            # buckets that a late gradient reached on any rank are reduced again
            late = from_array(np.array([1 if b.late else 0 for b in self.buckets], np.int32))
            if self.world > 1:
                dist.all_reduce(late, dist.ReduceOp.MAX)
            again = [b for b, x in zip(self.buckets, late.array.tolist()) if x]
            for b in again:
                self._start(b)
            for b in again:
                b.request.wait()
            for b in self.buckets:
                self._write_back(b)
            if self.expected is None or any(late.array.tolist()):
                self.expected = dict(self.counts)
        finally:
            self.counts = {}
            self.next_bucket = 0
            self.queued = False
            for b in self.buckets:
                b.ready, b.flat, b.request, b.late = set(), None, None, False

    def _write_back(self, b):
        flat = b.flat.array
        flat /= self.world
        o = 0
        for p in b.params:
            n = p.numel()
            g = flat[o:o + n].reshape(p.shape)
            if p.grad is None:
                p.grad = from_array(g.copy())
            else:
                p.grad.array[...] = g
            o += n
