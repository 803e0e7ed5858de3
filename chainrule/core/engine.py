"""The backward engine: iterative, ordered by generation, never recursive.

Nodes are popped from a heap highest generation first; a node's generation is
one more than the highest among its inputs' nodes, so every consumer of a
value has sent its gradient before the value's producer runs.  This is the
only place that sums broadcast gradients back to an input's shape and casts
them to the input's dtype.
"""
import heapq

from chainrule.core import grad_mode as _gm
from chainrule.core import autocast_state as _ac
from chainrule.core.function import Function
from chainrule.core.ops import ops as F
from chainrule.core.tensor import _make

__all__ = ["run_backward", "queue_callback"]

# callbacks queued during a backward pass (torch's Variable._execution_engine.queue_callback),
# run once, in order, when the outermost pass has delivered every gradient
_callbacks = []
_depth = [0]


def queue_callback(callback):
    """Run ``callback()`` when the backward pass now running ends (DDP's gradient sync)."""
    if not _depth[0]:
        raise RuntimeError("queue_callback: no backward pass is running")
    _callbacks.append(callback)


def _fit(gx, shape, dtype, fn, i):
    """Reduce a broadcast gradient to ``shape`` and cast it to ``dtype``."""
    if gx.shape != shape:
        try:
            gx = F.sum_to(gx, shape)
        except ValueError:
            raise RuntimeError(
                f"{fn.name()}.backward returned a gradient of shape {tuple(gx.shape)} "
                f"for input {i} of shape {tuple(shape)}; it does not broadcast") from None
        assert gx.shape == shape, (fn.name(), gx.shape, shape)
    if gx._data.dtype != dtype:
        gx = gx.to(dtype)
    return gx


def _run_hooks(hooks, grad):
    for h in hooks:
        r = h(grad)
        if r is not None:
            grad = r
    return grad


def _accumulate_leaf(leaf, g, passthrough, create_graph):
    if leaf._hooks:
        g = _run_hooks(leaf._hooks, g)
    if getattr(g, "is_sparse", False) or getattr(leaf.grad, "is_sparse", False):
        # sparse + sparse stays sparse (concatenated, as torch); with a dense one: dense
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    if leaf.grad is None:
        data = g._data
        # never store an alias of another gradient or a (read-only) view
        if any(data is p for p in passthrough) or data.base is not None \
                or not _writeable(data):
            data = data.copy()
        leaf.grad = g if (create_graph and data is g._data) else _make(data)
    elif create_graph:
        leaf.grad = leaf.grad + g
    else:
        try:
            leaf.grad._data += g._data
        except (ValueError, TypeError):  # read-only or dtype mismatch: rebuild
            leaf.grad = _make(leaf.grad._data + g._data)
    if leaf._post_hooks:
        for h in tuple(leaf._post_hooks):
            h(leaf)


def _writeable(a):
    flags = getattr(a, "flags", None)
    return flags is None or flags.writeable


def run_backward(roots, root_grads, retain_graph=False, create_graph=False,
                 inputs=None, allow_unused=False):
    """Backpropagate ``root_grads`` from ``roots``.

    With ``inputs`` (a list of Tensors) the gradients for those are returned
    instead of being accumulated into ``.grad`` (``autograd.grad``).
    """
    run = _Backward(inputs, create_graph)
    prev = _gm._State.enabled
    _gm._State.enabled = bool(create_graph)
    prev_autocast = _ac.suspend()   # backward runs in the dtypes the forward chose
    _depth[0] += 1
    try:
        run.seed(roots, root_grads)
        visited = []
        heap, pop = run.heap, heapq.heappop
        while heap:
            fn = pop(heap)[2]
            run.step(fn)
            visited.append(fn)
        if not retain_graph:
            for fn in visited:
                fn._release()
    finally:
        _gm._State.enabled = prev
        _ac.resume(prev_autocast)
        _depth[0] -= 1
    if _callbacks and not _depth[0]:
        cbs = _callbacks[:]
        del _callbacks[:]
        for cb in cbs:
            cb()
    return run.results(allow_unused)


class _Backward:
    """One backward pass: the nodes still to run, ordered by generation (a heap,
    highest first), the output gradients gathered for each, and, for
    ``autograd.grad``, the gradients captured for ``inputs``."""

    def __init__(self, inputs, create_graph):
        self.inputs, self.create_graph = inputs, create_graph
        self.pending, self.heap, self.counter = {}, [], 0
        self.capture = None
        if inputs is not None:
            self.capture = {}
            for k, t in enumerate(inputs):
                key = id(t) if t.grad_fn is None else (id(t.grad_fn), t._out_idx)
                self.capture.setdefault(key, []).append(k)
            self.captured = [None] * len(inputs)

    def _add(self, fn, idx, g):
        """Gather gradient ``g`` for output ``idx`` of node ``fn``."""
        slots = self.pending.get(fn)
        if slots is None:
            slots = self.pending[fn] = [None] * len(fn._out_meta)
            heapq.heappush(self.heap, (-fn.generation, self.counter, fn))
            self.counter += 1
        slots[idx] = g if slots[idx] is None else slots[idx] + g

    def _capture(self, ks, g):
        for k in ks:
            self.captured[k] = g if self.captured[k] is None else self.captured[k] + g

    def deliver_leaf(self, leaf, g, passthrough):
        if self.capture is None:
            _accumulate_leaf(leaf, g, passthrough, self.create_graph)
            return
        ks = self.capture.get(id(leaf))
        if ks is not None:
            if leaf._hooks:
                g = _run_hooks(leaf._hooks, g)
            self._capture(ks, g)

    def seed(self, roots, root_grads):
        for t, g in zip(roots, root_grads):
            if t.grad_fn is None:
                if t.requires_grad:
                    self.deliver_leaf(t, g, (g._data,))
                continue
            self._add(t.grad_fn, t._out_idx, g)

    def step(self, fn):
        """Run ``fn.backward`` on its gathered output gradients and pass the input
        gradients (fitted to each input's shape and dtype) down its edges."""
        gys = self.pending.pop(fn)
        if fn._tensor_hooks:
            for i, hs in fn._tensor_hooks.items():
                if gys[i] is not None:
                    gys[i] = _run_hooks(hs, gys[i])
        if fn._retained:
            _store_retained(fn._retained, gys, self.create_graph)
        if self.capture is not None:
            for i, g in enumerate(gys):
                ks = self.capture.get((id(fn), i))
                if ks is not None and g is not None:
                    self._capture(ks, g)
        fn._check_saved()
        if len(gys) > 1:
            gys = _materialize(fn, gys)
        gxs = fn.backward(*gys)
        if type(gxs) is not tuple:
            gxs = (gxs,)
        edges, in_meta = fn._edges, fn._in_meta
        if len(gxs) != len(edges):
            raise RuntimeError(f"{fn.name()}.backward returned {len(gxs)} gradients "
                               f"for {len(edges)} inputs")
        for i in range(len(edges)):
            edge, gx = edges[i], gxs[i]
            if edge is None or gx is None:
                continue
            target, idx = edge
            if getattr(gx, "is_sparse", False):  # embedding(sparse=True)'s weight gradient
                if isinstance(target, Function) or self.capture is not None:
                    gx = gx.to_dense()
                else:
                    self.deliver_leaf(target, gx, ())
                    continue
            shape, dtype = in_meta[i]
            d = gx._data
            if d.shape != shape or d.dtype != dtype:
                gx = _fit(gx, shape, dtype, fn, i)
            if isinstance(target, Function):
                self._add(target, idx, gx)
            else:
                self.deliver_leaf(target, gx, tuple(g._data for g in gys if g is not None))

    def results(self, allow_unused):
        if self.capture is None:
            return None
        for k, (t, r) in enumerate(zip(self.inputs, self.captured)):
            if r is None and not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {k}, shape {tuple(t.shape)}) "
                    f"appears to not have been used in the graph. Set allow_unused=True "
                    f"if this is the desired behavior.")
        return self.captured


def _materialize(fn, gys):
    out = list(gys)
    for i, g in enumerate(out):
        if g is None:
            shape, dtype = fn._out_meta[i]
            out[i] = _make(fn._xp.zeros(shape, dtype))
    return out


def _store_retained(retained, gys, create_graph):
    for i, ref in retained.items():
        t = ref()
        g = gys[i]
        if t is None or g is None:
            continue
        if t.grad is None:
            t.grad = g if create_graph else _make(g._data.copy())
        else:
            t.grad = t.grad + g if create_graph else _make(t.grad._data + g._data)
