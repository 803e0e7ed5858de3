"""Fixed-length sequences for sequence-to-sequence data: pad or truncate, tokens to an
index array with valid lengths, and back.

>>> pad_or_truncate([5, 6, 7], 5, 0)
[5, 6, 7, 0, 0]
>>> pad_or_truncate([5, 6, 7], 2, 0)
[5, 6]
"""
import numpy as np

from chainrule.core.tensor import from_array

__all__ = ["pad_or_truncate", "truncate_pad", "sequences_to_indices", "build_array",
           "indices_to_tokens"]


def pad_or_truncate(tokens, num_steps, pad):
    """Cut ``tokens`` to ``num_steps`` items or append ``pad`` until it has that many
    (d2l's ``truncate_pad``).  Returns a new list."""
    tokens = list(tokens)
    if num_steps < 0:
        raise ValueError(f"pad_or_truncate: num_steps must be >= 0, got {num_steps}")
    if len(tokens) > num_steps:
        return tokens[:num_steps]
    return tokens + [pad] * (num_steps - len(tokens))


truncate_pad = pad_or_truncate  # d2l's name


def sequences_to_indices(lines, vocab, num_steps, add_bos=False, add_eos=True,
                         as_tensor=True):
    """Token lists -> ``(indices (N, num_steps) int64, valid_len (N,) int64)``.

    Each line is looked up in ``vocab``, gets ``<bos>`` / ``<eos>`` if asked, then is
    padded with ``vocab.pad`` or truncated to ``num_steps`` (d2l's ``build_array_nmt``).
    ``valid_len`` counts the non-padding positions (the length before padding, capped
    at ``num_steps``).  ``as_tensor=False`` returns NumPy arrays.
    """
    need = [("<pad>", vocab.pad)] + ([("<eos>", vocab.eos)] if add_eos else []) + \
        ([("<bos>", vocab.bos)] if add_bos else [])
    missing = [name for name, idx in need if idx is None]
    if missing:
        raise ValueError(f"sequences_to_indices: the vocabulary has no {', '.join(missing)} "
                         "token; build it with reserved_tokens=['<pad>', '<bos>', '<eos>']")
    out = np.full((len(lines), num_steps), vocab.pad, dtype=np.int64)
    valid = np.zeros(len(lines), dtype=np.int64)
    for r, line in enumerate(lines):
        ids = ([vocab.bos] if add_bos else []) + vocab[list(line)] + \
            ([vocab.eos] if add_eos else [])
        ids = ids[:num_steps]
        out[r, :len(ids)] = ids
        valid[r] = len(ids)
    return (from_array(out), from_array(valid)) if as_tensor else (out, valid)


build_array = sequences_to_indices


def indices_to_tokens(indices, vocab, valid_len=None, stop_at_eos=True, strip_specials=True):
    """Index rows -> token lists: cut at ``valid_len`` and/or at the first ``<eos>``,
    and drop ``<pad>`` / ``<bos>`` (and ``<eos>``) tokens when ``strip_specials``.

    ``indices`` is one sequence (1-D) or a batch (2-D); list, array or Tensor.
    """
    a = np.asarray(indices.tolist() if hasattr(indices, "tolist") else indices)
    single = a.ndim == 1
    rows = a[None] if single else a
    lens = np.asarray(valid_len.tolist() if hasattr(valid_len, "tolist") else valid_len) \
        if valid_len is not None else None
    drop = {vocab.pad, vocab.bos, vocab.eos} - {None} if strip_specials else set()
    out = []
    for r, row in enumerate(rows.tolist()):
        if lens is not None:
            row = row[:int(lens.reshape(-1)[r])]
        if stop_at_eos and vocab.eos is not None and vocab.eos in row:
            row = row[:row.index(vocab.eos)]
        out.append(vocab.to_tokens([i for i in row if i not in drop]))
    return out[0] if single else out
