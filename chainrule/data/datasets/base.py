"""ArrayDataset: samples stored as rows of NumPy arrays, with batched gathering."""
import numpy as np

from chainrule.core.tensor import from_array
from chainrule.data.dataset import Dataset

__all__ = ["ArrayDataset"]


class ArrayDataset(Dataset):
    """``(data[i], targets[i])`` samples from two arrays, plus optional transforms.

    Subclasses set ``data`` and ``targets``.  ``sample_as_tensor`` says whether an
    untransformed sample is a Tensor (ready features) or a NumPy image (to be fed to
    transforms such as :class:`~chainrule.data.transforms.ToTensor`).  Targets come
    out as Python ints (class labels), NumPy float scalars or rows.

    ``get_batch`` returns exactly ``default_collate([self[i] for i in indices])``
    computed with one fancy-index (and batched transforms where possible).
    """
    sample_as_tensor = False

    def __init__(self, data, targets, transform=None, target_transform=None):
        self.data, self.targets = data, targets
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return len(self.data)

    def _raw(self, x):
        return from_array(np.asarray(x)) if self.sample_as_tensor else x

    def __getitem__(self, index):
        x = self._raw(self.data[index])
        y = self.targets[index]
        if np.ndim(y) == 0:  # class ids -> Python int; float scalars stay NumPy scalars
            y = int(y) if np.asarray(y).dtype.kind in "iub" else y
        elif self.sample_as_tensor:
            y = from_array(np.asarray(y))
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def get_batch(self, indices):
        if self.target_transform is not None:
            return NotImplemented
        t = self.transform
        if t is not None and not getattr(t, "batchable", False):
            return NotImplemented
        x = self.data[indices]
        x = t.apply_batch(self._raw(x)) if t is not None else from_array(np.asarray(x))
        y = self.targets[indices]
        if y.ndim == 1 and y.dtype.kind in "iub":
            y = y.astype(np.int64)  # Python ints collate to int64
        return [x, from_array(np.ascontiguousarray(y))]

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        for attr in ("split",):
            if hasattr(self, attr):
                lines.append(f"    Split: {getattr(self, attr)}")
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)
