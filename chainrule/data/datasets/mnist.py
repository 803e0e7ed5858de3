"""MNIST and Fashion-MNIST from the original gzip-compressed IDX files."""
import gzip
import zlib

import numpy as np

from chainrule.data.datasets.base import ArrayDataset
from chainrule.data.download import find_file, local_file

__all__ = ["read_idx", "MNIST", "FashionMNIST"]

# IDX type codes -> big-endian NumPy dtypes
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path, expected_ndim=None):
    """Parse an IDX file (optionally ``.gz``) into a native-endian NumPy array.

    The header is two zero bytes, a type code, the number of dimensions, then one
    big-endian uint32 per dimension.  MNIST images have magic 0x00000803
    (uint8, 3 dims), labels 0x00000801.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise ValueError(f"{path}: truncated or corrupt gzip file ({e}); delete it to "
                         f"download it again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (magic {raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    if expected_ndim is not None and ndim != expected_ndim:
        magic = int.from_bytes(raw[:4], "big")
        raise ValueError(f"{path}: IDX magic 0x{magic:08x} has {ndim} dims, "
                         f"expected {expected_ndim} (0x{0x800 + expected_ndim:08x})")
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dt = np.dtype(_IDX_TYPES[raw[2]])
    n = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != n * dt.itemsize:
        raise ValueError(f"{path}: IDX header says shape {shape} ({n * dt.itemsize} bytes) "
                         f"but {len(raw) - header} bytes follow")
    a = np.frombuffer(raw, dt, n, header).reshape(shape)
    return a.astype(dt.newbyteorder("="), copy=True) if dt.itemsize > 1 else a.copy()


class MNIST(ArrayDataset):
    """Handwritten digits 0-9: 60,000 train / 10,000 test grey 28x28 images.

    A sample is ``(image, label)``: a uint8 ``28x28`` NumPy array (use
    ``transforms.ToTensor()`` for a float ``1x28x28`` Tensor in [0, 1]) and an int.
    ``data`` (uint8, Nx28x28) and ``targets`` (int64, N) hold the whole split.

    Args:
        root: cache folder for downloads (default ``$CHAINRULE_CACHE``); files are
            looked for in ``$CHAINRULE_DATA/<name>/`` first.
        train: the training split (else the test split).
        transform / target_transform: applied to the image / label.
        download: fetch missing files from the official mirrors.
    """
    dataset_dir = "mnist"
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = {
        "train-images-idx3-ubyte.gz":
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz":
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz":
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz":
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=True):
        self.root, self.train = root, train
        prefix = "train" if train else "t10k"
        images = read_idx(self._file(f"{prefix}-images-idx3-ubyte.gz", download), 3)
        labels = read_idx(self._file(f"{prefix}-labels-idx1-ubyte.gz", download), 1)
        if len(images) != len(labels):
            raise ValueError(f"{type(self).__name__}: {len(images)} images but "
                             f"{len(labels)} labels")
        super().__init__(images, labels.astype(np.int64), transform, target_transform)

    @property
    def split(self):
        return "Train" if self.train else "Test"

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def _file(self, name, download):
        urls = [m + name for m in self.mirrors]
        return find_file(self.dataset_dir, name, urls, self.resources[name], self.root,
                         download_ok=download)

    @classmethod
    def available(cls, root=None):
        """True when every file is present locally (no network needed)."""
        return all(local_file(cls.dataset_dir, f, None, root) is not None
                   for f in cls.resources)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 10 clothing classes, same format and sizes as MNIST."""
    dataset_dir = "fashion-mnist"
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = {
        "train-images-idx3-ubyte.gz":
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz":
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz":
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz":
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    }
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
