"""scikit-learn's 8x8 handwritten digits, shipped inside the package (no download)."""
import gzip
import os

import numpy as np

from chainrule.data.datasets.base import ArrayDataset

__all__ = ["Digits", "load_digits_arrays"]

FILE = os.path.join(os.path.dirname(__file__), "files", "digits.csv.gz")
SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
N_TRAIN = 1437  # first 80% of the rows; the last 360 are the test split

_CACHE = {}


def load_digits_arrays(path=FILE):
    """``(pixels uint8 (1797, 8, 8) in 0..16, labels int64 (1797,))`` from the CSV."""
    if path not in _CACHE:
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float64)
        if table.ndim != 2 or table.shape[1] != 65:
            raise ValueError(f"{path}: expected rows of 64 pixels + label, got {table.shape}")
        _CACHE[path] = (table[:, :64].astype(np.uint8).reshape(-1, 8, 8),
                        table[:, 64].astype(np.int64))
    return _CACHE[path]


class Digits(ArrayDataset):
    """1797 grey 8x8 digit images (UCI optdigits test set, as bundled by scikit-learn).

    A sample is ``(image, label)``: a float32 ``1x8x8`` Tensor scaled to [0, 1]
    (pixel / 16) and an int 0-9.  The split is fixed and needs no RNG: the first
    1437 rows (80%) are ``train``, the last 360 rows ``test`` (the rows follow the
    writers' order, so the test rows are mostly from other writers).
    """
    classes = [str(i) for i in range(10)]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=True):
        pixels, labels = load_digits_arrays()
        sl = slice(None, N_TRAIN) if train else slice(N_TRAIN, None)
        self.train = train
        images = (pixels[sl, None].astype(np.float32) / np.float32(16))
        super().__init__(images, labels[sl].copy(), transform, target_transform)

    sample_as_tensor = True

    @property
    def split(self):
        return "Train" if self.train else "Test"

    @classmethod
    def available(cls, root=None):
        return os.path.isfile(FILE)
