"""Samplers: which indices a DataLoader visits, and in what order.

Random samplers take a ``numpy.random.Generator``; without one they draw a fresh
seed from the global chainrule generator each epoch, so ``chainrule.manual_seed``
makes the whole sequence of epochs reproducible (torch's behaviour).
"""
import numbers

import numpy as np

from chainrule import backend as B

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DistributedSampler"]


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


class DistributedSampler(Sampler):
    """Each rank's share of the dataset for data-parallel training (torch's semantics).

    The indices (shuffled with ``seed + epoch`` when ``shuffle``; call ``set_epoch``
    each epoch) are padded by repeating the first ones to a multiple of
    ``num_replicas`` (or the tail is dropped with ``drop_last``), and rank ``r`` takes
    every ``num_replicas``-th index starting at ``r``.  Every rank must use the same
    ``seed``.  ``num_replicas``/``rank`` default to the process group's.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from chainrule import distributed as dist
            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: pass num_replicas and rank, or call "
                                   "chainrule.distributed.init_process_group first")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if not isinstance(num_replicas, numbers.Integral) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, "
                             f"got {num_replicas!r}")
        if not isinstance(rank, numbers.Integral) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = -(-(n - self.num_replicas) // self.num_replicas)
        else:
            self.num_samples = -(-n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Reshuffle differently (but identically on every rank) for this epoch."""
        self.epoch = int(epoch)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            idx = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            idx = np.arange(n)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:
                idx = np.concatenate([idx] + [idx] * (pad // n) + [idx[:pad % n]])
        else:
            idx = idx[:self.total_size]
        return iter(idx[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples
