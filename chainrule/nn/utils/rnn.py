"""Variable-length batches for recurrent layers, with torch's names:
:class:`PackedSequence`, ``pack_padded_sequence``, ``pad_packed_sequence``,
``pad_sequence``, ``pack_sequence``, ``unpack_sequence``, ``unpad_sequence``.

A ``PackedSequence`` holds the time-major concatenation of the active rows of
each step (``data``, ``(sum(lengths), *)``), how many sequences are active at
each step (``batch_sizes``, non-increasing) and the permutation that sorted the
batch by decreasing length.  Recurrent layers run it step by step on the
leading ``batch_sizes[t]`` rows only, so outputs equal running each sequence
alone.  Packing and unpacking are single ``index_select`` gathers, hence
differentiable.

>>> import chainrule as cr
>>> x = cr.zeros(3, 2, 1)                      # (T=3, N=2, C=1)
>>> p = pack_padded_sequence(x, [3, 1])
>>> p.batch_sizes.tolist(), tuple(p.data.shape)
([2, 1, 1], (4, 1))
"""
import numpy as np

from chainrule import backend as B
from chainrule.core.creation import tensor as _tensor, full
from chainrule.core.tensor import Tensor
from chainrule.functional.join import cat
from chainrule.functional.scatter import index_select

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "unpack_sequence", "unpad_sequence"]


def _ints(x):
    """A 1-D int64 NumPy array from a list, array or Tensor."""
    if isinstance(x, Tensor):
        x = B.asnumpy(x.array)
    return np.asarray(x, dtype=np.int64).reshape(-1)


def _index_on(idx, like):
    return _tensor(np.asarray(idx, dtype=np.int64), device=like.device)


def _invert(perm):
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    return inv


class PackedSequence(tuple):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)`` like torch's;
    build it with :func:`pack_padded_sequence` or :func:`pack_sequence`."""
    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _index_on(_invert(_ints(sorted_indices)), sorted_indices)
        return tuple.__new__(cls, (data, batch_sizes, sorted_indices, unsorted_indices))

    data = property(lambda self: self[0])
    batch_sizes = property(lambda self: self[1])
    sorted_indices = property(lambda self: self[2])
    unsorted_indices = property(lambda self: self[3])

    def __repr__(self):
        return (f"PackedSequence(data={self.data!r}, batch_sizes={self.batch_sizes!r}, "
                f"sorted_indices={self.sorted_indices!r}, "
                f"unsorted_indices={self.unsorted_indices!r})")

    def _replace_data(self, data):
        def move(t):
            return None if t is None else t.to(device=data.device)
        return PackedSequence(data, self.batch_sizes, move(self.sorted_indices),
                              move(self.unsorted_indices))

    def to(self, *args, **kwargs):
        """Move/cast ``data`` (the indices follow its device; batch_sizes stays on the CPU)."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._replace_data(data)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}")

    def float(self):
        return self._replace_data(self.data.float())

    def double(self):
        return self._replace_data(self.data.double())

    @property
    def is_cuda(self):
        return self.data.is_cuda


# ---------------------------------------------------------------- layout helpers
def _packed_rows(batch_sizes):
    """Flat indices (into a (T*N) time-major padded batch) of the packed rows."""
    bs = _ints(batch_sizes)
    n = int(bs[0]) if len(bs) else 0
    return np.concatenate([t * n + np.arange(b) for t, b in enumerate(bs)]) if n else \
        np.zeros(0, np.int64)


def padded_to_packed(padded, batch_sizes):
    """``(T, N, *)`` time-major padded (sorted) batch -> packed ``data``."""
    T, N = padded.shape[0], padded.shape[1]
    flat = padded.reshape((T * N,) + tuple(padded.shape[2:]))
    return index_select(flat, 0, _index_on(_packed_rows(batch_sizes), padded))


def packed_to_padded(data, batch_sizes, padding_value=0.0, total_length=None):
    """Packed ``data`` -> ``(T, N, *)`` time-major padded batch (still sorted)."""
    bs = _ints(batch_sizes)
    T = len(bs) if total_length is None else int(total_length)
    N = int(bs[0]) if len(bs) else 0
    rows = _packed_rows(bs)
    where = np.full(T * N, data.shape[0], np.int64)  # padding -> the extra last row
    where[rows] = np.arange(len(rows))
    rest = tuple(data.shape[1:])
    pad = full((1,) + rest, padding_value, dtype=data.dtype, device=data.device)
    out = index_select(cat([data, pad], 0), 0, _index_on(where, data))
    return out.reshape((T, N) + rest)


def _lengths_of(batch_sizes):
    bs = _ints(batch_sizes)
    n = int(bs[0]) if len(bs) else 0
    return (bs[None, :] > np.arange(n)[:, None]).sum(1)


# ---------------------------------------------------------------- public API
def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch ``(T, N, *)`` (``(N, T, *)`` if ``batch_first``) of
    sequences with the given ``lengths``.  With ``enforce_sorted=False`` the
    batch is sorted by decreasing length here and the permutation kept."""
    lengths = _ints(lengths)
    bdim = 0 if batch_first else 1
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: expected input of at least 2 dims "
                         f"(T, N, *), got {tuple(input.shape)}")
    if len(lengths) != input.shape[bdim]:
        raise ValueError(f"pack_padded_sequence: expected {input.shape[bdim]} lengths (the "
                         f"batch size of input {tuple(input.shape)}), got {len(lengths)}")
    if len(lengths) and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    sorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` "
                "is True. You can pass `enforce_sorted=False` to pack_padded_sequence "
                "and/or pack_sequence to sidestep this requirement if you do not need "
                "ONNX exportability.")
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = _index_on(order, input)
        input = index_select(input, bdim, sorted_indices)
    if batch_first:
        input = input.transpose(0, 1)
    if len(lengths) and lengths[0] > input.shape[0]:
        raise RuntimeError(f"pack_padded_sequence: a length of {lengths[0]} exceeds the "
                           f"padded sequence length {input.shape[0]}")
    batch_sizes = (lengths[None, :] > np.arange(lengths[0] if len(lengths) else 0)[:, None]
                   ).sum(1)
    data = padded_to_packed(input[:len(batch_sizes)], batch_sizes)
    return PackedSequence(data, _tensor(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of :func:`pack_padded_sequence`: ``(padded, lengths)``
    in the original batch order; ``total_length`` pads to that many steps."""
    bs = _ints(sequence.batch_sizes)
    if total_length is not None and total_length < len(bs):
        raise ValueError(f"Expected total_length to be at least the length of the longest "
                         f"sequence in input, but got total_length={total_length} and max "
                         f"sequence length being {len(bs)}")
    padded = packed_to_padded(sequence.data, bs, padding_value, total_length)
    lengths = _lengths_of(bs)
    if sequence.unsorted_indices is not None:
        padded = index_select(padded, 1, sequence.unsorted_indices)
        lengths = lengths[_ints(sequence.unsorted_indices)]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _tensor(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences ``(L_i, *)`` into ``(T, N, *)`` (``(N, T, *)`` if
    ``batch_first``), padding with ``padding_value`` on ``padding_side``."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    rest = tuple(sequences[0].shape[1:])
    for k, s in enumerate(sequences):
        if tuple(s.shape[1:]) != rest:
            raise RuntimeError(f"pad_sequence: sequence {k} has shape {tuple(s.shape)}; all "
                               f"sequences must share the trailing dims {rest}")
    lens = np.array([s.shape[0] for s in sequences], np.int64)
    T, N = int(lens.max()), len(sequences)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    total = int(lens.sum())
    t = np.arange(T)[:, None]
    if padding_side == "right":
        pos, valid = t, t < lens[None, :]
    else:
        pos, valid = t - (T - lens[None, :]), t >= (T - lens[None, :])
    where = np.where(valid, starts[None, :] + pos, total)  # (T, N); padding -> extra row
    ref = sequences[0]
    pad = full((1,) + rest, padding_value, dtype=ref.dtype, device=ref.device)
    out = index_select(cat(list(sequences) + [pad], 0), 0, _index_on(where.reshape(-1), ref))
    out = out.reshape((T, N) + rest)
    return out.transpose(0, 1) if batch_first else out


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences ``(L_i, *)`` (sorted by decreasing length
    unless ``enforce_sorted=False``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into a list of ``(L_i, *)`` tensors."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(_ints(lengths))]


def unpack_sequence(packed_sequences):
    """A ``PackedSequence`` back into its list of sequences (original order)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
