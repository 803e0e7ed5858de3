"""Image transforms with ``torchvision.transforms`` (v1) names and tensor semantics.

Inputs, one sample (``__call__``): a Tensor ``(..., C, H, W)`` (float or uint8, as
after :class:`~chainrule.data.transforms.ToTensor`), or a NumPy image ``HxW`` /
``HxWxC`` (uint8, as the datasets return them, before ``ToTensor``).  The output is
of the same kind, layout and dtype.  A Tensor with extra leading dimensions gets one
set of random parameters, as in torchvision.

Batches (``apply_batch``): ``NxCxHxW`` Tensors or ``NxHxW`` / ``NxHxWxC`` arrays, with
parameters drawn per sample.  So all of these are ``batchable`` and the DataLoader's
fast path (``ArrayDataset.get_batch``) stays on; a sample goes through ``__call__``
exactly as a batch of one through ``apply_batch``, but a batch draws its parameters
in one go, so it differs from transforming its samples one by one (with the same
distribution).

Randomness comes from ``generator=`` (a ``numpy.random.Generator``) if given, else
from the global chainrule generator, so ``chainrule.manual_seed`` and a restored
checkpoint reproduce it.  DataLoader worker threads share that generator, so with
``num_workers > 0`` the draws are not reproducible (see :mod:`chainrule.data.loader`).

>>> import chainrule as cr
>>> from chainrule.data.transforms import Compose, ToTensor
>>> cr.manual_seed(0)
>>> t = Compose([RandomCrop(28, padding=4), RandomHorizontalFlip(), ToTensor()])
>>> t(np.zeros((28, 28, 3), np.uint8)).shape
chainrule.Size([3, 28, 28])
"""
import math
import numbers
import warnings

import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor, from_array
from chainrule.data import vision_functional as F

__all__ = ["RandomCrop", "RandomResizedCrop", "CenterCrop", "Resize", "Pad",
           "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation", "ColorJitter",
           "Grayscale", "RandomGrayscale"]


# ----------------------------------------------------------------- input handling
def _unpack(img, batched, name):
    """``img`` -> (a, pack): ``a`` a NumPy view of shape (N, M, C, H, W) (N samples with
    their own parameters, M images sharing them) and ``pack(out)`` rebuilding the
    caller's kind and layout from a result of the same form."""
    if isinstance(img, Tensor):
        a = B.asnumpy(img.array)
        lo = 3 if batched else 2
        if a.ndim < lo:
            want = "(N, C, H, W)" if batched else "(..., C, H, W)"
            raise ValueError(f"{name}: expected an image tensor {want}, got {a.shape}")
        squeeze = a.ndim == lo  # (N,) H W or H W: no channel axis
        lead = a.shape[:-2] if squeeze else a.shape[:-3]
        n = a.shape[0] if batched else 1
        a5 = a.reshape((n, -1) + ((1,) if squeeze else a.shape[-3:-2]) + a.shape[-2:])

        def pack(out):
            c = out.shape[2]
            shape = lead + ((c,) if not (squeeze and c == 1) else ()) + out.shape[-2:]
            return from_array(np.ascontiguousarray(out.reshape(shape)))
        return a5, pack
    if not isinstance(img, np.ndarray):
        raise TypeError(f"{name}: expected a Tensor or a NumPy image, got {type(img).__name__}")
    a = img
    grey = a.ndim == (3 if batched else 2)
    if a.ndim != (4 if batched else 3) and not grey:
        want = "NxHxW or NxHxWxC" if batched else "HxW or HxWxC"
        raise ValueError(f"{name}: expected a NumPy image {want}, got shape {a.shape}")
    if not batched:
        a = a[None]
    a5 = a[:, None, None] if grey else np.moveaxis(a, -1, 1)[:, None]

    def pack(out):
        out = out[:, 0]
        out = out[:, 0] if grey and out.shape[1] == 1 else np.moveaxis(out, 1, -1)
        return out if batched else out[0]
    return a5, pack


class _Transform:
    """Base: ``_forward(a)`` maps (N, M, C, H, W) to the same form (or ``None``: no change)."""
    batchable = True
    generator = None

    def _rng(self):
        return self.generator if self.generator is not None else B.get_rng()

    def __call__(self, img):
        a, pack = _unpack(img, False, type(self).__name__)
        out = self._forward(a)
        return img if out is None else pack(out)

    def apply_batch(self, imgs):
        a, pack = _unpack(imgs, True, type(self).__name__)
        out = self._forward(a)
        return imgs if out is None else pack(out)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._repr_args().items())
        return f"{type(self).__name__}({args})"

    def _repr_args(self):
        return {}


def _setup_size(size, name):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"{name}: please provide only two dimensions (h, w) for size, "
                         f"got {size}")
    return size


def _check_padding_mode(mode):
    if mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or "
                         f"symmetric, got {mode!r}")
    return mode


# ----------------------------------------------------------------- geometry
class CenterCrop(_Transform):
    """Crop the centre ``size`` (int or ``(h, w)``); larger crops are zero-padded.

    >>> CenterCrop(2)(np.arange(16, dtype=np.uint8).reshape(4, 4)).tolist()
    [[5, 6], [9, 10]]
    """

    def __init__(self, size):
        self.size = _setup_size(size, "CenterCrop")

    def _forward(self, a):
        return F.center_crop(a, self.size)

    def _repr_args(self):
        return {"size": self.size}


class Pad(_Transform):
    """Pad by ``padding`` (``p``, ``(left/right, top/bottom)`` or ``(l, t, r, b)``)
    with ``fill`` or the ``edge`` / ``reflect`` / ``symmetric`` ``padding_mode``."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        F._parse_padding(padding)
        self.padding, self.fill = padding, fill
        self.padding_mode = _check_padding_mode(padding_mode)

    def _forward(self, a):
        return F.pad(a, self.padding, self.fill, self.padding_mode)

    def _repr_args(self):
        return {"padding": self.padding, "fill": self.fill, "padding_mode": self.padding_mode}


def _resize_output_size(h, w, size, max_size):
    if len(size) == 2:
        return size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size[0], int(size[0] * long / short)
    if max_size is not None:
        if max_size <= size[0]:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the "
                             f"requested size for the smaller edge size = {size[0]}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


def _check_antialias(antialias, name):
    if antialias:
        raise ValueError(f"{name}: antialias=True is not implemented; resampling follows "
                         "interpolate(..., align_corners=False) without antialiasing")


class Resize(_Transform):
    """Resize to ``size``: ``(h, w)``, or an int that the smaller edge is matched to
    (keeping the aspect ratio, the longer edge capped at ``max_size``).

    Interpolation is ``'bilinear'`` (default), ``'nearest'`` or ``'nearest-exact'``, as
    ``torch.nn.functional.interpolate(align_corners=False)``, without antialiasing
    (``antialias=False`` semantics; uint8 results are rounded).
    """

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=None):
        if isinstance(size, numbers.Number):
            size = [size]
        self.size = tuple(int(s) for s in size)
        if len(self.size) not in (1, 2):
            raise ValueError(f"Resize: size should be an int or a sequence of one or two "
                             f"ints, got {size}")
        if max_size is not None and len(self.size) != 1:
            raise ValueError("Resize: max_size is only supported for a single int size")
        self.interpolation = F.interpolation_mode(interpolation)
        self.max_size = max_size
        _check_antialias(antialias, "Resize")

    def _forward(self, a):
        out = _resize_output_size(*a.shape[-2:], self.size, self.max_size)
        return F.resize(a, out, self.interpolation)

    def _repr_args(self):
        return {"size": self.size, "interpolation": self.interpolation,
                "max_size": self.max_size}


class RandomCrop(_Transform):
    """Crop a random ``size`` window, after optional ``padding`` (as :class:`Pad`).

    ``pad_if_needed`` pads an image smaller than ``size`` on both sides by the
    shortfall (torchvision's rule).  ``RandomCrop(32, padding=4)`` is the classic
    CIFAR-10 augmentation.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0,
                 padding_mode="constant", generator=None):
        self.size = _setup_size(size, "RandomCrop")
        if padding is not None:
            F._parse_padding(padding)
        self.padding, self.pad_if_needed, self.fill = padding, pad_if_needed, fill
        self.padding_mode = _check_padding_mode(padding_mode)
        self.generator = generator

    def _forward(self, a):
        if self.padding is not None:
            a = F.pad(a, self.padding, self.fill, self.padding_mode)
        th, tw = self.size
        if self.pad_if_needed and a.shape[-1] < tw:
            a = F.pad(a, [tw - a.shape[-1], 0], self.fill, self.padding_mode)
        if self.pad_if_needed and a.shape[-2] < th:
            a = F.pad(a, [0, th - a.shape[-2]], self.fill, self.padding_mode)
        h, w = a.shape[-2:]
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than "
                             f"input image size {(h, w)}")
        if (h, w) == (th, tw):
            return a
        g, n = self._rng(), a.shape[0]
        tops = g.integers(0, h - th + 1, n)
        lefts = g.integers(0, w - tw + 1, n)
        return F.crop_each(a, tops, lefts, th, tw)

    def _repr_args(self):
        return {"size": self.size, "padding": self.padding}


class RandomResizedCrop(_Transform):
    """Crop a random area (``scale`` of the image, aspect ``ratio``, log-uniform) and
    resize it to ``size``: the Inception / ImageNet augmentation.

    Ten tries per sample as torchvision; if none fits, the central crop of the
    clamped aspect ratio.  Interpolation as :class:`Resize`.
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation="bilinear", antialias=None, generator=None):
        self.size = _setup_size(size, "RandomResizedCrop")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)")
        self.scale = tuple(float(s) for s in scale)
        self.ratio = tuple(float(r) for r in ratio)
        self.interpolation = F.interpolation_mode(interpolation)
        _check_antialias(antialias, "RandomResizedCrop")
        self.generator = generator

    def get_params(self, g, n, height, width):
        """``(tops, lefts, heights, widths)``, one per sample."""
        area = height * width
        log_r = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        target = area * g.uniform(self.scale[0], self.scale[1], (n, 10))
        aspect = np.exp(g.uniform(log_r[0], log_r[1], (n, 10)))
        ws = np.rint(np.sqrt(target * aspect)).astype(np.int64)
        hs = np.rint(np.sqrt(target / aspect)).astype(np.int64)
        ok = (ws > 0) & (ws <= width) & (hs > 0) & (hs <= height)
        first, found = ok.argmax(1), ok.any(1)
        rows = np.arange(n)
        hs, ws = hs[rows, first], ws[rows, first]
        in_ratio = width / height  # fallback: central crop
        if in_ratio < min(self.ratio):
            fw, fh = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            fw, fh = int(round(height * max(self.ratio))), height
        else:
            fw, fh = width, height
        hs, ws = np.where(found, hs, fh), np.where(found, ws, fw)
        tops = np.where(found, g.integers(0, height - hs + 1), (height - fh) // 2)
        lefts = np.where(found, g.integers(0, width - ws + 1), (width - fw) // 2)
        return tops, lefts, hs, ws

    def _forward(self, a):
        tops, lefts, hs, ws = self.get_params(self._rng(), a.shape[0], *a.shape[-2:])
        return np.stack([F.resized_crop(a[k], tops[k], lefts[k], hs[k], ws[k], self.size,
                                        self.interpolation) for k in range(a.shape[0])])

    def _repr_args(self):
        return {"size": self.size, "scale": self.scale, "ratio": self.ratio,
                "interpolation": self.interpolation}


class _RandomFlip(_Transform):
    def __init__(self, p=0.5, generator=None):
        self.p, self.generator = float(p), generator

    def _forward(self, a):
        flip = self._rng().random(a.shape[0]) < self.p
        if not flip.any():
            return None
        out = a.copy()
        out[flip] = self._flip(a[flip])
        return out

    def _repr_args(self):
        return {"p": self.p}


class RandomHorizontalFlip(_RandomFlip):
    """Mirror left-right with probability ``p``."""
    _flip = staticmethod(F.hflip)


class RandomVerticalFlip(_RandomFlip):
    """Mirror top-bottom with probability ``p``."""
    _flip = staticmethod(F.vflip)


class RandomRotation(_Transform):
    """Rotate by an angle drawn from ``degrees`` (``d`` means ``(-d, d)``),
    counter-clockwise, about the centre or ``center=(x, y)``.

    ``interpolation``: ``'nearest'`` (torchvision's default) or ``'bilinear'``;
    uncovered pixels get ``fill`` (a number or one value per channel, in the image's
    scale: 0..255 for uint8).  ``expand=True`` enlarges the output to hold the whole
    rotated image; sizes then vary per angle, so batches go sample by sample.
    """

    def __init__(self, degrees, interpolation="nearest", expand=False, center=None, fill=0,
                 generator=None):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError("If degrees is a single number, it must be positive.")
            degrees = (-degrees, degrees)
        if len(degrees) != 2:
            raise ValueError("If degrees is a sequence, it must be of len 2.")
        self.degrees = (float(degrees[0]), float(degrees[1]))
        self.interpolation = F.interpolation_mode(interpolation)
        if self.interpolation == "nearest-exact":
            raise ValueError("RandomRotation: interpolation must be 'nearest' or 'bilinear'")
        self.expand, self.center, self.fill = expand, center, fill
        self.generator = generator

    @property
    def batchable(self):
        return not self.expand

    def _forward(self, a):
        angles = self._rng().uniform(self.degrees[0], self.degrees[1], a.shape[0])
        if not self.expand or a.shape[0] == 1:
            return F.rotate_each(a, angles, self.interpolation, self.expand, self.center,
                                 self.fill)
        raise ValueError("RandomRotation(expand=True) changes the image size per angle; "
                         "it cannot transform a batch at once")

    def _repr_args(self):
        return {"degrees": self.degrees, "interpolation": self.interpolation,
                "expand": self.expand, "fill": self.fill}


# ----------------------------------------------------------------- colour
def _jitter_range(value, name, center=1.0, bound=(0, float("inf")), clip_first_on_zero=True):
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"If {name} is a single number, it must be non negative.")
        value = [center - float(value), center + float(value)]
        if clip_first_on_zero:
            value[0] = max(value[0], 0.0)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        value = [float(value[0]), float(value[1])]
    else:
        raise TypeError(f"{name} should be a single number or a list/tuple with length 2.")
    if not bound[0] <= value[0] <= value[1] <= bound[1]:
        raise ValueError(f"{name} values should be between {bound}, but got {value}.")
    return None if value[0] == value[1] == center else tuple(value)


class ColorJitter(_Transform):
    """Random brightness, contrast, saturation and hue, applied in a random order.

    Each argument is ``v`` (factor drawn from ``[max(0, 1 - v), 1 + v]``; hue from
    ``[-v, v]``, ``v <= 0.5``) or a ``(min, max)`` range.  The formulas are
    torchvision's on tensors: blends with black, the mean grey level and the grey
    image, clamped to [0, 1] (float) or [0, 255] (uint8); hue shifts in HSV.
    """
    _FUNCS = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0, generator=None):
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")
        self.saturation = _jitter_range(saturation, "saturation")
        self.hue = _jitter_range(hue, "hue", center=0, bound=(-0.5, 0.5),
                                 clip_first_on_zero=False)
        self.generator = generator

    def get_params(self, g, n):
        """``(order (n, 4), [factors (n,) or None] * 4)`` for n samples."""
        order = np.argsort(g.random((n, 4)), axis=1)
        factors = [None if r is None else g.uniform(r[0], r[1], n)
                   for r in (self.brightness, self.contrast, self.saturation, self.hue)]
        return order, factors

    def _forward(self, a):
        if all(r is None for r in (self.brightness, self.contrast, self.saturation,
                                   self.hue)):
            return None
        n = a.shape[0]
        order, factors = self.get_params(self._rng(), n)
        out = np.array(a)  # contiguous copy
        shape = (n,) + (1,) * (a.ndim - 1)
        for pos in range(4):
            for fn_id, (fn, f) in enumerate(zip(self._FUNCS, factors)):
                sel = order[:, pos] == fn_id
                if f is None or not sel.any():
                    continue
                if sel.all():
                    out = fn(out, f.reshape(shape))
                else:
                    out[sel] = fn(out[sel], f[sel].reshape((-1,) + shape[1:]))
        return out

    def _repr_args(self):
        return {"brightness": self.brightness, "contrast": self.contrast,
                "saturation": self.saturation, "hue": self.hue}


class Grayscale(_Transform):
    """RGB -> grey (``0.2989 R + 0.587 G + 0.114 B``), 1 or 3 output channels."""

    def __init__(self, num_output_channels=1):
        if num_output_channels not in (1, 3):
            raise ValueError("num_output_channels should be either 1 or 3")
        self.num_output_channels = num_output_channels

    def _forward(self, a):
        return F.rgb_to_grayscale(a, self.num_output_channels)

    def _repr_args(self):
        return {"num_output_channels": self.num_output_channels}


class RandomGrayscale(_Transform):
    """With probability ``p``, grey with as many channels as the input."""

    def __init__(self, p=0.1, generator=None):
        self.p, self.generator = float(p), generator

    def _forward(self, a):
        pick = self._rng().random(a.shape[0]) < self.p
        if not pick.any():
            return None
        out = np.array(a)
        out[pick] = F.rgb_to_grayscale(a[pick], a.shape[2])
        return out

    def _repr_args(self):
        return {"p": self.p}
