"""Language-model batching: random sampling and sequential partitioning (d2l), and the
``batchify`` / ``get_batch`` layout of PyTorch's word_language_model (Zaremba et al.).

Every batch is ``(X, Y)`` with ``Y`` the tokens right after ``X``: ``Y[b, t] ==
corpus[start_b + t + 1]`` where ``X[b, t] == corpus[start_b + t]``.

* **random sampling** (:func:`seq_data_iter_random`): a random offset in
  ``[0, num_steps)``, then the corpus is cut into subsequences of ``num_steps`` tokens
  that are shuffled; neighbouring batches are unrelated, so the hidden state is
  re-initialized for each batch.
* **sequential partitioning** (:func:`seq_data_iter_sequential`): a random offset in
  ``[0, num_steps]``, then the corpus is reshaped into ``batch_size`` rows read left to
  right, so row ``b`` of batch ``i + 1`` continues row ``b`` of batch ``i``; the hidden
  state is carried across batches and detached (truncated BPTT).

Randomness comes from ``rng``: a ``numpy.random.Generator``, an int seed, or ``None``
for the global chainrule generator (``chainrule.manual_seed`` makes it reproducible).
"""
import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor, from_array
from chainrule.data.sampler import Sampler, _epoch_rng

__all__ = ["seq_data_iter_random", "seq_data_iter_sequential", "LMDataLoader", "batchify",
           "get_batch", "num_batches", "detach_state", "BucketBatchSampler"]

MODES = ("random", "sequential")


def _corpus_array(corpus):
    if isinstance(corpus, Tensor):
        corpus = B.asnumpy(corpus.array)
    a = np.asarray(corpus)
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise ValueError(f"language-model batching: expected a 1-D integer corpus, got "
                         f"shape {a.shape} dtype {a.dtype}")
    return a.astype(np.int64, copy=False)


def _rng(rng):
    if rng is None:
        return B.get_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _check(batch_size, num_steps):
    if int(batch_size) < 1 or int(num_steps) < 1:
        raise ValueError(f"language-model batching: batch_size and num_steps must be >= 1, "
                         f"got batch_size={batch_size}, num_steps={num_steps}")


def num_batches(num_tokens, batch_size, num_steps, mode="random", offset=None):
    """Batches one epoch yields for a corpus of ``num_tokens`` tokens.

    ``offset=None`` gives the smallest count over all random offsets (the largest
    offset), which is what :class:`LMDataLoader` yields every epoch.
    """
    if mode == "random":
        o = num_steps - 1 if offset is None else offset
        return max(num_tokens - o - 1, 0) // num_steps // batch_size
    if mode == "sequential":
        o = num_steps if offset is None else offset
        return max(num_tokens - o - 1, 0) // batch_size // num_steps
    raise ValueError(f"unknown batching mode {mode!r}; expected one of {MODES}")


def _random_np(corpus, batch_size, num_steps, g, random_offset=True, max_batches=None):
    offset = int(g.integers(0, num_steps)) if random_offset else 0
    corpus = corpus[offset:]
    num_subseqs = (len(corpus) - 1) // num_steps
    starts = np.arange(0, num_subseqs * num_steps, num_steps)
    g.shuffle(starts)
    n = num_subseqs // batch_size
    if max_batches is not None:
        n = min(n, max_batches)
    steps = np.arange(num_steps)
    for i in range(n):
        idx = starts[i * batch_size:(i + 1) * batch_size, None] + steps
        yield corpus[idx], corpus[idx + 1]


def _sequential_np(corpus, batch_size, num_steps, g, random_offset=True, max_batches=None):
    offset = int(g.integers(0, num_steps + 1)) if random_offset else 0
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = corpus[offset:offset + num_tokens].reshape(batch_size, -1)
    Ys = corpus[offset + 1:offset + 1 + num_tokens].reshape(batch_size, -1)
    n = Xs.shape[1] // num_steps
    if max_batches is not None:
        n = min(n, max_batches)
    for i in range(0, n * num_steps, num_steps):
        yield (np.ascontiguousarray(Xs[:, i:i + num_steps]),
               np.ascontiguousarray(Ys[:, i:i + num_steps]))


def seq_data_iter_random(corpus, batch_size, num_steps, rng=None):
    """d2l's random sampling: yields ``(X, Y)`` int64 Tensors of shape
    ``(batch_size, num_steps)``; subsequences start at ``offset + k * num_steps`` for a
    random ``offset`` in ``[0, num_steps)`` and come in shuffled order."""
    _check(batch_size, num_steps)
    for x, y in _random_np(_corpus_array(corpus), batch_size, num_steps, _rng(rng)):
        yield from_array(x), from_array(y)


def seq_data_iter_sequential(corpus, batch_size, num_steps, rng=None):
    """d2l's sequential partitioning: yields ``(X, Y)`` int64 Tensors of shape
    ``(batch_size, num_steps)``; row ``b`` of consecutive batches is one contiguous
    stretch of the corpus (random start offset in ``[0, num_steps]``)."""
    _check(batch_size, num_steps)
    for x, y in _sequential_np(_corpus_array(corpus), batch_size, num_steps, _rng(rng)):
        yield from_array(x), from_array(y)


class LMDataLoader:
    """Iterate over ``(X, Y)`` language-model batches, one epoch per ``iter()``.

    Args:
        corpus: 1-D token indices (list, NumPy array or Tensor).
        batch_size, num_steps: batch shape ``(batch_size, num_steps)``.
        mode: ``'random'`` (random sampling) or ``'sequential'`` (sequential
            partitioning: carry the hidden state across batches, detached).
        shuffle_offset: draw a random start offset each epoch (d2l); ``False``
            starts at token 0 every epoch (random mode still shuffles subsequences).
        seed / generator: a seed or a ``numpy.random.Generator`` for this loader;
            neither: the global chainrule generator (``chainrule.manual_seed``).
        device: move each batch there (e.g. ``'cuda'``).

    ``len(loader)`` is exact: every epoch yields the number of batches of the
    largest offset, i.e. at most one batch fewer than d2l's generators in epochs
    whose offset happens to leave room for one more.

    >>> loader = LMDataLoader(list(range(35)), batch_size=2, num_steps=5, seed=0)
    >>> X, Y = next(iter(loader))
    >>> X.shape, bool((Y.numpy() == X.numpy() + 1).all())
    (chainrule.Size([2, 5]), True)
    """

    def __init__(self, corpus, batch_size, num_steps, mode="random", shuffle_offset=True,
                 seed=None, generator=None, device=None):
        _check(batch_size, num_steps)
        if mode not in MODES:
            raise ValueError(f"LMDataLoader: mode must be one of {MODES}, got {mode!r}")
        if seed is not None and generator is not None:
            raise ValueError("LMDataLoader: pass seed or generator, not both")
        self.corpus = _corpus_array(corpus)
        self.batch_size, self.num_steps = int(batch_size), int(num_steps)
        self.mode, self.shuffle_offset, self.device = mode, bool(shuffle_offset), device
        self.generator = np.random.default_rng(seed) if seed is not None else generator
        self._len = num_batches(len(self.corpus), self.batch_size, self.num_steps, mode,
                                None if self.shuffle_offset else 0)
        if self._len == 0:
            raise ValueError(f"LMDataLoader: a corpus of {len(self.corpus)} tokens is too "
                             f"short for one batch of {self.batch_size} x {self.num_steps}")

    @property
    def carries_state(self):
        """True in sequential mode: batch ``i + 1`` continues batch ``i`` row by row,
        so keep (and detach) the hidden state; in random mode re-initialize it."""
        return self.mode == "sequential"

    @property
    def num_tokens(self):
        """Target tokens per epoch (``len * batch_size * num_steps``)."""
        return self._len * self.batch_size * self.num_steps

    def __len__(self):
        return self._len

    def __iter__(self):
        g = self.generator if self.generator is not None else B.get_rng()
        fn = _random_np if self.mode == "random" else _sequential_np
        for x, y in fn(self.corpus, self.batch_size, self.num_steps, g,
                       self.shuffle_offset, self._len):
            X, Y = from_array(x), from_array(y)
            if self.device is not None:
                X, Y = X.to(self.device), Y.to(self.device)
            yield X, Y

    def __repr__(self):
        return (f"LMDataLoader(tokens={len(self.corpus)}, batch_size={self.batch_size}, "
                f"num_steps={self.num_steps}, mode={self.mode!r}, batches={len(self)})")


def batchify(data, batch_size):
    """PyTorch word_language_model's ``batchify``: drop the tail that does not fill
    ``batch_size`` columns and lay the corpus out as ``(T, batch_size)``, column ``b``
    holding the ``b``-th contiguous stretch.

    >>> batchify(list(range(10)), 3).numpy().tolist()
    [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    """
    a = _corpus_array(data)
    if int(batch_size) < 1:
        raise ValueError(f"batchify: batch_size must be >= 1, got {batch_size}")
    n = len(a) // batch_size
    if n == 0:
        raise ValueError(f"batchify: {len(a)} tokens cannot fill batch_size={batch_size}")
    return from_array(np.ascontiguousarray(a[:n * batch_size].reshape(batch_size, n).T))


def get_batch(source, i, bptt, flatten_target=True):
    """PyTorch word_language_model's ``get_batch``: ``data = source[i:i+L]`` and
    ``target = source[i+1:i+1+L]`` with ``L = min(bptt, len(source) - 1 - i)``.

    ``data`` is ``(L, N)``; ``target`` is flattened to ``(L * N,)`` as in PyTorch
    (``flatten_target=False`` keeps ``(L, N)``).  Iterate with
    ``for i in range(0, len(source) - 1, bptt)``.
    """
    if not isinstance(source, Tensor):
        source = from_array(np.asarray(source))
    seq_len = min(int(bptt), len(source) - 1 - int(i))
    if seq_len < 1:
        raise ValueError(f"get_batch: i={i} leaves no target in a source of {len(source)} steps")
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len]
    return data, (target.reshape(-1) if flatten_target else target)


def detach_state(state):
    """Detach a hidden state (a Tensor, or nested tuples/lists of them; ``None`` passes
    through) from the graph: the values carry over to the next batch, the gradient
    stops here (truncated BPTT with sequential batches)."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(f"detach_state: expected a Tensor or a tuple/list of Tensors, "
                    f"got {type(state).__name__}")


class BucketBatchSampler(Sampler):
    """Batches of sequences of similar length, for a ``DataLoader(batch_sampler=...)``.

    Each epoch the indices are shuffled, cut into pools of ``pool`` batches, sorted by
    ``lengths`` within each pool (so a batch's sequences have nearly equal lengths and
    can be cut to the longest one with little padding left), cut into batches of
    ``batch_size``, and the batches are shuffled.  Every index appears once per epoch;
    only the last batch may be short.  Randomness as :class:`RandomSampler`'s:
    ``generator``, or the global chainrule generator (seeded runs repeat exactly).
    ``shuffle=False`` (evaluation): the indices sorted by length, batched in that order,
    no randomness drawn.
    """

    def __init__(self, lengths, batch_size, pool=100, generator=None, shuffle=True):
        self.lengths = np.asarray(lengths).reshape(-1)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ValueError("BucketBatchSampler: batch_size should be a positive integer, "
                             f"got {batch_size!r}")
        if not isinstance(pool, (int, np.integer)) or pool <= 0:
            raise ValueError(f"BucketBatchSampler: pool should be a positive integer, "
                             f"got {pool!r}")
        self.batch_size, self.pool, self.generator = int(batch_size), int(pool), generator
        self.shuffle = bool(shuffle)

    def __iter__(self):
        if not self.shuffle:
            idx = np.argsort(self.lengths, kind="stable")
            for i in range(0, len(idx), self.batch_size):
                yield idx[i:i + self.batch_size].tolist()
            return
        g = _epoch_rng(self.generator)
        idx = g.permutation(len(self.lengths))
        step = self.batch_size * self.pool
        pools = [p[np.argsort(self.lengths[p], kind="stable")]
                 for p in (idx[i:i + step] for i in range(0, len(idx), step))]
        idx = np.concatenate(pools) if pools else idx
        batches = [idx[i:i + self.batch_size] for i in range(0, len(idx), self.batch_size)]
        for b in g.permutation(len(batches)):
            yield batches[b].tolist()

    def __len__(self):
        return -(-len(self.lengths) // self.batch_size)
