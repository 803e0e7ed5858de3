"""The backward engine: iterative, ordered by generation, never recursive.

Nodes are popped from a heap highest generation first; a node's generation is
one more than the highest among its inputs' nodes, so every consumer of a
value has sent its gradient before the value's producer runs.  This is the
only place that sums broadcast gradients back to an input's shape and casts
them to the input's dtype.
"""
import heapq

from chainrule.core import grad_mode as _gm
from chainrule.core.function import Function
from chainrule.core.ops import ops as F
from chainrule.core.tensor import _make

__all__ = ["run_backward"]


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


def _writeable(a):
    flags = getattr(a, "flags", None)
    return flags is None or flags.writeable


def run_backward(roots, root_grads, retain_graph=False, create_graph=False,
                 inputs=None, allow_unused=False):
    """Backpropagate ``root_grads`` from ``roots``.

    With ``inputs`` (a list of Tensors) the gradients for those are returned
    instead of being accumulated into ``.grad`` (``autograd.grad``).
    """
    capture = None
    if inputs is not None:
        capture = {}
        for k, t in enumerate(inputs):
            key = id(t) if t.grad_fn is None else (id(t.grad_fn), t._out_idx)
            capture.setdefault(key, []).append(k)
        results = [None] * len(inputs)

    def deliver_leaf(leaf, g, passthrough):
        if capture is None:
            _accumulate_leaf(leaf, g, passthrough, create_graph)
            return
        ks = capture.get(id(leaf))
        if ks is not None:
            if leaf._hooks:
                g = _run_hooks(leaf._hooks, g)
            for k in ks:
                results[k] = g if results[k] is None else results[k] + g

    prev = _gm._State.enabled
    _gm._State.enabled = bool(create_graph)
    try:
        pending = {}
        heap = []
        counter = 0
        for t, g in zip(roots, root_grads):
            fn = t.grad_fn
            if fn is None:
                if t.requires_grad:
                    deliver_leaf(t, g, (g._data,))
                continue
            slots = pending.get(fn)
            if slots is None:
                slots = pending[fn] = [None] * len(fn._out_meta)
                heapq.heappush(heap, (-fn.generation, counter, fn))
                counter += 1
            i = t._out_idx
            slots[i] = g if slots[i] is None else slots[i] + g
        visited = []
        push = heapq.heappush
        pop = heapq.heappop
        while heap:
            fn = pop(heap)[2]
            gys = pending.pop(fn)
            if fn._tensor_hooks:
                for i, hs in fn._tensor_hooks.items():
                    if gys[i] is not None:
                        gys[i] = _run_hooks(hs, gys[i])
            if fn._retained:
                _store_retained(fn._retained, gys, create_graph)
            if capture is not None:
                for i, g in enumerate(gys):
                    ks = capture.get((id(fn), i))
                    if ks is not None and g is not None:
                        for k in ks:
                            results[k] = g if results[k] is None else results[k] + g
            fn._check_saved()
            if len(gys) > 1:
                gys = _materialize(fn, gys)
            gxs = fn.backward(*gys)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            edges = fn._edges
            if len(gxs) != len(edges):
                raise RuntimeError(f"{fn.name()}.backward returned {len(gxs)} gradients "
                                   f"for {len(edges)} inputs")
            in_meta = fn._in_meta
            for i in range(len(edges)):
                edge = edges[i]
                gx = gxs[i]
                if edge is None or gx is None:
                    continue
                shape, dtype = in_meta[i]
                d = gx._data
                if d.shape != shape or d.dtype != dtype:
                    gx = _fit(gx, shape, dtype, fn, i)
                target, idx = edge
                if not isinstance(target, Function):
                    deliver_leaf(target, gx, tuple(g._data for g in gys if g is not None))
                    continue
                slots = pending.get(target)
                if slots is None:
                    slots = pending[target] = [None] * len(target._out_meta)
                    push(heap, (-target.generation, counter, target))
                    counter += 1
                slots[idx] = gx if slots[idx] is None else slots[idx] + gx
            visited.append(fn)
        if not retain_graph:
            for fn in visited:
                fn._release()
    finally:
        _gm._State.enabled = prev

    if capture is None:
        return None
    for k, (t, r) in enumerate(zip(inputs, results)):
        if r is None and not allow_unused:
            raise RuntimeError(
                f"One of the differentiated Tensors (input {k}, shape {tuple(t.shape)}) "
                f"appears to not have been used in the graph. Set allow_unused=True "
                f"if this is the desired behavior.")
    return results


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
