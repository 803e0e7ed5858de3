"""Draw the backward graph of a tensor as Graphviz DOT text (or an image).

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0], requires_grad=True)
>>> dot = to_dot((x * x).sum())
>>> "MulBackward" in dot and "SumBackward" in dot
True
"""
import shutil
import subprocess

from chainrule.core.function import Function
from chainrule.core.tensor import Tensor

__all__ = ["to_dot", "render"]


def _shape(shape):
    return str(tuple(int(s) for s in shape))


def to_dot(output, params=None, title=None):
    """DOT text of the graph that ``output.backward()`` would traverse.

    Op nodes show the op name and output shape(s); leaves (parameters and
    inputs that require grad) are drawn as blue boxes with their shape, named
    from ``params`` (a dict or ``named_parameters()`` iterable) when given.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(output).__name__}")
    names = {}
    if params is not None:
        items = params.items() if hasattr(params, "items") else params
        names = {id(p): n for n, p in items}
    lines = ["digraph backward {", '  rankdir="BT";',
             '  node [fontname="Helvetica", fontsize=10];']
    if title:
        lines.append(f'  labelloc="t"; label="{title}";')
    ids = {}

    def node_id(obj):
        if id(obj) not in ids:
            ids[id(obj)] = f"n{len(ids)}"
        return ids[id(obj)]

    root = node_id(output)
    lines.append(f'  {root} [label="output\\n{_shape(output.shape)}", shape=ellipse, '
                 f'style=filled, fillcolor="#c8e6c9"];')
    if output.grad_fn is None:
        lines.append("}")
        return "\n".join(lines)
    stack, seen = [output.grad_fn], set()
    lines.append(f"  {node_id(output.grad_fn)} -> {root};")
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        outs = ", ".join(_shape(s) for s, _ in getattr(fn, "_out_meta", ()))
        lines.append(f'  {node_id(fn)} [label="{fn.name()}Backward\\n{outs}", shape=box, '
                     f'style="rounded,filled", fillcolor="#eeeeee"];')
        for i, edge in enumerate(getattr(fn, "_edges", ())):
            if edge is None:
                continue
            target = edge[0]
            if isinstance(target, Function):
                stack.append(target)
            elif id(target) not in seen:
                seen.add(id(target))
                label = names.get(id(target), "leaf")
                lines.append(f'  {node_id(target)} [label="{label}\\n{_shape(target.shape)}", '
                             f'shape=box, style=filled, fillcolor="#bbdefb"];')
            lines.append(f"  {node_id(target)} -> {node_id(fn)};")
    lines.append("}")
    return "\n".join(lines)


def render(output, path, params=None, format=None):
    """Write the backward graph to ``path`` (PNG, SVG or PDF by extension)
    using Graphviz's ``dot`` program (without it, PNG/SVG/PDF are drawn with
    matplotlib when installed); writes ``path`` with ``.dot`` text, and raises a
    RuntimeError with install instructions when neither can draw the format."""
    text = to_dot(output, params)
    path = str(path)
    fmt = format or (path.rsplit(".", 1)[-1] if "." in path else "png")
    if fmt == "dot":
        with open(path, "w") as f:
            f.write(text)
        return path
    exe = shutil.which("dot")
    if exe is None and fmt in ("png", "svg", "pdf"):
        try:  # no Graphviz: draw it with matplotlib instead
            from chainrule.utils.graph_plot import plot_graph
        except ImportError:
            pass
        else:
            return plot_graph(output, path, params)
    if exe is None:
        raise RuntimeError(
            "render: the Graphviz 'dot' program was not found. Install it "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
            "conda: conda install graphviz) or call to_dot() / render(..., 'graph.dot') "
            "to get the DOT text.")
    res = subprocess.run([exe, f"-T{fmt}", "-o", path], input=text.encode(),
                         capture_output=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError(f"render: dot failed: {res.stderr.decode(errors='replace')}")
    return path
