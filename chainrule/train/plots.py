"""Learning curves as PNG with matplotlib (imported lazily; a bare ``Figure`` renders
with the Agg canvas, so no display or pyplot state is involved)."""
import io
import os

from chainrule.utils.serialization import atomic_write_bytes

__all__ = ["plot_history"]


def _series(history):
    """``{metric: {"train": [(epoch, v)], "val": [...]}}`` from per-epoch dicts."""
    out = {}
    for row in history:
        for k, v in row.items():
            for split in ("train", "val", "test"):
                if k.startswith(split + "_") and isinstance(v, (int, float)):
                    out.setdefault(k[len(split) + 1:], {}).setdefault(split, []).append(
                        (row["epoch"], v))
    return out


def plot_history(history, path, title=None):
    """Draw one panel per metric (loss, acc, ...) with train/val curves over epochs
    and save it to ``path`` (format from the extension, e.g. ``.png``)."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    series = _series(history)
    names = sorted(series, key=lambda n: (n != "loss", n)) or ["loss"]
    fig = Figure(figsize=(4.2 * len(names), 3.4), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        for split, style in (("train", "-"), ("val", "--"), ("test", ":")):
            pts = series.get(name, {}).get(split)
            if pts:
                ax.plot(*zip(*pts), style, marker="o" if len(pts) < 30 else None,
                        markersize=3, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        if name == "loss" and all(v > 0 for s in series.get(name, {}).values() for _, v in s):
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    buf = io.BytesIO()  # rendered in memory, then written atomically (no half a PNG)
    fig.savefig(buf, dpi=100, format=os.path.splitext(path)[1][1:] or "png")
    atomic_write_bytes(path, [buf.getvalue()])
    return path
