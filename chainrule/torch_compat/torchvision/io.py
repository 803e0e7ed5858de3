"""``torchvision.io.read_image`` / ``decode_image`` / ``write_png``: image files as
``(C, H, W)`` uint8 tensors, through Pillow (matplotlib's own dependency)."""
import enum
import os

import numpy as np

from chainrule import backend as B
from chainrule.core.creation import from_numpy
from chainrule.core.tensor import Tensor

__all__ = ["ImageReadMode", "read_image", "decode_image", "read_file", "write_png"]


class ImageReadMode(enum.Enum):
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4


_PIL_MODES = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA",
              ImageReadMode.RGB: "RGB", ImageReadMode.RGB_ALPHA: "RGBA"}


def _open(source):
    from PIL import Image
    import io
    img = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
    img.load()
    return img


def _to_tensor(img, mode):
    if isinstance(mode, str):
        mode = ImageReadMode[mode.upper()]
    if mode != ImageReadMode.UNCHANGED:
        img = img.convert(_PIL_MODES[mode])
    elif img.mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    a = np.asarray(img, dtype=np.uint8)
    a = a[:, :, None] if a.ndim == 2 else a
    return from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def read_image(path, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """The image at ``path`` (PNG, JPEG, ... what Pillow reads) as (C, H, W) uint8."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise RuntimeError(f"read_image: no such file: {path}")
    return _to_tensor(_open(path), mode)


def read_file(path):
    """The bytes of ``path`` as a 1-D uint8 tensor (for :func:`decode_image`)."""
    with open(os.fspath(path), "rb") as f:
        return from_numpy(np.frombuffer(f.read(), dtype=np.uint8).copy())


def decode_image(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """An encoded image (a uint8 tensor of file bytes, or a path) as (C, H, W) uint8."""
    if isinstance(input, Tensor):
        return _to_tensor(_open(B.asnumpy(input.array).tobytes()), mode)
    return read_image(input, mode)


def write_png(input, filename, compression_level=6):
    """Write a (C, H, W) uint8 tensor (C = 1 or 3) as a PNG file."""
    from PIL import Image
    a = B.asnumpy(input.array)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[0] not in (1, 3, 4):
        raise ValueError(f"write_png: expected a (C, H, W) uint8 tensor with C in 1, 3, 4, "
                         f"got {a.dtype} {a.shape}")
    Image.fromarray(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)).save(
        os.fspath(filename), compress_level=compression_level)
