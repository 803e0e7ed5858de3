"""``torchvision.datasets`` on chainrule's datasets, reading torchvision's file layout.

torchvision keeps MNIST's files in ``root/MNIST/raw/`` (``root/FashionMNIST/raw/``);
those are read when present (``.gz`` or unpacked), else chainrule's own lookup
(``$CHAINRULE_DATA/mnist``, then the cache, then a download when ``download=True``).
``data`` and ``targets`` are tensors, as torchvision's; loading keeps chainrule's
batched fast path (``get_batch``).
"""
import os

from chainrule.core.creation import from_numpy
from chainrule.data import datasets as _cd
from chainrule.data.dataset import Dataset

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "VisionDataset"]


class _RawFolder:
    """A chainrule dataset that looks in ``root/<tv_name>/raw/`` first."""
    tv_name = None
    tv_root = None

    def _file(self, name, download):
        if self.tv_root is not None:
            raw = os.path.join(self.tv_root, self.tv_name, "raw")
            for candidate in (name, name[:-3] if name.endswith(".gz") else name):
                if os.path.isfile(os.path.join(raw, candidate)):
                    return os.path.join(raw, candidate)
        try:
            return super()._file(name, download)
        except RuntimeError as e:
            if not download:
                raise RuntimeError(f"Dataset not found. You can use download=True to "
                                   f"download it ({e})") from None
            raise


class VisionDataset(Dataset):
    """A torchvision-style dataset over a chainrule array dataset (``self._ds``)."""
    _ds = None

    def __len__(self):
        return len(self._ds)

    def __getitem__(self, index):
        return self._ds[index]

    def get_batch(self, indices):
        return self._ds.get_batch(indices)

    data = property(lambda self: from_numpy(self._ds.data))
    targets = property(lambda self: from_numpy(self._ds.targets))
    classes = property(lambda self: self._ds.classes)
    class_to_idx = property(lambda self: {c: i for i, c in enumerate(self._ds.classes)})
    transform = property(lambda self: self._ds.transform,
                         lambda self, t: setattr(self._ds, "transform", t))
    target_transform = property(lambda self: self._ds.target_transform,
                                lambda self, t: setattr(self._ds, "target_transform", t))

    def __repr__(self):
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Root location: {self.root}\n    Split: {'Train' if self.train else 'Test'}")


def _vision(name, base):
    files = type(f"_{name}Files", (_RawFolder, base), {"tv_name": name})

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        self.root = os.path.expanduser(str(root)) if root is not None else None
        self.train = train
        ds = files.__new__(files)
        ds.tv_root = self.root
        files.__init__(ds, None, train, transform, target_transform, download)
        self._ds = ds

    return type(name, (VisionDataset,), {"__init__": __init__, "__doc__": base.__doc__,
                                         "__module__": __name__})


MNIST = _vision("MNIST", _cd.MNIST)
FashionMNIST = _vision("FashionMNIST", _cd.FashionMNIST)
CIFAR10 = _vision("CIFAR10", _cd.CIFAR10)
