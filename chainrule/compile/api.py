"""``chainrule.compile``: torch.compile's call shape over the capture in this package.

``compiled = chainrule.compile(model)`` (or a function) is called like the original.
Per *guard key* - the shapes, dtypes, devices and requires_grad flags of the tensor
arguments, the other arguments' values, the module's train/eval mode and grad mode -
the compiler keeps a cache entry:

1. the first call with a new key runs eagerly while tracing (:mod:`.trace`);
2. the second call traces again and compares: a different op sequence or a different
   constant means the call depends on its data in a way a plan cannot replay, and the
   key falls back to eager for good (reason logged once); otherwise the passes run on
   the second trace and it becomes the plan;
3. later calls run the plan (:class:`~.program.PlanFunction`), one autograd node whose
   backward fills ``.grad`` like eager mode.

More than ``cache_size`` keys: new keys run eagerly (logged once), like torch's
recompile limit.  Anything that cannot be captured falls back to eager for that call
shape, with the reason logged once on the ``chainrule.compile`` logger.
"""
import logging
import time
from collections import OrderedDict

from chainrule.backend import device_of
from chainrule.core import autocast_state as _ac
from chainrule.core import grad_mode as _gm
from chainrule.core.tensor import Tensor
from chainrule.nn.modules.module import Module
from chainrule.compile.trace import CaptureError, Tracer, tracing
from chainrule.compile.program import Program, PlanFunction
from chainrule.compile.passes import PASSES, DEFAULT_PASSES
from chainrule.compile import explain as _explain

__all__ = ["compile", "CompiledCallable", "OptimizedModule"]

log = logging.getLogger("chainrule.compile")


def compile(model=None, *, passes=DEFAULT_PASSES, cache_size=8, fullgraph=False,
            dynamic=None, backend=None, mode=None, options=None, disable=False):
    """Compile a Module or a function of tensors (``torch.compile``'s signature).

    ``passes``: the passes to run, in order (names from ``chainrule.compile.PASSES``:
    ``"dce"``, ``"cse"``, ``"fuse"``); ``cache_size``: guard keys kept per callable;
    ``fullgraph=True`` raises instead of falling back; ``options={"profile": True}``
    times every step of the plan (``explain()`` then says where the time goes).
    ``dynamic``, ``backend`` and ``mode`` are accepted for torch compatibility and
    ignored.
    ``disable=True`` returns ``model`` unchanged.
    """
    if model is None:   # @chainrule.compile(...) used as a decorator factory
        return lambda m: compile(m, passes=passes, cache_size=cache_size,
                                 fullgraph=fullgraph, disable=disable)
    if disable:
        return model
    for p in passes:
        if p not in PASSES:
            raise ValueError(f"chainrule.compile: unknown pass {p!r}; known: "
                             f"{sorted(PASSES)}")
    if not callable(model):
        raise TypeError(f"chainrule.compile: expected a Module or a function, got "
                        f"{type(model).__name__}")
    compiled = CompiledCallable(model, tuple(passes), int(cache_size), bool(fullgraph),
                                bool((options or {}).get("profile", False)))
    return OptimizedModule(model, compiled) if isinstance(model, Module) else compiled


# ---------------------------------------------------------------- pytrees
def _flatten(obj, leaves):
    """A structure spec of ``obj`` with its tensors appended to ``leaves``."""
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return ("T",)
    if isinstance(obj, (tuple, list)):
        return (type(obj), tuple(_flatten(x, leaves) for x in obj))
    if isinstance(obj, dict):
        return (dict, tuple((k, _flatten(v, leaves)) for k, v in obj.items()))
    return ("C", obj)


def _unflatten(spec, it):
    tag = spec[0]
    if tag == "T":
        return next(it)
    if tag == "C":
        return spec[1]
    if tag is dict:
        return {k: _unflatten(v, it) for k, v in spec[1]}
    items = [_unflatten(s, it) for s in spec[1]]
    return tag(items) if tag is list else (tuple(items) if tag is tuple else tag(*items))


def _hashable(spec):
    try:
        hash(spec)
        return True
    except TypeError:
        return False


class _Entry:
    __slots__ = ("traces", "program", "reason", "compile_s", "calls", "ready")

    def __init__(self):
        self.traces, self.program, self.reason, self.compile_s, self.calls = [], None, None, 0.0, 0
        self.ready = False


class CompiledCallable:
    """What :func:`compile` returns: call it like the original."""

    def __init__(self, model, passes, cache_size, fullgraph, profile=False):
        self._profile = profile
        self._orig_mod = model
        self._passes = passes
        self._cache_size = cache_size
        self._fullgraph = fullgraph
        self._cache = OrderedDict()
        self._logged = set()
        self._is_module = hasattr(model, "parameters") and hasattr(model, "training")

    # ---- the module's surface, shared with the original (torch's OptimizedModule)
    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._orig_mod, name)

    def __repr__(self):
        return f"CompiledCallable({self._orig_mod!r})"

    # ---- calling
    def _live(self):
        m = self._orig_mod
        if not self._is_module:
            return []
        return list(m.parameters()) + [b for b in m.buffers() if b is not None]

    def _key(self, spec, leaves):
        m = self._orig_mod
        return (spec, tuple((tuple(t.shape), str(t.array.dtype), str(device_of(t.array)),
                             bool(t.requires_grad)) for t in leaves),
                bool(getattr(m, "training", False)), _gm._State.enabled,
                tuple(bool(p.requires_grad) for p in self._live()), _ac.key())

    def _fallback(self, entry, reason):
        entry.reason = reason
        entry.traces = []
        if self._fullgraph:
            raise RuntimeError(f"chainrule.compile(fullgraph=True): {reason}")
        if reason not in self._logged:
            self._logged.add(reason)
            log.warning("chainrule.compile: running %s eagerly: %s", self._name(), reason)

    def _name(self):
        m = self._orig_mod
        return type(m).__name__ if self._is_module else getattr(m, "__name__", repr(m))

    def __call__(self, *args, **kwargs):
        if tracing():   # inside an outer capture: be part of it (inlined), not a program
            return self._orig_mod(*args, **kwargs)
        leaves = []
        spec = _flatten((args, kwargs), leaves)
        if not _hashable(spec):
            return self._orig_mod(*args, **kwargs)
        key = self._key(spec, leaves)
        entry = self._cache.get(key)
        if entry is None:
            if len(self._cache) >= self._cache_size:
                msg = (f"more than cache_size={self._cache_size} input signatures "
                       f"(shapes, dtypes, modes); new ones run eagerly")
                if msg not in self._logged:
                    self._logged.add(msg)
                    log.warning("chainrule.compile: %s: %s", self._name(), msg)
                return self._orig_mod(*args, **kwargs)
            entry = self._cache[key] = _Entry()
        else:
            self._cache.move_to_end(key)
        entry.calls += 1
        if entry.reason is not None:
            return self._orig_mod(*args, **kwargs)
        if entry.program is None and entry.ready:
            t0 = time.perf_counter()
            entry.program = self._plan(entry.traces[0])
            entry.traces = []
            entry.compile_s += time.perf_counter() - t0
        if entry.program is not None:
            return self._run(entry.program, leaves)
        return self._trace_call(entry, args, kwargs, leaves)

    def _trace_call(self, entry, args, kwargs, leaves):
        t0 = time.perf_counter()
        live = self._live()
        tracer = Tracer(leaves, live)
        with tracer:    # the call runs eagerly to its end; problems are noted
            out = self._orig_mod(*args, **kwargs)
        out_leaves = []
        out_spec = _flatten(out, out_leaves)
        try:
            tracer.finish(out_leaves)
        except CaptureError as e:
            self._fallback(entry, str(e))
            return out
        trace = tracer.trace
        trace.out_spec = out_spec
        trace.live = live
        entry.traces.append(trace)
        if len(entry.traces) == 2:
            reason = _differ(*entry.traces)
            if reason:
                self._fallback(entry, reason)
            else:   # planned at the next call, once this call's eager graph is done
                entry.traces = [entry.traces[1]]
                entry.ready = True
        entry.compile_s += time.perf_counter() - t0
        return out

    def _plan(self, trace):
        program = Program(trace)
        program.fused_members = []
        program.out_spec = trace.out_spec
        program.live_tensors = [t for _, t in program.live]
        for name in self._passes:
            before = sum(1 for n in program.nodes if n.kind == "op")
            changed = PASSES[name](program)
            program.stats.append((name, before, changed))
        program.profile = self._profile
        return program.finalize()

    def _run(self, program, leaves):
        arrays = [t for t in leaves] + program.live_tensors
        fn = PlanFunction(program)
        out = fn(*arrays)
        outs = out if isinstance(out, tuple) else (out,)
        return _unflatten(program.out_spec, iter(outs))

    # ---- teaching
    def explain(self):
        """The captured programs (one per guard key): graph, passes, fusion groups,
        memory plan, and any fallback reason - as text."""
        return _explain.explain(self)


def _differ(a, b):
    """Why two traces of one guard key cannot share a plan (or None)."""
    if len(a.nodes) != len(b.nodes):
        return (f"the call ran {len(a.nodes)} ops once and {len(b.nodes)} the next time "
                f"(data-dependent control flow)")
    for k, (x, y) in enumerate(zip(a.nodes, b.nodes)):
        if x.kind == "effect" and (y.kind != "effect" or x.attrs != y.attrs):
            return (f"{x.name} ran with other arguments the next time (it reads a "
                    f"buffer's value, like batch norm with momentum=None)")
        if (x.kind == "random") != (y.kind == "random") or (
                x.kind == "random" and x.attrs != y.attrs):
            return (f"op {k} was {x.name} once and {y.name} the next time "
                    f"(data-dependent control flow)")
        if (type(x.fn) is not type(y.fn) or x.ins != y.ins or x.outs != y.outs
                or [b[1] for b in x.binds] != [b[1] for b in y.binds]):
            return (f"op {k} was {x.name} once and {y.name} the next time, or read other "
                    f"values (data-dependent control flow)")
    for x, y in zip(a.nodes, b.nodes):
        if len(x.attr_consts) != len(y.attr_consts):
            return f"{x.name} holds different arrays from one call to the next"
        for (_, u), (_, v) in zip(x.attr_consts, y.attr_consts):
            if u.shape != v.shape or u.dtype != v.dtype or not bool((u == v).all()):
                return (f"{x.name} holds an array of shape {tuple(u.shape)} made outside "
                        f"the ops that changed between calls (random or data-dependent)")
    if a.free.keys() != b.free.keys():
        return "the call read different tensors from one call to the next"
    for s, va in a.free.items():
        vb = b.free[s]
        if va[0] != vb[0]:
            return "the call read different tensors from one call to the next"
        if va[0] == "const":
            x, y = va[1], vb[1]
            if x.shape != y.shape or x.dtype != y.dtype or not bool((x == y).all()):
                user = next((n.name for n in b.nodes if s in n.ins), "?")
                return (f"{user} reads a value of shape {tuple(x.shape)} made outside the "
                        f"ops that changed between calls (random or data-dependent)")
        elif va[0] == "live" and va[1] is not vb[1]:
            return "the call read different parameters from one call to the next"
    if a.outputs != b.outputs or a.out_spec != b.out_spec:
        return "the call returned different values from one call to the next"
    return None


class OptimizedModule(Module):
    """What :func:`compile` returns for a Module (torch's ``OptimizedModule``): a Module
    whose forward runs the original through its captured programs.

    It shares the original's parameters, buffers and submodules - the very same
    dictionaries - and its ``training`` flag, so ``parameters()``, ``state_dict()``,
    ``.to()``, ``train()``/``eval()`` and hooks act on the original whether the compiled
    module is used on its own or assigned into another model (whose optimizer then sees
    its parameters).  State-dict keys are the original's: torch prefixes them with
    ``_orig_mod.``; without the prefix a compiled model's checkpoint loads into the
    uncompiled model (docs/torch_differences.md).  Other attributes (``explain()``,
    the original's own methods and fields) are looked up on the compiled callable, then
    on the original, which is ``_orig_mod``.
    """

    def __init__(self, model, compiled):   # Module.__init__ would make fresh stores
        sa = object.__setattr__
        for k in ("_parameters", "_buffers", "_non_persistent_buffers_set", "_modules"):
            sa(self, k, model.__dict__[k])
        for k in ("_forward_hooks", "_forward_pre_hooks"):
            sa(self, k, OrderedDict())
        for k in ("_forward_hooks_with_kwargs", "_forward_pre_hooks_with_kwargs"):
            sa(self, k, set())
        sa(self, "_orig_mod", model)
        sa(self, "_compiled", compiled)

    @property
    def training(self):
        return self._orig_mod.training

    @training.setter
    def training(self, mode):
        self._orig_mod.training = mode

    def forward(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        if "_compiled" in d:
            return getattr(d["_compiled"], name)   # its own fields, else the original's
        raise AttributeError(f"'OptimizedModule' object has no attribute '{name}'")

    # the original's own (possibly overridden) state-dict methods write and read the entries
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        self._orig_mod._save_to_state_dict(destination, prefix, keep_vars)

    def _load_from_state_dict(self, *args, **kwargs):
        return self._orig_mod._load_from_state_dict(*args, **kwargs)

    def __repr__(self):
        return f"OptimizedModule({self._orig_mod!r})"
