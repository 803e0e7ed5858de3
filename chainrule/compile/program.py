"""The captured program and its plan: forward and backward replayed on raw arrays.

A :class:`Program` is built from a :class:`~chainrule.compile.trace.Trace`: the op
nodes (after the passes), the free slots (inputs, live parameters/buffers,
constants) and the output slots.  :meth:`Program.finalize` makes the plan:

* the *memory plan*: each slot's last forward use; a slot is dropped from the
  environment right after it (unless backward or the caller needs it), so a value
  lives no longer than it must;
* the backward list: the recorded nodes in reverse order, each with how its
  gradients reach its inputs (broadcast reduction and dtype casts decided once).

:class:`PlanFunction` runs a program as one autograd node: its forward calls each
op's array-level ``forward`` (no Tensor objects, no graph recording, no per-op
engine work), and its backward walks the recorded nodes in reverse, calling each
op's own ``backward`` with the values of this call, and returns the gradients of
the inputs and parameters, which the engine writes into ``.grad`` as in eager mode.
"""
import itertools
import time

from chainrule.backend import xp_of
from chainrule.core import grad_mode as _gm
from chainrule.core.function import Function
from chainrule.core.tensor import from_array
from chainrule.compile.trace import set_path
from chainrule.compile.rules import RULES

_use_rules = [True]   # tests switch the array-level rules off to compare

__all__ = ["Program", "PlanFunction"]

_GEN = itertools.count(1)


class Program:
    def __init__(self, trace):
        self.nodes = list(trace.nodes)
        self.meta = trace.meta
        self.free = trace.free
        self.requires_grad = trace.requires_grad
        self.outputs = list(trace.outputs)
        self.input_slots = sorted((v[1], s) for s, v in self.free.items() if v[0] == "input")
        self.input_slots = [s for _, s in self.input_slots]
        self.live = [(s, v[1]) for s, v in sorted(self.free.items()) if v[0] == "live"]
        self.consts = {s: v[1] for s, v in self.free.items() if v[0] == "const"}
        self.stats = []          # (pass name, nodes before, nodes after)
        self.last_gen = 0
        self.profile = False     # time each step (compile(..., options={"profile": True}))
        self.times = {}
        for n in self.nodes:     # drop the trace-time graph the op instances point to
            fn = n.fn
            if fn is None:
                continue
            fn._edges = tuple(None if e is None else (None, 0)
                              for e in getattr(fn, "_edges", ()))
            fn.inputs = ()
            fn._ys = None

    # ------------------------------------------------------------ planning
    def finalize(self):
        nodes = self.nodes
        self.backward_nodes = [n for n in reversed(nodes) if n.recorded]
        keep = set(self.outputs)
        for n in self.backward_nodes:
            if n.fn.save_inputs:
                keep.update(n.ins)
            if n.fn.save_output:
                keep.update(n.outs)
            keep.update(s for _, s in n.binds)   # backward reads them through the op
        self.keep = keep
        last = {}
        for i, n in enumerate(nodes):
            for s in n.ins:
                last[s] = i
            for _, s in n.binds:
                last[s] = i
        self.drop_after = [[] for _ in nodes]
        for s, i in last.items():
            if s not in keep:
                self.drop_after[i].append(s)
        self.grad_slots = set(s for s in self.input_slots + [s for s, _ in self.live]
                              if self.requires_grad[s])
        needs = set(self.grad_slots)   # slots whose gradient somebody wants
        for n in nodes:
            if n.recorded and any(s in needs for s in n.ins):
                needs.update(n.outs)
        self.backward_nodes = [n for n in self.backward_nodes if any(s in needs for s in n.outs)]
        self.needs_grad = needs
        self.bsteps = None       # built at the first backward (rules may be switched off)
        self.steps, self.step_nodes = _steps(nodes, self.drop_after)
        self.random_slots = [n.outs[0] for n in nodes if n.kind == "random"]
        return self

    # ------------------------------------------------------------ running
    def run_forward(self, env, effects=True):
        """Run the forward steps on ``env``; ``effects=False`` (a recompute of an
        earlier call for its backward) skips the side effects and the random draws
        (the caller puts that call's draws in ``env``)."""
        if self.profile:
            return self._run_forward_timed(env, effects)
        for step, drops in self.steps:
            if effects or step.__name__ not in ("effect", "random"):
                step(env)
            for s in drops:
                env[s] = None
        self.last_gen = next(_GEN)
        return self.last_gen

    def _run_forward_timed(self, env, effects):
        times = self.times.setdefault("forward", [0.0] * len(self.steps))
        for k, (step, drops) in enumerate(self.steps):
            t0 = time.perf_counter()
            if effects or step.__name__ not in ("effect", "random"):
                step(env)
            times[k] += time.perf_counter() - t0
            for s in drops:
                env[s] = None
        self.last_gen = next(_GEN)
        return self.last_gen

    def run_backward(self, env, gys):
        grads = {}
        for s, g in zip(self.outputs, gys):
            if g is not None:
                grads[s] = g if s not in grads else grads[s] + g
        if self.bsteps is None:
            self.bsteps = [_backward_step(n, self.meta, self.needs_grad)
                           for n in self.backward_nodes]
        if self.profile:
            times = self.times.setdefault("backward", [0.0] * len(self.bsteps))
            for k, step in enumerate(self.bsteps):
                t0 = time.perf_counter()
                step(env, grads)
                times[k] += time.perf_counter() - t0
            return grads
        for step in self.bsteps:
            step(env, grads)
        return grads


def _backward_step(n, meta, needs_grad):
    """One node's backward as a closure, with what can be decided once decided: the
    rule (or the op's own backward), which inputs want a gradient, their shapes."""
    fn, ins, outs = n.fn, tuple(n.ins), tuple(n.outs)
    need = [e is not None for e in getattr(fn, "_edges", ())] or [True] * len(ins)
    targets = [(k, s, meta[s][0], meta[s][1]) for k, s in enumerate(ins)
               if s in needs_grad and k < len(need) and need[k]]
    rule = RULES.get(type(fn)) if _use_rules[0] else None
    xs_slots = ins if (rule is not None and fn.save_inputs) else ()
    ys_slots = outs if (rule is not None and fn.save_output) else ()

    def deliver(gxs, grads):
        for k, s, shape, dtype in targets:
            gx = gxs[k]
            if gx is None:
                continue
            if gx.shape != shape:
                gx = _sum_to(gx, shape)
            if gx.dtype != dtype:
                gx = gx.astype(dtype)
            old = grads.get(s)
            grads[s] = gx if old is None else old + gx

    if len(outs) == 1:
        o = outs[0]

        def step(env, grads):
            g = grads.pop(o, None)
            if g is None:
                return
            if rule is not None:
                gxs = rule(fn, [env[s] for s in xs_slots], [env[s] for s in ys_slots], (g,),
                           need)
            else:
                gxs = _own_backward(n, env, [g])
            deliver(gxs, grads)
        return step

    def step(env, grads):
        ogs = [grads.pop(s, None) for s in outs]
        if all(g is None for g in ogs):
            return
        for k, s in enumerate(outs):
            if ogs[k] is None:
                shape, dtype = meta[s]
                ogs[k] = xp_of(next(g for g in ogs if g is not None)).zeros(shape, dtype)
        if rule is not None:
            gxs = rule(fn, [env[s] for s in xs_slots], [env[s] for s in ys_slots], ogs, need)
        else:
            gxs = _own_backward(n, env, ogs)
        deliver(gxs, grads)
    return step


def _sum_to(g, shape):
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape)
                                      if n == 1 and g.shape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _own_backward(n, env, ogs):
    """The op's own backward (Tensor ops) on this call's values (a fused group's
    members keep theirs; what they read is in the environment)."""
    fn = n.fn
    if fn.save_inputs:
        fn.inputs = tuple(from_array(env[s]) for s in n.ins)
    if fn.save_output:
        fn._ys = tuple(env[s] for s in n.outs)
    gxs = fn.backward(*[from_array(g) for g in ogs])
    if type(gxs) is not tuple:
        gxs = (gxs,)
    fn.inputs = ()
    fn._ys = None
    return [None if g is None else g.array for g in gxs]


def _op_step(n):
    if n.kind == "effect":
        run = n.run

        def effect(env):
            run(env)
        return effect
    if n.kind == "random":
        draw, out = n.draw, n.outs[0]

        def random(env):
            env[out] = draw()
        return random
    if n.binds:
        return _bound_step(n)
    fwd, ins, outs = n.fn.forward, tuple(n.ins), tuple(n.outs)
    if len(outs) == 1:
        o = outs[0]
        if len(ins) == 1:
            i0 = ins[0]

            def step(env):
                env[o] = fwd(env[i0])
        elif len(ins) == 2:
            i0, i1 = ins

            def step(env):
                env[o] = fwd(env[i0], env[i1])
        else:
            def step(env):
                env[o] = fwd(*[env[s] for s in ins])
        return step

    def step(env):
        ys = fwd(*[env[s] for s in ins])
        for s, y in zip(outs, ys):
            env[s] = y
    return step


def _bound_step(n):
    fn, binds, ins, outs = n.fn, list(n.binds), tuple(n.ins), tuple(n.outs)

    def step(env):
        for path, s in binds:
            top, rest = path[0][1], path[1:]
            setattr(fn, top, set_path(getattr(fn, top), rest, env[s]))
        ys = fn.forward(*[env[s] for s in ins])
        if len(outs) == 1:
            env[outs[0]] = ys
        else:
            for s, y in zip(outs, ys):
                env[s] = y
    return step


def _steps(nodes, drop_after):
    steps, owners = [], []
    for n, d in zip(nodes, drop_after):
        if n.kind == "fused-member":     # computed by its group's head
            if d and steps:
                steps[-1] = (steps[-1][0], steps[-1][1] + tuple(d))
            elif d:
                steps.append((_noop, tuple(d)))
                owners.append(n)
            continue
        steps.append((n.fused.step if n.fused is not None else _op_step(n), tuple(d)))
        owners.append(n)
    return steps, owners


def _noop(env):
    pass


class PlanFunction(Function):
    """A compiled program as one autograd node (see the module docstring)."""
    save_inputs = False

    def __init__(self, program):
        self.program = program

    def forward(self, *arrays):
        p = self.program
        env = [None] * len(p.meta)
        k = 0
        for s in p.input_slots:
            env[s] = arrays[k]
            k += 1
        for s, _ in p.live:
            env[s] = arrays[k]
            k += 1
        for s, a in p.consts.items():
            env[s] = a
        self._inputs = tuple(env)
        self.gen = p.run_forward(env)
        # this call's random draws, for a recompute of its forward before its backward
        self._draws = [(s, env[s]) for s in p.random_slots]
        outs = tuple(env[s] for s in p.outputs)
        if _gm._State.enabled:
            self.env = env
        return outs if len(outs) != 1 else outs[0]

    def backward(self, *gys):
        if _gm._State.enabled:
            raise RuntimeError("chainrule.compile: a compiled call does not support "
                               "create_graph=True (higher-order gradients); run it eagerly")
        p = self.program
        env = self.env
        if p.last_gen != self.gen:
            # another call of the same program ran since: its ops hold that call's
            # state, so recompute this call's forward before its backward
            env = list(self._inputs)
            for s, a in self._draws:
                env[s] = a
            self.gen = p.run_forward(env, effects=False)
        grads = p.run_backward(env, [None if g is None else g.array for g in gys])
        order = p.input_slots + [s for s, _ in p.live]
        out, seen = [], set()
        for s in order:
            g = grads.get(s)
            if g is not None:
                if id(g) in seen or any(g is x.array for x in gys if x is not None):
                    g = g.copy()
                seen.add(id(g))
            out.append(None if g is None else from_array(g))
        self.env = self._inputs = self._draws = None
        return tuple(out)
