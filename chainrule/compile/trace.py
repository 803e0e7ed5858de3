"""Capture: run a call once in eager mode and record every op it applies.

While a :class:`Tracer` is active, ``Function.__call__`` is swapped for a recording
wrapper (and put back afterwards), so eager mode pays nothing for the feature: no flag
is tested on the hot path.  Each top-level op call becomes a :class:`Node` holding the
op's Function instance (its class and attributes say what to compute), the slots of
its input values and the slots of its output values.  A slot is one array-valued
value of the program; slots are numbered in the order they appear.

Values that no recorded op produced are *free*: the call's inputs, the module's
parameters and buffers (read live at every call), and tensors made during the call
outside any op (a scalar operand, a mask): those are *constants*, frozen at their
traced value.  A constant that depends on the data would be frozen wrongly, so the
compiler traces twice and refuses a plan whose constants differ between the traces.

What cannot be captured raises :class:`CaptureError` (the caller falls back to eager
for the whole call and logs the reason once): reading a value into Python
(``.item()``, ``bool(t)``, ``.tolist()``, ``.numpy()``), ``backward()`` inside the
captured call, an in-place write into a value the program already used (batch norm's
running statistics in training mode, an optimizer step).  An op that carries an array
made outside the ops is compared across the two traces (so a random array falls back),
except dropout's mask: its draw (``dropout_mask``) is recorded as a :class:`RandomDraw`
node that draws a new mask from the global generator at every call, in the same order
as eager mode, so a compiled call with dropout equals the eager call with the same seed.
"""
import importlib
import threading

from chainrule.backend import array_types
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor
from chainrule.functional import normalization as _norm

# the module, not the function the package re-exports under its name; the tracer swaps
# its global ``dropout_mask``, which dropout() looks up at every call
_drop = importlib.import_module("chainrule.functional.dropout")

__all__ = ["CaptureError", "Node", "Trace", "Tracer"]


class CaptureError(RuntimeError):
    """The call cannot be captured; the message says why."""


class Node:
    """One op of the captured program: ``outs = fn.forward(*ins)``.

    ``binds``: ``(path, slot)`` for arrays the op holds as attributes that are values
    of the program (embedding's indices are the input's array): the plan puts the
    current call's array there before running the op."""
    __slots__ = ("fn", "ins", "outs", "recorded", "attrs", "kind", "fused", "binds",
                 "attr_consts")

    def __init__(self, fn, ins, outs, recorded, attrs, binds=()):
        self.fn, self.ins, self.outs = fn, list(ins), list(outs)
        self.recorded = recorded     # the op joined the autograd graph (needs a backward)
        self.attrs = attrs           # the op's attributes at call time (for CSE)
        self.kind = "op"
        self.fused = None
        self.binds = list(binds)
        self.attr_consts = []

    @property
    def name(self):
        return type(self.fn).name() if hasattr(type(self.fn), "name") else type(self.fn).__name__


class Effect:
    """A side effect replayed in order: batch norm's running-statistics update."""
    __slots__ = ("name", "run", "ins", "outs", "recorded", "kind", "fused", "binds", "attrs",
                 "fn", "after", "attr_consts")

    def __init__(self, name, run, ins, after=None):
        self.name, self.run, self.ins = name, run, list(ins)
        self.after = after           # the op whose forward state the effect reads
        self.outs, self.recorded, self.kind, self.fused, self.binds = [], False, "effect", None, []
        self.attrs, self.fn, self.attr_consts = {}, None, []


class RandomDraw:
    """A random array the program makes afresh at every call (dropout's mask): ``out =
    draw()``, drawn from the global generator where eager mode draws it.  Never
    removed or merged by the passes (that would change every later draw)."""
    __slots__ = ("name", "draw", "ins", "outs", "recorded", "kind", "fused", "binds",
                 "attrs", "fn", "attr_consts", "after")

    def __init__(self, name, draw, out, attrs):
        self.name, self.draw, self.ins, self.outs = name, draw, [], [out]
        self.recorded, self.kind, self.fused, self.binds = False, "random", None, []
        self.attrs, self.fn, self.attr_consts, self.after = attrs, None, [], None


def _counter_effect(t, delta):
    def run(env):
        a = t.array
        a += delta
        t._version[0] += 1
    e = Effect(f"counter += {delta.item()}", run, [])
    e.attrs = {"delta": delta.item()}
    return e


def _arrays_in(obj, path=(), depth=0):
    """``(path, array)`` for each array inside an op's attribute value (tuples, lists,
    dicts and chainrule's own small objects, a few levels deep)."""
    if isinstance(obj, array_types):
        yield path, obj
        return
    if depth > 3 or isinstance(obj, (str, bytes, int, float, type(None), Tensor)):
        return
    if isinstance(obj, (tuple, list)):
        for i, v in enumerate(obj):
            yield from _arrays_in(v, path + (("item", i),), depth + 1)
    elif isinstance(obj, dict):
        for k, v in list(obj.items()):
            yield from _arrays_in(v, path + (("item", k),), depth + 1)
    elif type(obj).__module__.startswith("chainrule") and not isinstance(obj, Function):
        names = getattr(type(obj), "__slots__", ()) or list(getattr(obj, "__dict__", {}))
        for k in names:
            if hasattr(obj, k):
                yield from _arrays_in(getattr(obj, k), path + (("attr", k),), depth + 1)


def set_path(obj, path, value):
    """``obj`` with the value at ``path`` replaced (tuples are rebuilt, objects,
    lists and dicts updated in place); returns the (possibly new) object."""
    if not path:
        return value
    (kind, k), rest = path[0], path[1:]
    if kind == "attr":
        setattr(obj, k, set_path(getattr(obj, k), rest, value))
        return obj
    if isinstance(obj, tuple):
        items = list(obj)
        items[k] = set_path(items[k], rest, value)
        return type(obj)(items) if type(obj) is tuple else type(obj)(*items)
    obj[k] = set_path(obj[k], rest, value)
    return obj

    @property
    def name(self):
        return type(self.fn).name() if hasattr(type(self.fn), "name") else type(self.fn).__name__


class Trace:
    """The raw record of one traced call."""

    def __init__(self):
        self.nodes = []
        self.meta = []          # slot -> (shape, dtype) of its array at trace time
        self.free = {}          # slot -> ("input", i) | ("live", tensor) | ("const", array)
        self.requires_grad = []  # slot -> whether the value required grad when traced
        self.outputs = None


_LOCK = threading.Lock()
_ACTIVE = threading.local()   # the tracer capturing on this thread, if any


def tracing():
    """True while a capture (chainrule.compile's trace, ONNX export) runs on this thread:
    a compiled callable called inside it runs its module eagerly, so the outer capture
    records its ops (a nested capture would wait on the capture lock forever)."""
    return getattr(_ACTIVE, "tracer", None) is not None
_VALUE_READS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__")


class Tracer:
    """Context manager: record the ops run inside it into ``self.trace``.

    ``inputs``: the call's tensors (slot order); ``live``: tensors read afresh at
    every call (parameters, buffers)."""

    def __init__(self, inputs, live):
        self.trace = Trace()
        self._by_id = {}        # id(tensor) -> (slot, version at record time)
        self._by_node = {}      # (id(grad_fn), out_idx) -> slot
        self._keep = []         # every tensor seen (so that ids stay unique)
        self._live = {id(t): t for t in live}
        self._depth = 0
        self.problem = None     # the first reason the call cannot be captured
        self._by_array = {}     # id(array) -> slot
        self._live_versions = [(t, t._version[0], t.array.copy() if t.array.dtype.kind in "iu"
                                and t.array.size == 1 else None) for t in live]
        self._effect_owned = set()
        self._arrays = []       # arrays that own a slot without a tensor (random draws)
        for i, t in enumerate(inputs):
            self._new_slot(t, ("input", i))

    # ------------------------------------------------------------ slots
    def _new_slot(self, t, free=None):
        tr = self.trace
        s = len(tr.meta)
        a = t.array
        tr.meta.append((a.shape, a.dtype))
        tr.requires_grad.append(bool(t.requires_grad))
        if free is not None:
            tr.free[s] = free
        self._by_id[id(t)] = (s, t._version[0])
        self._by_array.setdefault(id(a), s)
        if t.grad_fn is not None:
            self._by_node[(id(t.grad_fn), t._out_idx)] = s
        self._keep.append(t)
        return s

    def slot_of(self, t):
        if t.grad_fn is not None:
            s = self._by_node.get((id(t.grad_fn), t._out_idx))
            if s is not None:
                return s
        hit = self._by_id.get(id(t))
        if hit is not None:
            s, version = hit
            if t._version[0] != version:
                raise CaptureError(f"a value of shape {tuple(t.shape)} was modified in place "
                                   f"after the program used it")
            return s
        if id(t) in self._live:
            return self._new_slot(t, ("live", t))
        return self._new_slot(t, ("const", t.array))

    # ------------------------------------------------------------ recording
    def _call(self, fn, inputs):
        if self._depth or self.problem is not None:
            return _ORIG_CALL(fn, *inputs)
        try:
            ins = [self.slot_of(t) for t in inputs]
            binds, attr_consts = [], []
            for k, v in fn.__dict__.items():
                for path, a in _arrays_in(v, (("attr", k),)):
                    s = self._by_array.get(id(a))
                    if s is None:   # made outside the ops: compared across the two traces
                        attr_consts.append((path, a))
                    else:
                        binds.append((path, s))
        except CaptureError as e:
            self.problem = str(e)
            return _ORIG_CALL(fn, *inputs)
        attrs = dict(fn.__dict__)
        self._depth += 1
        try:
            out = _ORIG_CALL(fn, *inputs)
        finally:
            self._depth -= 1
        outs = out if isinstance(out, tuple) else (out,)
        recorded = any(o.grad_fn is fn for o in outs)
        slots = [self._new_slot(o) for o in outs]
        node = Node(fn, ins, slots, recorded, attrs, binds)
        node.attr_consts = attr_consts
        self.trace.nodes.append(node)
        return out

    def _dropout_mask(self, x, shape, p):
        """Record (and make) a dropout mask as a :class:`RandomDraw` node."""
        mask = _ORIG_MASK(x, shape, p)
        if self.problem is not None or self._depth or threading.get_ident() != self._thread:
            return mask
        tr = self.trace
        s = len(tr.meta)
        tr.meta.append((mask.shape, mask.dtype))
        tr.requires_grad.append(False)
        self._by_array[id(mask)] = s
        self._arrays.append(mask)   # keeps its id unique while tracing
        shape, p = tuple(int(d) for d in shape), float(p)
        like = x.reshape(-1)[:0]    # the dtype and array module, nothing large

        def draw():
            return _ORIG_MASK(like, shape, p)
        tr.nodes.append(RandomDraw("dropout_mask", draw, s,
                                   {"shape": shape, "p": p, "dtype": str(mask.dtype)}))
        return mask

    def _running_stats(self, running_mean, running_var, fn, momentum, n):
        """Record (and run) batch norm's running-statistics update after ``fn``."""
        _ORIG_STATS(running_mean, running_var, fn, momentum, n)
        if self.problem is not None or threading.get_ident() != self._thread:
            return
        bufs = [t for t in (running_mean, running_var) if t is not None]
        for t in bufs:
            if id(t) not in self._live:
                self.problem = ("batch_norm updates running statistics that are not the "
                                "module's buffers")
            self._effect_owned.add(id(t))

        def run(env):
            _ORIG_STATS(running_mean, running_var, fn, momentum, n)
        e = Effect("update_running_stats", run, [], after=fn)
        e.attrs = {"momentum": momentum, "n": n}
        self.trace.nodes.append(e)

    def finish(self, flat_outputs):
        """Slots of the call's outputs (tensors) and a final in-place check; raises
        :class:`CaptureError` with the first problem met during the call."""
        if self.problem is not None:
            raise CaptureError(self.problem)
        outs = [self.slot_of(t) for t in flat_outputs]
        for t, v, before in self._live_versions:
            if t._version[0] != v and id(t) not in self._effect_owned:
                if before is None:
                    raise CaptureError(f"the call writes in place into a parameter or "
                                       f"buffer of shape {tuple(t.shape)}")
                # an integer counter (batch norm's num_batches_tracked): replay the step
                self.trace.nodes.append(_counter_effect(t, t.array - before))
        for t in self._keep:
            s, v = self._by_id[id(t)]
            if t._version[0] != v and self.trace.free.get(s, ("",))[0] in ("input", "live"):
                raise CaptureError(f"the call writes in place into a tensor of shape "
                                   f"{tuple(t.shape)} that lives outside it (for example "
                                   f"batch norm's running statistics in training mode)")
        self.trace.outputs = outs
        return outs

    def __enter__(self):
        _LOCK.acquire()
        _ACTIVE.tracer = tracer = self

        thread = self._thread = threading.get_ident()

        def traced_call(fn, *inputs):
            if threading.get_ident() != thread:   # another thread (a data loader's)
                return _ORIG_CALL(fn, *inputs)
            return tracer._call(fn, inputs)

        def refuse(name):
            orig = getattr(Tensor, name)

            def read(t, *a, **k):
                if tracer.problem is None and threading.get_ident() == thread:
                    tracer.problem = (f"Tensor.{name}() reads a value into Python "
                                      f"(data-dependent control flow cannot be captured)")
                return orig(t, *a, **k)
            return read

        orig_backward = Tensor.backward

        def no_backward(t, *a, **k):
            if tracer.problem is None and threading.get_ident() == thread:
                tracer.problem = ("backward() runs inside the captured call: compile the "
                                  "model (or the loss) and call backward() outside it")
            return orig_backward(t, *a, **k)

        self._saved = {n: Tensor.__dict__.get(n) for n in _VALUE_READS + ("backward",)}
        Function.__call__ = traced_call
        _norm.update_running_stats = self._running_stats
        _drop.dropout_mask = self._dropout_mask
        for n in _VALUE_READS:
            setattr(Tensor, n, refuse(n))
        Tensor.backward = no_backward
        return self

    def __exit__(self, *exc):
        Function.__call__ = _ORIG_CALL
        _norm.update_running_stats = _ORIG_STATS
        _drop.dropout_mask = _ORIG_MASK
        for n, v in self._saved.items():
            if v is None:
                try:
                    delattr(Tensor, n)
                except AttributeError:
                    pass
            else:
                setattr(Tensor, n, v)
        _ACTIVE.tracer = None
        _LOCK.release()
        return False


_ORIG_CALL = Function.__call__
_ORIG_STATS = _norm.update_running_stats
_ORIG_MASK = _drop.dropout_mask
