"""Learning curves as PNG with matplotlib (imported lazily; a bare ``Figure`` renders
with the Agg canvas, so no display or pyplot state is involved)."""
import io
import os

from chainrule.utils.serialization import atomic_write_bytes

__all__ = ["plot_history", "save_heatmaps", "save_image_grid"]


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


def save_heatmaps(matrices, path, xlabel="Keys", ylabel="Queries", titles=None, cmap="Reds"):
    """Draw attention weights as heatmaps (d2l's ``show_heatmaps``) and save to ``path``.

    ``matrices``: ``(rows, cols, queries, keys)`` (a Tensor or array; 2-D and 3-D
    inputs are taken as one row); one panel per ``(row, col)``, one colour bar."""
    import numpy as np
    from matplotlib.figure import Figure

    m = matrices.detach().numpy() if hasattr(matrices, "detach") else np.asarray(matrices)
    m = m.reshape((1, 1) + m.shape) if m.ndim == 2 else m
    m = m.reshape((1,) + m.shape) if m.ndim == 3 else m
    if m.ndim != 4:
        raise ValueError(f"save_heatmaps: expected (rows, cols, queries, keys), got {m.shape}")
    rows, cols = m.shape[:2]
    fig = Figure(figsize=(2.5 * cols + 0.6, 2.5 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    for i in range(rows):
        for j in range(cols):
            ax = axes[i, j]
            pcm = ax.imshow(m[i, j], cmap=cmap, vmin=0.0, vmax=max(float(m.max()), 1e-12))
            if i == rows - 1:
                ax.set_xlabel(xlabel)
            if j == 0:
                ax.set_ylabel(ylabel)
            if titles:
                ax.set_title(titles[j])
    fig.colorbar(pcm, ax=axes, shrink=0.6)
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, format=os.path.splitext(path)[1][1:] or "png")
    atomic_write_bytes(path, [buf.getvalue()])
    return path


def save_image_grid(images, path, nrow=8, padding=2, cmap="gray"):
    """Tile ``images`` (``(N, H, W)`` grey or ``(N, C, H, W)``, a Tensor or array, values
    in [0, 1]) into one picture of ``nrow`` columns (torchvision's ``make_grid`` layout)
    and save it to ``path`` as PNG, one image pixel per picture pixel, scaled 3x."""
    import numpy as np
    from matplotlib.figure import Figure

    a = images.detach().numpy() if hasattr(images, "detach") else np.asarray(images)
    if a.ndim == 4:
        a = a.transpose(0, 2, 3, 1)
        if a.shape[-1] == 1:
            a = a[..., 0]
    if a.ndim not in (3, 4) or not len(a):
        raise ValueError(f"save_image_grid: expected (N, H, W) or (N, C, H, W) images, "
                         f"got shape {getattr(images, 'shape', None)}")
    n, h, w = a.shape[:3]
    ncol = min(int(nrow), n)
    rows = -(-n // ncol)
    grid = np.ones((rows * (h + padding) + padding, ncol * (w + padding) + padding)
                   + a.shape[3:], np.float32)
    for i in range(n):
        r, c = divmod(i, ncol)
        y, x = padding + r * (h + padding), padding + c * (w + padding)
        grid[y:y + h, x:x + w] = np.clip(a[i], 0, 1)
    scale = 3
    fig = Figure(figsize=(grid.shape[1] * scale / 100, grid.shape[0] * scale / 100), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(grid, cmap=cmap if grid.ndim == 2 else None, vmin=0, vmax=1,
              interpolation="nearest")
    ax.axis("off")
    buf = io.BytesIO()
    fig.savefig(buf, dpi=100, format="png")
    atomic_write_bytes(path, [buf.getvalue()])
    return path
