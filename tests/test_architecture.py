"""The package's floors, checked by reading its source (ast), not by importing it.

* The backend seam: only ``chainrule/backend/`` may name CuPy, compare an
  array module with NumPy (``xp is np``), load C libraries (ctypes) or read
  ``/proc``.
* The floors point one way (backend <- core <- functional <- nn <- models,
  data, text <- train <- cli): no module imports one on a higher floor, no
  module imports the ``chainrule`` root package, and the module import graph,
  imports inside functions included, has no cycle.
"""
import ast
import os
import re

import pytest

PKG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "chainrule")

# Each package's floor.  A module may import its own package and lower floors.
FLOOR = {
    "backend": 0,
    "core": 1, "utils": 1, "cuda": 1,
    "functional": 2,
    "autograd": 3, "testing": 3,
    "nn": 4, "optim": 4, "distributions": 4, "distributed": 4, "amp": 4,
    "data": 5, "models": 5, "compile": 5,
    "text": 6, "onnx": 6,
    "train": 7,
    # torch_compat resolves `torch` to chainrule for unmodified PyTorch scripts: it
    # stands in for every floor's torch name, so it sits on the top floor next to cli
    # (which calls its runner for `chainrule run-torch`).
    "cli": 8, "__main__": 8, "torch_compat": 8,
}


def _modules():
    mods = {}
    for d, _, files in os.walk(PKG):
        for f in sorted(files):
            if f.endswith(".py"):
                path = os.path.join(d, f)
                rel = os.path.relpath(path, os.path.dirname(PKG))[:-3].replace(os.sep, ".")
                mods[rel[:-len(".__init__")] if rel.endswith(".__init__") else rel] = path
    return mods


MODULES = _modules()


def _resolve(name):
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in MODULES else None


def _imports(mod):
    """(imported module, line, inside a function?) for each chainrule import."""
    path = MODULES[mod]
    tree = ast.parse(open(path).read(), path)
    inner = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner.update(id(n) for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom)))
    pkg = mod.split(".") if path.endswith("__init__.py") else mod.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg[:len(pkg) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            # `from pkg import submodule` imports the submodule; `from mod import name` the module
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]
        else:
            continue
        for t in targets:
            if t.split(".")[0] == "chainrule":
                r = _resolve(t)
                if r and r != mod:
                    out.append((r, node.lineno, id(node) in inner))
    return out


def _package(mod):
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else None


def test_backend_seam():
    pattern = re.compile(r"\bcupy\b|\bcupyx\b|\bis (not )?np\b|\bctypes\b|/proc/")
    found = []
    for mod, path in MODULES.items():
        if _package(mod) == "backend":
            continue
        for i, line in enumerate(open(path), 1):
            code = line.split("#", 1)[0]
            if pattern.search(code):
                found.append(f"{os.path.relpath(path, PKG)}:{i}: {line.strip()}")
    assert not found, "outside chainrule/backend/:\n" + "\n".join(found)


def test_every_package_has_a_floor():
    missing = {_package(m) for m in MODULES} - set(FLOOR) - {None}
    assert not missing, f"give these packages a floor in FLOOR: {sorted(missing)}"


def test_imports_point_down():
    bad = []
    for mod in MODULES:
        pkg = _package(mod)
        if pkg is None:
            continue
        for target, line, _ in _imports(mod):
            tpkg = _package(target)
            if tpkg is None:
                bad.append(f"{mod}:{line} imports the chainrule root package")
            elif tpkg != pkg and FLOOR[tpkg] > FLOOR[pkg]:
                bad.append(f"{mod}:{line} ({pkg}, floor {FLOOR[pkg]}) imports {target} "
                           f"({tpkg}, floor {FLOOR[tpkg]})")
    assert not bad, "\n".join(bad)


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycle():
    graph = {m: {t for t, _, _ in _imports(m) if t != "chainrule"} for m in MODULES
             if m != "chainrule"}
    cycles = _cycles(graph)
    assert not cycles, "import cycles (imports inside functions count):\n" + \
        "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("pkg", sorted(p for p in FLOOR
                                        if p not in ("__main__", "core", "functional", "backend")))
def test_no_private_core_constructor(pkg):
    """Only core and functional build tensors with the private ``_make`` or reach
    into ``._data``; the floors above use ``from_array`` and ``Tensor.array``."""
    bad = [f"{os.path.relpath(p, PKG)}:{i}" for m, p in MODULES.items() if _package(m) == pkg
           for i, line in enumerate(open(p), 1)
           if re.search(r"\b_make\b|\._data\b", line.split("#")[0])]
    assert not bad, ("use chainrule.core.tensor.from_array and Tensor.array, not _make and "
                     "._data:\n" + "\n".join(bad))
