"""DataLoader: batches from a dataset, optionally prefetched by background workers.

Workers are threads (NumPy releases the GIL in copies, decoding and math), so
nothing is pickled and any dataset works.  All random choices (shuffling) happen in
the main thread, so ``num_workers > 0`` yields exactly the batches of
``num_workers=0``, in the same order.  Random *transforms* that draw from the
global RNG inside workers are not covered by that guarantee.
"""
import collections
import concurrent.futures as cf
import itertools
import sys
import threading

import numpy as np

from chainrule.data.collate import default_collate, default_convert
from chainrule.data.dataset import IterableDataset
from chainrule.data.sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]

# Platforms without real threads run everything in the main thread.
_THREADS_OK = sys.platform not in ("emscripten", "wasi")
_worker_info = threading.local()


class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker thread."""

    def __init__(self, id, num_workers, dataset):
        self.id, self.num_workers, self.dataset = id, num_workers, dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers})"


def get_worker_info():
    """The current worker's :class:`WorkerInfo`, or ``None`` in the main thread."""
    return getattr(_worker_info, "info", None)


class DataLoader:
    """Iterate over a dataset in (shuffled) batches, like ``torch.utils.data.DataLoader``.

    Args:
        dataset: a map-style dataset (``__getitem__``/``__len__``) or an
            :class:`IterableDataset`.
        batch_size: samples per batch; ``None`` turns automatic batching off.
        shuffle: reshuffle every epoch (uses ``generator`` or the global chainrule RNG).
        sampler / batch_sampler: custom index order (mutually exclusive with shuffle).
        num_workers: background threads prefetching batches (0: load in the main thread).
        collate_fn: merges a list of samples; default :func:`default_collate`.
        drop_last: drop the last incomplete batch.
        generator: a ``numpy.random.Generator`` driving the shuffle.
        prefetch_factor: batches in flight per worker.
        persistent_workers: keep the worker pool alive between epochs.
        timeout: seconds to wait for a batch from the workers (0: forever).
        pin_memory, multiprocessing_context: accepted for torch compatibility, unused.
        worker_init_fn: called with the worker id at the start of each worker thread.

    Fast path: with the default collate and a dataset that defines
    ``get_batch(indices)`` (TensorDataset, MNIST, digits, ...), each batch is
    gathered with one fancy-index instead of per-sample collation.

    >>> import chainrule as cr
    >>> from chainrule.data import TensorDataset
    >>> dl = DataLoader(TensorDataset(cr.arange(10)), batch_size=4)
    >>> len(dl), [b[0].tolist() for b in dl]
    (3, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None,
                 batch_sampler=None, num_workers=0, collate_fn=None, pin_memory=False,
                 drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=2,
                 persistent_workers=False):
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers (data loading threads) must be "
                             f">= 0, got {num_workers}; 0 loads in the main thread")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = int(prefetch_factor)
        if self.prefetch_factor < 1:
            raise ValueError("prefetch_factor must be a positive integer")
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.persistent_workers = persistent_workers
        self.generator = generator
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle or sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "shuffle, sampler and batch_sampler options")
        elif batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._default_collate = collate_fn is None
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._pool = None

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)  # TypeError if the stream has no length, as in torch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    # ------------------------------------------------------------ fetching
    def _fetch(self, index):
        """Build the batch for ``index`` (a list of indices, or one index)."""
        if not self._auto_collation:
            return self.collate_fn(self.dataset[index])
        if self._default_collate:
            gb = getattr(self.dataset, "get_batch", None)
            if gb is not None:
                batch = gb(np.asarray(index, dtype=np.int64))
                if batch is not NotImplemented:
                    return batch
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(index) if getitems is not None else [self.dataset[i] for i in index]
        return self.collate_fn(samples)

    def _index_iter(self):
        return iter(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def _iter_iterable(self):
        it = iter(self.dataset)
        if self.batch_size is None:
            for x in it:
                yield self.collate_fn(x)
            return
        while True:
            chunk = list(itertools.islice(it, self.batch_size))
            if not chunk or (self.drop_last and len(chunk) < self.batch_size):
                return
            yield self.collate_fn(chunk)

    def __iter__(self):
        if self._iterable:  # a stream is read in order by one reader
            return self._iter_iterable()
        if self.num_workers == 0 or not _THREADS_OK:
            return self._iter_single()
        return self._iter_workers()

    def _iter_single(self):
        for i, index in enumerate(self._index_iter()):
            try:
                batch = self._fetch(index)
            except Exception as e:  # same exception, with the batch index noted
                e.batch_index = i
                if hasattr(e, "add_note"):
                    e.add_note(f"(raised while loading batch {i} of the DataLoader)")
                raise
            yield batch

    # ------------------------------------------------------------ workers
    def _get_pool(self):
        if self._pool is not None:
            return self._pool
        counter = itertools.count()
        lock = threading.Lock()

        def init():
            with lock:
                wid = next(counter)
            _worker_info.info = WorkerInfo(wid, self.num_workers, self.dataset)
            if self.worker_init_fn is not None:
                self.worker_init_fn(wid)

        pool = cf.ThreadPoolExecutor(self.num_workers, thread_name_prefix="chainrule-data",
                                     initializer=init)
        if self.persistent_workers:
            self._pool = pool
        return pool

    def _work(self, index):
        info = get_worker_info()
        return self._fetch(index), (info.id if info is not None else None)

    def _iter_workers(self):
        pool = self._get_pool()
        pending = collections.deque()
        indices = enumerate(self._index_iter())
        depth = self.num_workers * self.prefetch_factor
        try:
            for i, index in itertools.islice(indices, depth):
                pending.append((i, pool.submit(self._work, index)))
            while pending:
                i, fut = pending.popleft()
                try:
                    batch, _ = fut.result(timeout=self.timeout or None)
                except cf.TimeoutError:
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds "
                                       f"waiting for batch {i}") from None
                except Exception as e:
                    raise _with_batch(e, i, "a worker thread") from e
                for j, index in itertools.islice(indices, 1):
                    pending.append((j, pool.submit(self._work, index)))
                yield batch
        finally:
            for _, fut in pending:
                fut.cancel()
            if pool is not self._pool:
                pool.shutdown(wait=False, cancel_futures=True)

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _with_batch(e, i, where):
    """``e`` re-made with the batch index (and worker) in its message, same type."""
    msg = f"Caught {type(e).__name__} in {where} while loading batch {i}: {e}"
    try:
        new = type(e)(msg)
    except Exception:
        new = RuntimeError(msg)
    new.batch_index = i
    return new
