"""Differential fuzzer: random programs run in chainrule and in torch.

Every program is run line by line in both libraries from the same inputs; after
each line the value it binds is compared (shape, dtype, requires_grad, values),
at the end every tensor name is compared again (so an in-place op that should
or should not have shown through an alias is seen), then the input gradients
and, for a share of programs, second derivatives.  Programs torch refuses are
skipped.  A failure prints the program: a standalone reproduction.

    PYTHONPATH=$PWD python tests/fuzz/fuzz.py --programs 20000 --seed 1234

prints the agreement rate over the programs torch accepts (``-v`` prints each
failing program, ``--first N`` stops after N failures).
"""
import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from programs import Builder, _make_input  # noqa: E402


def _tol(dtype_name):
    return (1e-3, 1e-4) if dtype_name in ("float32", "float16") else (1e-6, 1e-8)


def _snap(lib, t):
    """(shape, dtype name, requires_grad, numpy copy) of a tensor."""
    d = t.detach()
    a = np.array(d.numpy(force=True), copy=True)
    return (tuple(t.shape), str(t.dtype).split(".")[-1], bool(t.requires_grad), a)


def run(lib, prog):
    """Execute ``prog`` with ``lib`` as torch; return (record, error)."""
    env = {"torch": lib, "F": lib.nn.functional}
    rec = {"lines": [], "final": {}, "grads": None, "grads2": None}
    for leaf, a, rg in prog.inputs:
        env[leaf] = _make_input(lib, a, rg)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for k, line in enumerate(prog.lines):
            try:
                exec(compile(line, "<fuzz>", "exec"), env)
            except Exception as e:
                return rec, f"line {k + 1} ({line}): {type(e).__name__}: {e}"
            name = line.split(" = ")[0] if " = " in line and "[" not in line.split(" = ")[0] else None
            if name is not None and isinstance(env.get(name), lib.Tensor):
                rec["lines"].append((k, name, _snap(lib, env[name])))
        try:
            exec(compile("\n".join(prog.grad_lines()), "<fuzz>", "exec"), env)
        except Exception as e:
            return rec, f"backward: {type(e).__name__}: {e}"
    for n, v in env.items():
        if isinstance(v, lib.Tensor):
            rec["final"][n] = _snap(lib, v)
    for key in ("grads", "grads2"):
        if key in env:
            rec[key] = [None if g is None else _snap(lib, g) for g in env[key]]
    return rec, None


def _same(a, b):
    """None when snapshots a (chainrule) and b (torch) agree, else a reason."""
    if a[0] != b[0]:
        return f"shape {a[0]} vs torch {b[0]}"
    if a[1] != b[1]:
        return f"dtype {a[1]} vs torch {b[1]}"
    x, y = a[3], b[3]
    if x.dtype.kind == "f" or y.dtype.kind == "f":
        rtol, atol = _tol(b[1])
        x, y = x.astype(np.float64), y.astype(np.float64)
        fin = np.isfinite(y)
        scale = 1.0 + (np.abs(y[fin]).max() if fin.any() else 0.0)
        if not np.allclose(x, y, rtol=rtol, atol=atol * scale, equal_nan=True):
            err = np.abs(x - y)
            return f"values differ (max abs err {np.max(err, initial=0):.3g})\n" \
                   f"  chainrule {x.ravel()[:8]}\n  torch     {y.ravel()[:8]}"
    elif not np.array_equal(x, y):
        return f"values differ\n  chainrule {x.ravel()[:8]}\n  torch     {y.ravel()[:8]}"
    return None


def _grads(a, b, shapes, what):
    a = a or [None] * len(shapes)
    b = b or [None] * len(shapes)
    for leaf, s, ga, gb in zip(shapes, shapes.values(), a, b):
        if ga is None and gb is None:
            continue
        ga = ga or (s[0], s[1], False, np.zeros(s[0]))
        gb = gb or (s[0], s[1], False, np.zeros(s[0]))
        why = _same(ga[:2] + (False, ga[3]), gb[:2] + (False, gb[3]))
        if why:
            return f"{what} of {leaf}: {why}"
    return None


def compare(prog, cr, torch):
    """'refused', 'agree' or a failure message."""
    tr, terr = run(torch, prog)
    if terr is not None:
        return "refused"
    try:
        cres, cerr = run(cr, prog)
    except Exception as e:  # noqa: BLE001 - an internal error is a failure too
        cres, cerr = None, f"{type(e).__name__}: {e}"
    if cerr is not None:
        return f"chainrule raised where torch did not: {cerr}"
    for (k, n, a), (_, _, b) in zip(cres["lines"], tr["lines"]):
        why = _same(a, b) or (a[2] != b[2] and f"requires_grad {a[2]} vs torch {b[2]}")
        if why:
            return f"line {k + 1} ({prog.lines[k]}) -> {n}: {why}"
    for n, b in tr["final"].items():
        a = cres["final"].get(n)
        why = "missing" if a is None else _same(a, b)
        if why and n not in ("wt", "loss", "s"):
            return f"final value of {n}: {why}"
    shapes = {leaf: tr["final"][leaf] for leaf in prog.leaves}
    return (_grads(cres["grads"], tr["grads"], shapes, "gradient")
            or _grads(cres["grads2"], tr["grads2"], shapes, "second derivative") or "agree")


def fuzz(n, seed, verbose=False, first=None, out=sys.stdout):
    import torch
    import chainrule as cr
    torch.set_num_threads(1)
    counts = {"agree": 0, "refused": 0, "fail": 0}
    failures = []
    for i in range(n):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            prog = Builder(torch, (seed, i)).build()
        res = compare(prog, cr, torch)
        key = res if res in ("agree", "refused") else "fail"
        counts[key] += 1
        if key == "fail":
            failures.append((i, res, prog))
            if verbose:
                print(report(seed, i, res, prog), file=out)
            if first and len(failures) >= first:
                break
    return counts, failures


def report(seed, i, why, prog):
    return (f"--- program {i} of seed {seed}: {why}\n# chainrule:\n{prog.source('chainrule')}\n"
            f"# torch: the same with `import torch` / `import torch.nn.functional as F`\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--programs", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--first", type=int, default=None)
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args(argv)
    counts, failures = fuzz(a.programs, a.seed, a.verbose, a.first)
    acc = counts["agree"] + counts["fail"]
    print(f"seed {a.seed}: {counts['agree']}/{acc} programs torch accepts agree "
          f"({100.0 * counts['agree'] / max(acc, 1):.2f}%), {counts['refused']} refused by torch")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
