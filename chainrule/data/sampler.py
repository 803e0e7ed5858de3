"""Samplers: which indices a DataLoader visits, and in what order.

Random samplers take a ``numpy.random.Generator``; without one they draw a fresh
seed from the global chainrule generator each epoch, so ``chainrule.manual_seed``
makes the whole sequence of epochs reproducible (torch's behaviour).
"""
import numbers

import numpy as np

from chainrule import backend as B

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


class Sampler:
    """Base class: iterate over dataset indices (or lists of them)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


def _epoch_rng(generator):
    if generator is not None:
        return generator
    seed = int(B.get_rng().integers(0, 2 ** 63 - 1))
    return np.random.default_rng(seed)


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation, or ``num_samples`` draws with replacement.

    Args:
        replacement: draw with replacement.
        num_samples: how many indices per epoch (default ``len(data_source)``);
            without replacement more than ``len`` chains several permutations.
        generator: a ``numpy.random.Generator`` (default: the global chainrule RNG).
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, got {replacement!r}")
        if not isinstance(self.num_samples, numbers.Integral) or self.num_samples <= 0:
            raise ValueError("num_samples should be a positive integer value, "
                             f"but got num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def indices(self):
        """This epoch's indices as an int64 array (advances the generator)."""
        n, m = len(self.data_source), self.num_samples
        g = _epoch_rng(self.generator)
        if self.replacement:
            return g.integers(0, n, size=m, dtype=np.int64)
        perms = [g.permutation(n) for _ in range(-(-m // n))]
        return np.concatenate(perms)[:m].astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in random order."""

    def __init__(self, indices, generator=None):
        self.indices_ = list(indices)
        self.generator = generator

    def __iter__(self):
        g = _epoch_rng(self.generator)
        return iter([self.indices_[i] for i in g.permutation(len(self.indices_))])

    def __len__(self):
        return len(self.indices_)


class WeightedRandomSampler(Sampler):
    """Indices 0..len(weights)-1 drawn with probability proportional to ``weights``."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be a 1-D sequence of "
                             "non-negative finite numbers with a positive sum")
        if not isinstance(num_samples, numbers.Integral) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer, got {num_samples}")
        if not replacement and num_samples > (w > 0).sum():
            raise ValueError("WeightedRandomSampler: cannot draw more samples than "
                             "non-zero weights without replacement")
        self.weights, self.num_samples = w, int(num_samples)
        self.replacement, self.generator = replacement, generator

    def __iter__(self):
        g = _epoch_rng(self.generator)
        idx = g.choice(len(self.weights), self.num_samples, replace=self.replacement,
                       p=self.weights / self.weights.sum())
        return iter(idx.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``.

    >>> list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    >>> list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=True))
    [[0, 1], [2, 3]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size <= 0:
            raise ValueError("batch_size should be a positive integer value, "
                             f"but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got {drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self):
        bs = self.batch_size
        if type(self.sampler) in (SequentialSampler, RandomSampler):  # vectorized path
            idx = (np.arange(len(self.sampler)) if type(self.sampler) is SequentialSampler
                   else self.sampler.indices())
            stop = len(idx) - len(idx) % bs if self.drop_last else len(idx)
            for i in range(0, stop, bs):
                yield idx[i:i + bs].tolist()
            return
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == bs:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
