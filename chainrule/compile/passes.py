"""Passes over a captured program.  Each is small, switchable and returns how many
nodes it removed or merged (``chainrule.compile(..., passes=[...])`` picks them).

* ``dce`` - dead-code elimination: drop ops whose outputs nothing reads (neither a
  later op, nor the caller);
* ``cse`` - common-subexpression elimination: an op of the same kind, with the same
  attributes, applied to the same input slots as an earlier op is replaced by the
  earlier op's outputs (its consumers read those; backward sums their gradients
  into the surviving op);
* ``fuse`` - elementwise fusion: a chain of elementwise ops (add, sub, mul, div,
  neg, exp, log, sqrt, tanh, abs, relu) where each intermediate is read only by the
  next op (and not kept for backward) runs as one step that allocates one buffer
  and applies every later op in place on it (``ufunc(buf, other, out=buf)``), so a
  chain of k ops makes one array instead of k.  A GEMM (``Linear``: its bias is
  already added in place on the GEMM's output) may head a chain: the activation
  after it becomes its epilogue, in place on the GEMM's output.
* ``pool_first`` - a ReLU whose output only a max pool reads is moved after the pool:
  ``maxpool(relu(x)) = relu(maxpool(x))`` exactly (max commutes with a nondecreasing
  function, and padding is -inf), and the gradient is the same too (it reaches the
  window's argmax where the maximum is positive, nothing elsewhere), but the ReLU and
  its backward then touch a quarter of the elements (a 2x2 pool).
"""
import numbers

import numpy as np

from chainrule.backend import kernels_of, xp_of

__all__ = ["PASSES", "DEFAULT_PASSES", "dce", "cse", "pool_first", "fuse"]


def _uses(program):
    uses = {}
    for n in program.nodes:
        for s in n.ins:
            uses[s] = uses.get(s, 0) + 1
        for _, s in n.binds:
            uses[s] = uses.get(s, 0) + 1
    for s in program.outputs:
        uses[s] = uses.get(s, 0) + 1
    return uses


def dce(program):
    """Remove ops none of whose outputs is read; repeat until nothing changes."""
    removed = 0
    pinned = {id(n.after) for n in program.nodes if n.kind == "effect"}
    while True:
        uses = _uses(program)
        keep = [n for n in program.nodes if n.kind in ("effect", "random") or id(n.fn) in pinned
                or any(uses.get(s) for s in n.outs)]
        if len(keep) == len(program.nodes):
            return removed
        removed += len(program.nodes) - len(keep)
        program.nodes = keep


_SIMPLE = (numbers.Number, str, bytes, type(None))


def _key(v):
    """A hashable stand-in for an op attribute, or None when it cannot be compared."""
    if isinstance(v, _SIMPLE):
        return (type(v).__name__, v)
    if isinstance(v, (tuple, list)):
        ks = [_key(x) for x in v]
        return None if any(k is None for k in ks) else (type(v).__name__, tuple(ks))
    if isinstance(v, np.dtype):
        return ("dtype", v.str)
    return None


def _signature(n):
    items = []
    for k, v in sorted(n.attrs.items()):
        kv = _key(v)
        if kv is None:
            return None
        items.append((k, kv))
    return (type(n.fn), tuple(n.ins), tuple(s for _, s in n.binds), tuple(items))


def cse(program):
    """Merge repeated (op, attributes, inputs): later copies read the first's outputs."""
    seen, rename, keep, merged = {}, {}, [], 0
    pinned = {id(n.after) for n in program.nodes if n.kind == "effect"}
    for n in program.nodes:
        n.ins = [rename.get(s, s) for s in n.ins]
        n.binds = [(path, rename.get(s, s)) for path, s in n.binds]
        sig = _signature(n) if n.kind == "op" and id(n.fn) not in pinned else None
        first = seen.get(sig) if sig is not None else None
        if first is not None and first.recorded == n.recorded:
            for a, b in zip(n.outs, first.outs):
                rename[a] = b
            merged += 1
            continue
        if sig is not None:
            seen[sig] = n
        keep.append(n)
    program.nodes = keep
    program.outputs = [rename.get(s, s) for s in program.outputs]
    return merged


# op class name -> (ufunc name, arity); relu is maximum(x, 0)
_EW = {"Add": ("add", 2), "Sub": ("subtract", 2), "Mul": ("multiply", 2),
       "Div": ("true_divide", 2), "Neg": ("negative", 1), "Exp": ("exp", 1),
       "Log": ("log", 1), "Sqrt": ("sqrt", 1), "Tanh": ("tanh", 1), "Abs": ("absolute", 1),
       "Relu": ("maximum", 0)}


class Fused:
    """One fused elementwise chain: the head op runs as usual (a fresh array), each
    later op in place on that array."""

    def __init__(self, head, tail, out, meta):
        self.head, self.tail, self.out = head, tail, out   # tail: [(node, ufunc, other, pos)]
        fwd, ins, o = head.fn.forward, tuple(head.ins), out
        direct = _direct_head(head, meta)
        ops = [(uf, other, pos, dtype) for node, uf, other, pos, dtype in tail]
        cache = {}

        def resolve(xp):   # the ufuncs of this array module, looked up once
            r = cache[xp] = ((getattr(xp, direct) if direct else None),
                             [(getattr(xp, uf), uf == "maximum", other, pos, dtype)
                              for uf, other, pos, dtype in ops])
            return r

        def step(env):
            xs = [env[s] for s in ins]
            xp = xp_of(xs[0])
            K = kernels_of(xs[0])
            head_uf, tail_ops = cache.get(xp) or resolve(xp)
            # the head: its ufunc itself when the operands need no cast (in one memory
            # layout, as the op's forward does), else its forward
            buf = head_uf(*K.align_layouts(*xs)) if head_uf is not None else fwd(*xs)
            for f, is_relu, other, pos, dtype in tail_ops:
                if other is None:
                    if is_relu:
                        f(buf, 0, out=buf)
                    else:
                        f(buf, out=buf)
                else:
                    b = env[other]
                    if b.dtype != dtype:
                        b = b.astype(dtype)
                    buf2, b = K.align_layouts(buf, b)
                    if buf2 is not buf:   # a copy in b's layout: still ours to overwrite
                        buf = buf2
                    if pos == 0:
                        f(buf, b, out=buf)
                    else:
                        f(b, buf, out=buf)
            env[o] = buf
        self.step = step

    def describe(self):
        return [self.head.name] + [n.name for n, *_ in self.tail]


# ops that may head a group: their forward returns a fresh array of their own
_HEADS = {"Linear"}


def _direct_head(n, meta):
    """The ufunc that computes a fused group's head when its operands already have
    the result dtype (then the op's forward would only add dispatch)."""
    if type(n.fn).__name__ not in _EW:
        return None
    uf, arity = _EW[type(n.fn).__name__]
    dtype = meta[n.outs[0]][1]
    if arity != 2 or any(meta[s][1] != dtype for s in n.ins):
        return None
    return uf


def _fusable(n, meta):
    name = type(n.fn).__name__
    if name not in _EW or len(n.outs) != 1:
        return False
    shape, dtype = meta[n.outs[0]]
    return dtype.kind == "f" and len(shape) > 0   # 0-d results may come back as scalars


def fuse(program):
    """Group elementwise chains (see the module docstring); returns ops absorbed."""
    meta, nodes = program.meta, program.nodes
    uses = _uses(program)
    saved = set()
    for n in nodes:
        if n.recorded:
            if n.fn.save_inputs:
                saved.update(n.ins)
            if n.fn.save_output:
                saved.update(n.outs)
    producer = {}
    for i, n in enumerate(nodes):
        for s in n.outs:
            producer[s] = i
    absorbed = set()
    groups = []
    i = 0
    while i < len(nodes):
        head = nodes[i]
        if i in absorbed or head.kind != "op" or head.fused is not None or not (
                _fusable(head, meta) or (type(head.fn).__name__ in _HEADS and
                                         len(meta[head.outs[0]][0]) > 0)):
            i += 1
            continue
        chain, cur, j = [], head.outs[0], i + 1
        while True:
            if cur in saved or uses.get(cur, 0) != 1 or cur in program.outputs:
                break
            # the single consumer must be the next op that reads cur
            k = next((k for k in range(j, len(nodes)) if cur in nodes[k].ins), None)
            if k is None:
                break
            nxt = nodes[k]
            if not _fusable(nxt, meta) or meta[nxt.outs[0]] != meta[cur]:
                break
            uf, arity = _EW[type(nxt.fn).__name__]
            if arity == 2:
                if nxt.ins[0] == nxt.ins[1]:
                    break
                pos = nxt.ins.index(cur)
                other = nxt.ins[1 - pos]
                # the other operand must already exist when the head runs, and not be
                # overwritten (it is not the buffer: uses(cur) == 1)
                if producer.get(other, -1) >= i:
                    break
            else:
                pos, other = 0, None
            chain.append((nxt, uf, other, pos, meta[cur][1]))
            absorbed.add(k)
            cur, j = nxt.outs[0], k + 1
        if chain:
            groups.append((i, chain, cur))
        i += 1
    if not groups:
        return 0
    for i, chain, out in groups:
        nodes[i].fused = Fused(nodes[i], chain, out, meta)
    for k in absorbed:   # members stay in the program (backward runs their ops' backward)
        nodes[k].kind = "fused-member"
    return len(absorbed)


def pool_first(program):
    """Swap ``relu -> max pool`` into ``max pool -> relu`` where the ReLU's output is
    read by the pool alone (see the module docstring); returns the pairs swapped."""
    nodes, meta = program.nodes, program.meta
    uses = _uses(program)
    swapped = 0
    for i, r in enumerate(nodes):
        if (r.kind != "op" or r.fused is not None or type(r.fn).__name__ != "Relu"
                or len(r.ins) != 1 or len(r.outs) != 1 or r.binds):
            continue
        a = r.outs[0]
        if uses.get(a, 0) != 1 or a in program.outputs or meta[a][1].kind != "f":
            continue
        k = next((k for k in range(i + 1, len(nodes)) if a in nodes[k].ins), None)
        if k is None:
            continue
        p = nodes[k]
        if (p.kind != "op" or p.fused is not None or type(p.fn).__name__ != "MaxPool"
                or getattr(p.fn, "returns_idx", True) or len(p.outs) != 1 or p.ins != [a]
                or p.binds or p.recorded != r.recorded):
            continue
        b = p.outs[0]
        mid = len(meta)                  # the pooled, not yet rectified values
        meta.append(meta[b])
        p.ins, p.outs = list(r.ins), [mid]
        r.ins, r.outs = [mid], [b]
        nodes[i], nodes[k] = p, r        # the pool runs where the ReLU ran, and v.v.
        swapped += 1
    return swapped


PASSES = {"dce": dce, "cse": cse, "pool_first": pool_first, "fuse": fuse}
DEFAULT_PASSES = ("dce", "cse", "pool_first", "fuse")
