"""CIFAR-10 from the official python pickle batches (``cifar-10-python.tar.gz``).

The archive holds ``cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``;
each batch is a pickled dict with ``b'data'`` (uint8, 10000 x 3072: the red, green,
then blue 32x32 planes of each image, row-major) and ``b'labels'`` (ints 0-9).

Pickles can run code, so they are read with :class:`SafeUnpickler`, which only
rebuilds dicts, lists, strings, numbers and plain NumPy arrays.
"""
import hashlib
import io
import os
import pickle
import shutil
import tarfile
import tempfile

import numpy as np

from chainrule.data.datasets.base import ArrayDataset
from chainrule.data.download import ChecksumError, cache_dir, data_dir, find_file, local_file

__all__ = ["CIFAR10", "SafeUnpickler", "safe_load_pickle", "load_cifar_batch",
           "extract_cifar"]


# ----------------------------------------------------------------- safe unpickling
class _NDArrayName:
    """Stands for ``numpy.ndarray`` in a pickle: usable only as ``_reconstruct``'s
    first argument, never callable itself."""


def _ndarray_reconstruct(subtype, shape, dtype):
    if subtype is not _NDArrayName:
        raise pickle.UnpicklingError(f"refusing to rebuild an array of type {subtype!r}")
    return _NP_RECONSTRUCT(np.ndarray, shape, _safe_dtype(dtype))


def _safe_dtype(*args):
    d = np.dtype(*args)
    if d.hasobject:
        raise pickle.UnpicklingError(f"refusing object dtype {d}")
    return d


def _frombuffer(buf, dtype, shape, order):
    return np.frombuffer(buf, _safe_dtype(dtype)).reshape(shape, order=order)


def _latin1_encode(obj, encoding="latin1"):
    # Python 3 writes bytes as _codecs.encode(str, 'latin1') in protocols < 3
    if not isinstance(obj, str) or encoding.lower().replace("_", "-") not in (
            "latin1", "latin-1", "iso-8859-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode(..., {encoding!r})")
    return obj.encode("latin-1")


_NP_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's _reconstruct
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _ndarray_reconstruct,  # numpy 1.x pickles
    ("numpy._core.multiarray", "_reconstruct"): _ndarray_reconstruct,  # numpy 2.x pickles
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,  # protocol 5
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _NDArrayName,
    ("numpy", "dtype"): _safe_dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler that refuses every global except NumPy array reconstruction.

    Built-in containers, strings, bytes and numbers need no globals; the only names
    it resolves are NumPy's ``_reconstruct`` / ``ndarray`` / ``dtype`` (plain,
    non-object arrays), ``_frombuffer`` and ``_codecs.encode`` for latin-1 bytes.
    Anything else (``os.system``, ``builtins.eval``, ...) raises
    ``pickle.UnpicklingError`` before it can be called.
    """

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name} from a data pickle") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refusing a persistent id in a data pickle")


def safe_load_pickle(data, encoding="bytes"):
    """Unpickle ``data`` (bytes or a binary file) with :class:`SafeUnpickler`.

    ``encoding='bytes'`` keeps Python 2 strings as bytes (CIFAR's ``b'data'`` keys).
    """
    f = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    return SafeUnpickler(f, encoding=encoding).load()


# ----------------------------------------------------------------- batches
def _get(d, key):
    for k in (key.encode(), key):
        if k in d:
            return d[k]
    raise KeyError(key)


def load_cifar_batch(path):
    """``(data uint8 (N, 32, 32, 3) HWC, labels int64 (N,))`` from one pickled batch."""
    with open(path, "rb") as f:
        d = safe_load_pickle(f)
    if not isinstance(d, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(d).__name__}")
    try:
        data, labels = _get(d, "data"), _get(d, "labels")
    except KeyError as e:
        raise ValueError(f"{path}: a CIFAR-10 batch needs b'data' and b'labels', missing "
                         f"{e}; keys: {sorted(map(repr, d))}") from None
    data = np.asarray(data)
    labels = np.asarray(labels, dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{path}: expected uint8 data of shape (N, 3072), got "
                         f"{data.dtype} {data.shape}")
    if labels.shape != (len(data),) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
        raise ValueError(f"{path}: expected {len(data)} labels in 0..9, got shape "
                         f"{labels.shape}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def _md5(path):
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _complete(folder, names):
    return all(os.path.isfile(os.path.join(folder, n)) for n in names)


def extract_cifar(archive, target, folder, members, max_member_bytes=64 << 20):
    """Extract ``folder/<m>`` for each name ``m`` in ``members`` from ``archive`` (tar.gz)
    into ``target/folder``; return that path.

    Only regular-file members with exactly those names are written, under names chosen
    here (never paths taken from the archive), so links, absolute paths and ``..``
    cannot escape ``target``.  Files go to a temporary folder renamed into place, so an
    interrupted extraction leaves no partial folder.
    """
    final = os.path.join(target, folder)
    if _complete(final, members):
        return final
    os.makedirs(target, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{folder}.", suffix=".part", dir=target)
    try:
        out = os.path.join(tmp, folder)
        os.mkdir(out)
        wanted = {f"{folder}/{m}": m for m in members}
        with tarfile.open(archive, "r:gz") as tar:
            for info in tar:
                name = info.name[2:] if info.name.startswith("./") else info.name
                if name not in wanted:
                    continue
                if not info.isfile():
                    raise ValueError(f"{archive}: member {info.name!r} is not a regular file")
                if info.size > max_member_bytes:
                    raise ValueError(f"{archive}: member {info.name!r} is {info.size} bytes, "
                                     f"more than the expected {max_member_bytes}")
                with tar.extractfile(info) as src, open(os.path.join(out, wanted[name]),
                                                        "wb") as dst:
                    shutil.copyfileobj(src, dst)
                    dst.flush()
                    os.fsync(dst.fileno())
        missing = [m for m in members if not os.path.isfile(os.path.join(out, m))]
        if missing:
            raise ValueError(f"{archive}: not a CIFAR archive, missing {folder}/{missing[0]}"
                             + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
        try:
            os.rename(out, final)
        except OSError:
            if not _complete(final, members):  # not a concurrent extraction: a stale folder
                raise RuntimeError(f"cannot extract into {final}: an incomplete folder is "
                                   "in the way; delete it and try again") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


# ----------------------------------------------------------------- dataset
class CIFAR10(ArrayDataset):
    """CIFAR-10: 32x32 colour images in 10 classes, 50,000 train / 10,000 test.

    A sample is ``(image, label)``: a uint8 ``32x32x3`` (HWC) NumPy array, as
    torchvision's PIL image and like MNIST here, and an int.  So the usual pipeline
    works unchanged and stays on the DataLoader's batched fast path::

        T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(),
                   T.ToTensor(), T.Normalize(CIFAR10.mean, CIFAR10.std)])

    ``transforms.ToTensor()`` alone gives a float32 ``3x32x32`` Tensor in [0, 1].
    ``data`` (uint8, Nx32x32x3) and ``targets`` (int64, N) hold the whole split.

    Files: ``$CHAINRULE_DATA/cifar10/`` first, then ``<root or cache>/cifar10/``: the
    extracted ``cifar-10-batches-py/`` folder, else ``cifar-10-python.tar.gz`` (SHA-256
    checked, extracted into ``<root or cache>/cifar10/``), else a download of it.
    Each batch file read is checked against its published MD5.

    Args:
        root: cache folder (default ``$CHAINRULE_CACHE``).
        train: the five training batches (else ``test_batch``).
        transform / target_transform: applied to the image / label.
        download: fetch the archive when no local copy exists.
    """
    dataset_dir = "cifar10"
    folder = "cifar-10-batches-py"
    archive = "cifar-10-python.tar.gz"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    archive_sha256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
    archive_md5 = "c58f30108f718f92721af3b95e74349a"  # documentation: the published MD5
    train_files = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                   "data_batch_5"]
    test_files = ["test_batch"]
    meta_file = "batches.meta"
    file_md5 = {  # torchvision's published per-file MD5s
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e",
        "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
    }
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
               "ship", "truck"]
    mean = (0.4914, 0.4822, 0.4465)  # per-channel statistics of the training images
    std = (0.2470, 0.2435, 0.2616)

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=True):
        self.root, self.train = root, train
        base = self._batches_dir(download)
        parts = [load_cifar_batch(self._checked(base, f))
                 for f in (self.train_files if train else self.test_files)]
        data = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        self.classes = self._load_classes(base)
        super().__init__(data, labels, transform, target_transform)

    @property
    def split(self):
        return "Train" if self.train else "Test"

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    @classmethod
    def _members(cls):
        return cls.train_files + cls.test_files + [cls.meta_file]

    def _checked(self, base, name):
        path = os.path.join(base, name)
        want = self.file_md5.get(name)
        if want is not None:
            got = _md5(path)
            if got != want:
                raise ChecksumError(f"checksum mismatch for {path}: expected md5 {want}, got "
                                    f"{got}. The file is corrupt or a different version; "
                                    "delete the folder (or fix CHAINRULE_DATA) and try again.")
        return path

    def _load_classes(self, base):
        with open(self._checked(base, self.meta_file), "rb") as f:
            meta = safe_load_pickle(f)
        names = _get(meta, "label_names") if isinstance(meta, dict) else None
        if not isinstance(names, list) or len(names) != 10:
            raise ValueError(f"{base}/{self.meta_file}: expected 10 label_names")
        return [n.decode() if isinstance(n, bytes) else str(n) for n in names]

    def _batches_dir(self, download):
        cache = os.path.join(self.root or cache_dir(), self.dataset_dir)
        for base in (data_dir(), self.root or cache_dir()):
            if base is not None:
                folder = os.path.join(base, self.dataset_dir, self.folder)
                if _complete(folder, self._members()):
                    return folder
        if not download and local_file(self.dataset_dir, self.archive, None,
                                       self.root) is None:
            raise RuntimeError(
                f"CIFAR10: neither {self.dataset_dir}/{self.folder}/ nor "
                f"{self.dataset_dir}/{self.archive} found in CHAINRULE_DATA ({data_dir()}) "
                f"or {os.path.dirname(cache)}, and download=False")
        path = find_file(self.dataset_dir, self.archive, [self.url], self.archive_sha256,
                         self.root, download_ok=download)
        return extract_cifar(path, cache, self.folder, self._members())

    @classmethod
    def available(cls, root=None):
        """True when the extracted folder or the archive is present locally."""
        for base in (data_dir(), root or cache_dir()):
            if base is not None and _complete(
                    os.path.join(base, cls.dataset_dir, cls.folder), cls._members()):
                return True
        return local_file(cls.dataset_dir, cls.archive, None, root) is not None
