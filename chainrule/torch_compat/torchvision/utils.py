"""``torchvision.utils.make_grid`` and ``save_image`` (PNG via Pillow, or any format
Pillow writes from the file name)."""
import math

import numpy as np

from chainrule import backend as B
from chainrule.core.creation import from_numpy
from chainrule.core.tensor import Tensor

__all__ = ["make_grid", "save_image"]


def _images(tensor):
    """(N, C, H, W) float array from a tensor, a list of (C, H, W) tensors, or (H, W)."""
    if isinstance(tensor, (list, tuple)):
        a = np.stack([B.asnumpy(t.detach().array) for t in tensor])
    elif isinstance(tensor, Tensor):
        a = B.asnumpy(tensor.detach().array)
    else:
        raise TypeError(f"make_grid: expected a tensor or a list of tensors, "
                        f"got {type(tensor).__name__}")
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        a = a[None] if a.shape[0] in (1, 3) else a[:, None]
    if a.ndim != 4:
        raise ValueError(f"make_grid: expected (N, C, H, W) images, got shape {a.shape}")
    if a.shape[1] == 1:
        a = np.repeat(a, 3, axis=1)
    return a.astype(np.float32)


def _normalize(a, value_range, scale_each):
    def norm(x, lo, hi):
        return (np.clip(x, lo, hi) - lo) / max(hi - lo, 1e-5)
    if value_range is not None:
        return norm(a, *value_range)
    if scale_each:
        return np.stack([norm(x, x.min(), x.max()) for x in a])
    return norm(a, a.min(), a.max())


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0, **kwargs):
    """Tile a batch of images (N, C, H, W) into one (3, H', W') image, ``nrow`` per row."""
    a = _images(tensor)
    if normalize:
        a = _normalize(a, value_range, scale_each)
    n, c, h, w = a.shape
    if n == 1 and padding == 0:
        return from_numpy(a[0].copy())
    xmaps = min(nrow, n)
    ymaps = int(math.ceil(n / xmaps))
    hh, ww = h + padding, w + padding
    grid = np.full((c, ymaps * hh + padding, xmaps * ww + padding), pad_value, np.float32)
    for k in range(n):
        y, x = divmod(k, xmaps)
        grid[:, y * hh + padding:y * hh + padding + h, x * ww + padding:x * ww + padding + w] = a[k]
    return from_numpy(grid)


def save_image(tensor, fp, format=None, **kwargs):
    """Save a tensor (or batch, through :func:`make_grid`) as an image file."""
    from PIL import Image
    grid = B.asnumpy(make_grid(tensor, **kwargs).array)
    arr = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(arr).save(fp, format=format)
