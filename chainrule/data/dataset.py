"""Map-style datasets and splitting helpers (``torch.utils.data`` names).

A dataset is anything with ``__getitem__(i)`` and ``__len__()``.  Datasets that
hold their samples as arrays may also define ``get_batch(indices)`` returning the
already-collated batch; :class:`~chainrule.data.DataLoader` then gathers a whole
batch with one fancy-index instead of collating sample by sample.
"""
import bisect
import math
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor, from_array

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split"]


class Dataset:
    """Base class of map-style datasets: override ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset:
    """Base class of stream datasets: override ``__iter__``.

    The DataLoader batches what the iterator yields; it never indexes or shuffles it.
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


def _row(a, index):
    r = a[index]
    return r if B.is_array(r) else np.asarray(r)


class TensorDataset(Dataset):
    """Samples are rows of tensors that share their first dimension.

    >>> import chainrule as cr
    >>> ds = TensorDataset(cr.arange(6).reshape(3, 2), cr.tensor([0, 1, 0]))
    >>> len(ds), ds[1][0].tolist(), ds[1][1].item()
    (3, [2, 3], 1)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        n = tensors[0].shape[0] if tensors[0].ndim else None
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected Tensors, got {type(t).__name__}")
            if t.ndim == 0 or t.shape[0] != n:
                raise ValueError("TensorDataset: size mismatch between tensors: "
                                 f"{[tuple(t.shape) for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index):
        if any(t.requires_grad for t in self.tensors):
            return tuple(t[index] for t in self.tensors)
        return tuple(from_array(_row(t.array, index)) for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def get_batch(self, indices):
        """The collated batch for ``indices`` (what default_collate would build)."""
        if any(t.requires_grad for t in self.tensors):
            return NotImplemented
        idx = np.asarray(indices, dtype=np.int64)
        return [from_array(t.array[idx]) for t in self.tensors]


class Subset(Dataset):
    """The samples of ``dataset`` at positions ``indices``."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)

    def get_batch(self, indices):
        gb = getattr(self.dataset, "get_batch", None)
        if gb is None:
            return NotImplemented
        return gb(np.asarray(self.indices)[np.asarray(indices, dtype=np.int64)])


class ConcatDataset(Dataset):
    """Several datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise IndexError(f"ConcatDataset: index {idx} out of range for length {len(self)}")
            idx += len(self)
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        if d == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {idx} out of range for length {len(self)}")
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][idx - start]


def _split_lengths(lengths, n):
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1 and \
            not all(isinstance(x, numbers.Integral) for x in lengths):
        for f in lengths:
            if not 0 <= f <= 1:
                raise ValueError(f"random_split: fraction {f} is not between 0 and 1")
        out = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(out)):  # hand the remainder out round-robin (torch)
            out[i % len(out)] += 1
        return out
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not "
                         f"equal the length of the input dataset ({n})")
    return [int(x) for x in lengths]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset` s.

    Args:
        lengths: sizes (ints summing to ``len(dataset)``) or fractions summing to 1;
            leftovers of fractional sizes go round-robin to the first splits, as in torch.
        generator: a ``numpy.random.Generator`` (e.g. ``np.random.default_rng(42)``);
            by default the global chainrule generator, which ``chainrule.manual_seed``
            seeds, so splits are reproducible under a seed.

    >>> import numpy as np
    >>> a, b = random_split(range(10), [0.7, 0.3], generator=np.random.default_rng(0))
    >>> len(a), len(b), sorted(list(a) + list(b)) == list(range(10))
    (7, 3, True)
    """
    n = len(dataset)
    lengths = _split_lengths(lengths, n)
    g = generator if generator is not None else B.get_rng()
    perm = g.permutation(n).tolist()
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset:offset + length]))
        offset += length
    return out
