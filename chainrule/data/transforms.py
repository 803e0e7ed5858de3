"""Sample transforms (``torchvision.transforms`` names), PIL-free.

Images are NumPy arrays: ``HxW`` (grey) or ``HxWxC`` uint8, as the datasets here
return them.  Transforms that also define ``apply_batch`` (ToTensor, Normalize,
Lambda with ``batched=True`` and Compose of those) let the DataLoader transform a
whole batch at once; the result is identical to transforming sample by sample.
"""
import numpy as np

from chainrule.core import dtype as D
from chainrule.core.tensor import Tensor, from_array

__all__ = ["Compose", "ToTensor", "Normalize", "Lambda"]


class Compose:
    """Apply transforms in order.

    >>> t = Compose([ToTensor(), Normalize([0.5], [0.5])])
    >>> t(np.full((2, 2), 255, np.uint8)).tolist()
    [[[1.0, 1.0], [1.0, 1.0]]]
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    @property
    def batchable(self):
        return all(getattr(t, "batchable", False) for t in self.transforms)

    def apply_batch(self, x):
        for t in self.transforms:
            x = t.apply_batch(x)
        return x

    def __repr__(self):
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


def _as_array(pic, name):
    if isinstance(pic, Tensor):
        raise TypeError(f"{name}: input is already a Tensor; expected a NumPy image "
                        "(HxW or HxWxC)")
    a = np.asarray(pic)
    if a.ndim not in (2, 3):
        raise ValueError(f"{name}: expected an HxW or HxWxC image, got shape {a.shape}")
    return a


def _to_float(a):
    if a.dtype == np.uint8:
        return a.astype(D._Default.np) / D._Default.np.type(255)
    return a


class ToTensor:
    """HxWxC (or HxW) image array -> CxHxW (1xHxW) Tensor; uint8 scaled to [0, 1].

    Other dtypes keep their values and dtype (as torchvision does).

    >>> ToTensor()(np.zeros((4, 5, 3), np.uint8)).shape
    chainrule.Size([3, 4, 5])
    """
    batchable = True

    def __call__(self, pic):
        a = _as_array(pic, "ToTensor")
        a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
        return from_array(np.ascontiguousarray(_to_float(a)))

    def apply_batch(self, pics):
        """``N`` images stacked as NxHxW or NxHxWxC -> NxCxHxW."""
        a = np.asarray(pics)
        a = a[:, None] if a.ndim == 3 else a.transpose(0, 3, 1, 2)
        return from_array(np.ascontiguousarray(_to_float(a)))

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a CxHxW float Tensor.

    Args:
        mean, std: one value per channel.
        inplace: overwrite the input tensor's storage.
    """
    batchable = True

    def __init__(self, mean, std, inplace=False):
        self.mean = tuple(float(m) for m in np.atleast_1d(mean))
        self.std = tuple(float(s) for s in np.atleast_1d(std))
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero ({self.std}), "
                             "leading to division by zero")
        self.inplace = inplace

    def _apply(self, t, min_ndim):
        if not isinstance(t, Tensor):
            raise TypeError(f"Normalize: expected a Tensor, got {type(t).__name__}")
        if t.ndim < min_ndim:
            raise ValueError(f"Normalize: expected a tensor image of shape (..., C, H, W), "
                             f"got {tuple(t.shape)}")
        a = t.array
        if a.dtype.kind != "f":
            raise TypeError(f"Normalize: expected a floating point tensor, got {t.dtype}")
        c = a.shape[-3]
        if len(self.mean) not in (1, c) or len(self.std) not in (1, c):
            raise ValueError(f"Normalize: {len(self.mean)} means / {len(self.std)} stds "
                             f"for an image with {c} channels")
        m = np.asarray(self.mean, a.dtype).reshape(-1, 1, 1)
        s = np.asarray(self.std, a.dtype).reshape(-1, 1, 1)
        if self.inplace:
            np.subtract(a, m, out=a)
            np.divide(a, s, out=a)
            t._version[0] += 1
            return t
        return from_array((a - m) / s)

    def __call__(self, tensor):
        return self._apply(tensor, 3)

    def apply_batch(self, tensor):
        return self._apply(tensor, 4)

    def __repr__(self):
        return f"Normalize(mean={list(self.mean)}, std={list(self.std)})"


class Lambda:
    """Wrap a function as a transform.

    Args:
        batched: the function works unchanged on a batch (leading dimension N),
            so the DataLoader may apply it to whole batches.
    """

    def __init__(self, lambd, batched=False):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd
        self.batchable = bool(batched)

    def __call__(self, x):
        return self.lambd(x)

    def apply_batch(self, x):
        return self.lambd(x)

    def __repr__(self):
        return f"Lambda({getattr(self.lambd, '__name__', 'fn')})"


# Image transforms (crops, resizing, flips, rotation, colour jitter): torchvision names.
from chainrule.data.vision_transforms import *  # noqa: E402,F401,F403
from chainrule.data.vision_transforms import __all__ as _vision_all  # noqa: E402

__all__ += _vision_all
