"""Draw a backward graph with matplotlib: the fallback of
:func:`chainrule.utils.graph.render` when Graphviz's ``dot`` is not installed.

Nodes are laid out in layers by their distance from the output (output on top,
leaves at the bottom), as Graphviz's ``rankdir=BT`` draws them.
"""
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor

__all__ = ["graph_nodes", "plot_graph"]


def _shape(shape):
    return str(tuple(int(s) for s in shape))


def graph_nodes(output, params=None):
    """``(labels, kinds, edges)`` of the graph behind ``output``: ``labels[i]`` and
    ``kinds[i]`` (``'output'``, ``'op'``, ``'leaf'``) per node, ``edges`` as
    ``(source, target)`` pairs pointing towards the output (node 0)."""
    names = {}
    if params is not None:
        items = params.items() if hasattr(params, "items") else params
        names = {id(p): n for n, p in items}
    labels, kinds, edges, ids = [f"output\n{_shape(output.shape)}"], ["output"], [], {}

    def node(obj, label, kind):
        if id(obj) not in ids:
            ids[id(obj)] = len(labels)
            labels.append(label)
            kinds.append(kind)
        return ids[id(obj)]

    if output.grad_fn is None:
        return labels, kinds, edges
    stack, seen = [output.grad_fn], set()
    edges.append((node(output.grad_fn, "", "op"), 0))
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        me = node(fn, "", "op")
        outs = ", ".join(_shape(s) for s, _ in getattr(fn, "_out_meta", ()))
        labels[me] = f"{fn.name()}Backward\n{outs}"
        for edge in getattr(fn, "_edges", ()):
            if edge is None:
                continue
            target = edge[0]
            if isinstance(target, Function):
                stack.append(target)
                src = node(target, "", "op")
            else:
                label = names.get(id(target), "leaf")
                shape = _shape(target.shape) if isinstance(target, Tensor) else ""
                src = node(target, f"{label}\n{shape}", "leaf")
            edges.append((src, me))
    return labels, kinds, edges


def _layers(n, edges):
    """Depth of each node: the longest path to the output (node 0)."""
    depth = [0] * n
    consumers = {}
    for s, t in edges:
        consumers.setdefault(s, []).append(t)
    changed = True
    while changed:  # graphs are DAGs: this settles after at most n passes
        changed = False
        for s, ts in consumers.items():
            d = max(depth[t] for t in ts) + 1
            if d > depth[s]:
                depth[s], changed = d, True
    return depth


def plot_graph(output, path, params=None, title=None):
    """Save a drawing of the backward graph of ``output`` to ``path`` (PNG/SVG/PDF)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch

    labels, kinds, edges = graph_nodes(output, params)
    depth = _layers(len(labels), edges)
    rows = {}
    for i, d in enumerate(depth):
        rows.setdefault(d, []).append(i)
    width = max(len(r) for r in rows.values())
    pos = {}
    for d, members in rows.items():
        for j, i in enumerate(members):
            pos[i] = ((j + 0.5) * width / len(members), -d)
    fig = Figure(figsize=(max(4, 2.2 * width), max(3, 1.1 * (max(depth) + 1))))
    ax = fig.add_subplot()
    colors = {"output": "#c8e6c9", "op": "#eeeeee", "leaf": "#bbdefb"}
    for s, t in edges:
        ax.add_patch(FancyArrowPatch(pos[s], pos[t], arrowstyle="-|>", mutation_scale=10,
                                     shrinkA=14, shrinkB=14, color="#555555"))
    for i, label in enumerate(labels):
        ax.text(*pos[i], label, ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round", fc=colors[kinds[i]], ec="#777777"))
    ax.set_xlim(-0.2, width + 0.2)
    ax.set_ylim(-max(depth) - 0.6, 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path
