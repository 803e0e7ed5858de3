"""Geometric image transforms on batches: :class:`RandomAffine` and :class:`Deskew`.

Both work on float image Tensors ``CxHxW`` (one sample) or ``NxCxHxW`` (a batch,
via ``apply_batch``, so the DataLoader's fast path stays on) and resample with
bilinear interpolation and zero padding, as ``torch.nn.functional.grid_sample``
with ``align_corners=False`` does.

Random parameters come from the ``generator`` given, else from the global
chainrule generator, so ``chainrule.manual_seed`` (and a restored checkpoint)
reproduces them.  A batch draws its parameters in one go, so transforming a
batch and transforming its samples one by one give different (equally
distributed) results.
"""
import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor, from_array

__all__ = ["affine_warp", "RandomAffine", "Deskew"]


def affine_warp(images, theta):
    """Resample ``images`` (N, C, H, W) with per-image affine maps ``theta`` (N, 2, 3).

    ``theta`` maps normalized output coordinates ``(x, y, 1)`` in [-1, 1] to input
    coordinates, like ``torch.nn.functional.affine_grid``.
    """
    n, c, h, w = images.shape
    xs = (2 * np.arange(w) + 1) / w - 1
    ys = (2 * np.arange(h) + 1) / h - 1
    gx, gy = np.meshgrid(xs, ys)                          # (H, W)
    base = np.stack([gx, gy, np.ones_like(gx)], -1)       # (H, W, 3)
    src = np.einsum("hwk,nik->nhwi", base, theta)         # (N, H, W, 2)
    px = ((src[..., 0] + 1) * w - 1) / 2
    py = ((src[..., 1] + 1) * h - 1) / 2
    x0, y0 = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
    fx, fy = px - x0, py - y0
    out = np.zeros((n, c, h, w), dtype=np.float64)
    batch = np.arange(n)[:, None, None]
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = x0 + dx, y0 + dy
            ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            vals = images[batch, :, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]  # N,H,W,C
            out += np.moveaxis(vals * (wx * wy * ok)[..., None], -1, 1)
    return out.astype(images.dtype)


def _batch_array(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected an image Tensor (C, H, W), got {type(x).__name__}")
    a = B.asnumpy(x.array)
    if a.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating point image, got {x.dtype}")
    return a


class _BatchTransform:
    batchable = True

    def __call__(self, x):
        a = _batch_array(x, type(self).__name__)
        if a.ndim != 3:
            raise ValueError(f"{type(self).__name__}: expected a (C, H, W) image, got {a.shape}")
        return from_array(self._apply(a[None])[0])

    def apply_batch(self, x):
        a = _batch_array(x, type(self).__name__)
        if a.ndim != 4:
            raise ValueError(f"{type(self).__name__}: expected (N, C, H, W) images, "
                             f"got {a.shape}")
        return from_array(self._apply(a))


class RandomAffine(_BatchTransform):
    """Random rotation, translation and scaling (``torchvision.transforms`` names).

    Args:
        degrees: rotate by an angle drawn from [-degrees, degrees].
        translate: ``(a, b)``: shift by up to ``a * W`` and ``b * H`` pixels.
        scale: ``(lo, hi)``: zoom factor drawn from this range.
        generator: a ``numpy.random.Generator`` (default: the global chainrule one).

    >>> import chainrule as cr
    >>> RandomAffine(10, (0.1, 0.1), (0.9, 1.1)).apply_batch(cr.rand(4, 1, 8, 8)).shape
    chainrule.Size([4, 1, 8, 8])
    """

    def __init__(self, degrees, translate=None, scale=None, generator=None):
        self.degrees = float(degrees)
        self.translate = tuple(translate) if translate is not None else (0.0, 0.0)
        self.scale = tuple(scale) if scale is not None else (1.0, 1.0)
        self.generator = generator

    def _apply(self, a):
        n = a.shape[0]
        g = self.generator if self.generator is not None else B.get_rng()
        ang = np.deg2rad(g.uniform(-self.degrees, self.degrees, n))
        s = g.uniform(self.scale[0], self.scale[1], n)
        tx = g.uniform(-1, 1, n) * 2 * self.translate[0]  # fraction of width, normalized
        ty = g.uniform(-1, 1, n) * 2 * self.translate[1]
        cos, sin = np.cos(ang) / s, np.sin(ang) / s
        theta = np.stack([np.stack([cos, -sin, tx], 1), np.stack([sin, cos, ty], 1)], 1)
        return affine_warp(a, theta)

    def __repr__(self):
        return (f"RandomAffine(degrees={self.degrees}, translate={self.translate}, "
                f"scale={self.scale})")


class Deskew(_BatchTransform):
    """Straighten slanted handwriting: shear each image so that its ink has no
    row/column covariance (the classic preprocessing of digit classifiers).

    The shear ``x' = x + alpha (y - mean_y)`` uses ``alpha = cov(x, y) / var(y)``
    from the image moments of the ink (summed over channels); blank images are
    left unchanged.

    >>> import chainrule as cr
    >>> Deskew()(cr.rand(1, 8, 8)).shape
    chainrule.Size([1, 8, 8])
    """

    def _apply(self, a):
        n, c, h, w = a.shape
        ink = a.sum(1).astype(np.float64)                  # (N, H, W)
        total = ink.sum((1, 2))
        safe = np.where(total > 0, total, 1.0)
        r = np.arange(h, dtype=np.float64)[None, :, None]
        col = np.arange(w, dtype=np.float64)[None, None, :]
        mr = (ink * r).sum((1, 2)) / safe
        mc = (ink * col).sum((1, 2)) / safe
        dr = r - mr[:, None, None]
        var = (ink * dr ** 2).sum((1, 2)) / safe
        cov = (ink * dr * (col - mc[:, None, None])).sum((1, 2)) / safe
        alpha = np.where((total > 0) & (var > 1e-8), cov / np.where(var > 1e-8, var, 1.0), 0.0)
        k = alpha * h / w                                   # pixel shear in normalized units
        ymr = (2 * mr + 1) / h - 1
        zeros, ones = np.zeros(n), np.ones(n)
        theta = np.stack([np.stack([ones, k, -k * ymr], 1),
                          np.stack([zeros, ones, zeros], 1)], 1)
        return affine_warp(a, theta)

    def __repr__(self):
        return "Deskew()"

