"""``compiled.explain()``: the captured program as text a student can read.

For each input signature (guard key): the fallback reason, or the program - one
line per op (``%7 = Linear(%0, %1, %2)``, shapes and dtypes), marked when it sits in
a fused group or needs a backward -, what each pass did, the fusion groups and the
memory plan (how long each value lives, and the peak bytes the forward holds with
and without dropping dead values).
"""

__all__ = ["explain"]


def _nbytes(meta):
    shape, dtype = meta
    n = 1
    for d in shape:
        n *= d
    return n * dtype.itemsize


def _fmt_slot(p, s):
    shape, dtype = p.meta[s]
    return f"%{s}[{'x'.join(map(str, shape)) or 'scalar'} {dtype}]"


def _program_text(p):
    lines = []
    names = {}
    for k, s in enumerate(p.input_slots):
        names[s] = f"input {k}"
    for s, t in p.live:
        names[s] = "parameter" if t.requires_grad else "buffer"
    for s in p.consts:
        names[s] = "constant"
    lines.append("  free values (read at each call; constants frozen):")
    for s in sorted(names):
        lines.append(f"    {_fmt_slot(p, s)}  {names[s]}")
    lines.append(f"  ops ({sum(1 for n in p.nodes if n.kind == 'op')} steps, "
                 f"{len(p.backward_nodes)} with a backward):")
    for i, n in enumerate(p.nodes):
        outs = ", ".join(_fmt_slot(p, s) for s in n.outs)
        ins = ", ".join(f"%{s}" for s in n.ins)
        tag = ""
        if n.fused is not None:
            tag = (f"   [fused group head: {' -> '.join(n.fused.describe())}; the group "
                   f"writes %{n.fused.out}, %{n.outs[0]} is never made]")
        elif n.kind == "fused-member":
            tag = "   [in the fused group above: computed in place]"
        elif n.kind == "random":
            tag = "   [random: drawn afresh at every call, where eager mode draws it]"
        bw = "  (backward)" if n in p.backward_nodes else ""
        lines.append(f"    {i:3d}: {outs} = {n.name}({ins}){bw}{tag}")
    lines.append("  outputs: " + ", ".join(f"%{s}" for s in p.outputs))
    return lines


def _memory_text(p):
    """Peak bytes held by the forward's values with the plan's drops and without."""
    lines = []
    live = {s for s in p.input_slots} | {s for s, _ in p.live} | set(p.consts)
    cur = sum(_nbytes(p.meta[s]) for s in live)
    total = cur
    peak = cur
    fused_out = {n.fused.out for n in p.nodes if n.fused is not None}
    fused_mid = set()
    for n in p.nodes:
        if n.fused is not None:
            fused_mid.update(n.outs)
        if n.kind == "fused-member":
            fused_mid.update(s for s in n.outs if s not in fused_out)
    for n, drops in zip(p.nodes, p.drop_after):
        for s in n.outs:
            if s not in fused_mid:
                cur += _nbytes(p.meta[s])
                total += _nbytes(p.meta[s])
        peak = max(peak, cur)
        for s in drops:
            if s not in fused_mid:
                cur -= _nbytes(p.meta[s])
    kept = sum(_nbytes(p.meta[s]) for s in p.keep)
    lines.append(f"  memory plan: {len(p.meta)} values; forward peak {peak / 1024:.1f} KiB "
                 f"with values dropped after their last use, {total / 1024:.1f} KiB if "
                 f"every value were kept; {kept / 1024:.1f} KiB kept for backward and the "
                 f"outputs; {len(fused_mid)} intermediate arrays never made (fusion)")
    return lines


def _time_text(p):
    """Where the time goes (with ``options={"profile": True}``): the costliest steps."""
    if not p.times:
        return ["  where time goes: compile with options={'profile': True} to time each step"]
    rows = []
    for k, t in enumerate(p.times.get("forward", ())):
        n = p.step_nodes[k]
        rows.append((t, "forward ", n, " -> ".join(n.fused.describe()) if n.fused else n.name))
    for k, t in enumerate(p.times.get("backward", ())):
        n = p.backward_nodes[k]
        rows.append((t, "backward", n, n.name))
    total = sum(r[0] for r in rows) or 1.0
    fw = sum(p.times.get("forward", ()))
    lines = [f"  where time goes ({total * 1e3:.2f} ms in all plan steps so far, forward "
             f"{100 * fw / total:.0f}%, backward {100 - 100 * fw / total:.0f}%); costliest:"]
    for t, phase, n, name in sorted(rows, key=lambda r: -r[0])[:10]:
        slot = n.outs[0] if n.outs else "-"
        lines.append(f"    {100 * t / total:5.1f}%  {phase} {name} (-> %{slot})")
    return lines


def explain(compiled):
    out = [f"chainrule.compile of {compiled._name()}: {len(compiled._cache)} input "
           f"signature(s), passes {list(compiled._passes)}"]
    for k, (key, e) in enumerate(compiled._cache.items()):
        shapes = ", ".join(f"{list(s)} {d}" + (" requires_grad" if r else "")
                           for s, d, _, r in key[1])
        mode = ("train" if key[2] else "eval") + (", grad on" if key[3] else ", no_grad")
        out.append(f"\nsignature {k}: inputs ({shapes}); {mode}; {e.calls} call(s)")
        if e.reason is not None:
            out.append(f"  runs eagerly: {e.reason}")
            continue
        p = e.program
        if p is None:
            out.append(f"  tracing ({len(e.traces)} of 2 traces so far)")
            continue
        out.append(f"  compiled in {e.compile_s * 1e3:.1f} ms (two traced eager calls, "
                   f"the passes, the plan)")
        for name, before, changed in p.stats:
            verb = {"dce": "removed", "cse": "merged", "fuse": "fused away",
                    "pool_first": "moved a ReLU after its max pool:"}.get(name, "changed")
            out.append(f"  pass {name}: {before} ops, {verb} {changed}")
        groups = [" -> ".join(n.fused.describe()) for n in p.nodes if n.fused is not None]
        counts = {}
        for g in groups:
            counts[g] = counts.get(g, 0) + 1
        out.append(f"  fusion groups: {len(groups)}" + "".join(
            f"\n    {g} (one buffer){f'  x{c}' if c > 1 else ''}" for g, c in counts.items()))
        out.extend(_memory_text(p))
        out.extend(_program_text(p))
        out.extend(_time_text(p))
    return "\n".join(out)
