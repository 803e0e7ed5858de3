"""Vocab: token <-> index maps built from token frequencies.

>>> v = Vocab([["the", "time", "the"], ["machine"]], reserved_tokens=["<pad>"])
>>> v.idx_to_token
['<unk>', '<pad>', 'the', 'time', 'machine']
>>> v["the"], v[["time", "zebra"]]
(2, [3, 0])
>>> v.to_tokens([4, 2])
['machine', 'the']
"""
import collections.abc
import json
import os

import numpy as np

from chainrule.text.stats import count_corpus

__all__ = ["Vocab", "SPECIAL_TOKENS", "count_corpus"]

SPECIAL_TOKENS = ("<unk>", "<pad>", "<bos>", "<eos>")
_FORMAT = "chainrule.text.Vocab"
_ORDERS = ("frequency", "alphabetical", "first")


class Vocab:
    """A vocabulary: index 0 is ``unk_token``, then ``reserved_tokens``, then the corpus
    tokens by decreasing frequency (ties: first occurrence, as d2l's stable sort).

    Args:
        tokens: a flat token list, a list of token lists (lines), or a mapping
            ``token -> count`` (e.g. a ``Counter``).  ``None``: only the specials.
        min_freq: drop tokens seen fewer than ``min_freq`` times.
        max_size: the largest ``len(vocab)``, specials included; the least frequent
            tokens are dropped.
        reserved_tokens: tokens always present right after ``unk_token``, e.g.
            ``['<pad>', '<bos>', '<eos>']`` for sequence-to-sequence data.
        unk_token: the token unknown lookups map to (index 0); ``None`` for a closed
            vocabulary where an unknown token raises ``KeyError``.
        pad_token / bos_token / eos_token: which strings the :attr:`pad`,
            :attr:`bos` and :attr:`eos` properties look up (they need not be present).
        order: ``'frequency'`` (default, d2l 2.x), ``'alphabetical'`` (d2l 1.0's sorted
            vocabulary) or ``'first'`` (first occurrence, as PyTorch's
            word_language_model ``Dictionary``).  Specials come first in every order.

    A corpus token equal to a special (PTB's ``<unk>``, WikiText's ``<eos>``) is not
    duplicated: it keeps the special's index and its frequency is recorded.
    """

    def __init__(self, tokens=None, min_freq=0, max_size=None, reserved_tokens=None,
                 unk_token="<unk>", pad_token="<pad>", bos_token="<bos>", eos_token="<eos>",
                 order="frequency"):
        if order not in _ORDERS:
            raise ValueError(f"Vocab: order must be one of {_ORDERS}, got {order!r}")
        counts = _counts(tokens)
        specials = ([unk_token] if unk_token is not None else []) + list(reserved_tokens or [])
        if len(set(specials)) != len(specials):
            raise ValueError(f"Vocab: duplicate special tokens {specials}")
        if max_size is not None and max_size < len(specials):
            raise ValueError(f"Vocab: max_size={max_size} is smaller than the "
                             f"{len(specials)} special tokens {specials}")
        self.unk_token, self.pad_token = unk_token, pad_token
        self.bos_token, self.eos_token = bos_token, eos_token
        self.reserved_tokens = list(reserved_tokens or [])
        self.min_freq, self.max_size, self.order = min_freq, max_size, order
        self._token_freqs = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)
        kept = [t for t, f in self._ordered(counts) if f >= min_freq and t not in specials]
        if max_size is not None:
            if order == "frequency":
                kept = kept[:max_size - len(specials)]
            else:  # keep the most frequent, then restore the requested order
                top = set([t for t, f in self._token_freqs if t not in specials
                           and f >= min_freq][:max_size - len(specials)])
                kept = [t for t in kept if t in top]
        self._set_tokens(specials + kept)

    def _ordered(self, counts):
        if self.order == "frequency":
            return self._token_freqs
        if self.order == "alphabetical":
            return sorted(counts.items())
        return list(counts.items())

    def _set_tokens(self, idx_to_token):
        self.idx_to_token = list(idx_to_token)
        self.token_to_idx = {t: i for i, t in enumerate(self.idx_to_token)}
        if len(self.token_to_idx) != len(self.idx_to_token):
            raise ValueError("Vocab: duplicate tokens in idx_to_token")
        self._unk_idx = (self.token_to_idx[self.unk_token]
                         if self.unk_token is not None else None)

    # ------------------------------------------------------------ lookups
    def __len__(self):
        return len(self.idx_to_token)

    def __contains__(self, token):
        return token in self.token_to_idx

    def __iter__(self):
        return iter(self.idx_to_token)

    def __getitem__(self, tokens):
        """Index of a token, or a list of indices for a list/tuple of tokens (nested
        lists map recursively); unknown tokens map to :attr:`unk`."""
        if isinstance(tokens, (list, tuple)):
            return [self.__getitem__(t) for t in tokens]
        idx = self.token_to_idx.get(tokens, self._unk_idx)
        if idx is None:
            raise KeyError(f"Vocab: token {tokens!r} is not in the vocabulary "
                           "(unk_token=None)")
        return idx

    def lookup_indices(self, tokens):
        """``[vocab[t] for t in tokens]`` (torchtext's name)."""
        return [self[t] for t in tokens]

    def to_tokens(self, indices):
        """Token of an index, or a list of tokens for a list / array / Tensor of indices."""
        if hasattr(indices, "tolist"):  # NumPy arrays, scalars and Tensors
            indices = indices.tolist()
        if isinstance(indices, (list, tuple)):
            return [self.to_tokens(i) for i in indices]
        try:
            return self.idx_to_token[int(indices)]
        except IndexError:
            raise IndexError(f"Vocab: index {indices} out of range for a vocabulary of "
                             f"{len(self)} tokens") from None

    lookup_tokens = to_tokens

    def encode(self, tokens):
        """Indices of a flat token sequence as an int64 NumPy array."""
        if not hasattr(tokens, "__len__"):
            tokens = list(tokens)
        return np.fromiter((self[t] for t in tokens), dtype=np.int64, count=len(tokens))

    def decode(self, indices, sep=""):
        """Tokens of ``indices`` joined with ``sep`` (``''`` for characters, ``' '``
        for words)."""
        return sep.join(self.to_tokens(list(indices.tolist() if hasattr(indices, "tolist")
                                            else indices)))

    # ------------------------------------------------------------ specials
    def _special(self, token):
        return self.token_to_idx.get(token) if token is not None else None

    @property
    def unk(self):
        """Index of ``unk_token`` (0), or None for a closed vocabulary."""
        return self._unk_idx

    @property
    def pad(self):
        return self._special(self.pad_token)

    @property
    def bos(self):
        return self._special(self.bos_token)

    @property
    def eos(self):
        return self._special(self.eos_token)

    @property
    def token_freqs(self):
        """``[(token, count)]`` of the counted corpus, by decreasing count (ties: first
        occurrence), including tokens dropped by ``min_freq`` / ``max_size``."""
        return list(self._token_freqs)

    def __repr__(self):
        head = ", ".join(repr(t) for t in self.idx_to_token[:8])
        more = ", ..." if len(self) > 8 else ""
        return f"Vocab(size={len(self)}, tokens=[{head}{more}])"

    def __eq__(self, other):
        return (isinstance(other, Vocab) and self.idx_to_token == other.idx_to_token
                and self.unk_token == other.unk_token)

    __hash__ = None

    # ------------------------------------------------------------ save / load
    def state_dict(self):
        return {"format": _FORMAT, "version": 1, "idx_to_token": self.idx_to_token,
                "token_freqs": [[t, f] for t, f in self._token_freqs],
                "unk_token": self.unk_token, "pad_token": self.pad_token,
                "bos_token": self.bos_token, "eos_token": self.eos_token,
                "reserved_tokens": self.reserved_tokens, "min_freq": self.min_freq,
                "max_size": self.max_size, "order": self.order}

    @classmethod
    def from_state_dict(cls, state):
        if state.get("format") != _FORMAT:
            raise ValueError(f"Vocab.load: not a saved Vocab (format={state.get('format')!r})")
        v = cls.__new__(cls)
        v.unk_token, v.pad_token = state["unk_token"], state["pad_token"]
        v.bos_token, v.eos_token = state["bos_token"], state["eos_token"]
        v.reserved_tokens = list(state["reserved_tokens"])
        v.min_freq, v.max_size, v.order = state["min_freq"], state["max_size"], state["order"]
        v._token_freqs = [(t, int(f)) for t, f in state["token_freqs"]]
        v._set_tokens(state["idx_to_token"])
        return v

    def save(self, path):
        """Write the vocabulary as UTF-8 JSON, atomically (temporary file + rename)."""
        from chainrule.utils.serialization import atomic_write_bytes
        path = os.fspath(path)
        data = json.dumps(self.state_dict(), ensure_ascii=False).encode("utf-8")
        atomic_write_bytes(path, [data])
        return path

    @classmethod
    def load(cls, path):
        """Read a vocabulary written by :meth:`save`."""
        with open(path, encoding="utf-8") as f:
            return cls.from_state_dict(json.load(f))


def _counts(tokens):
    if tokens is None:
        return {}
    if isinstance(tokens, collections.abc.Mapping):
        for t, c in tokens.items():
            if not isinstance(c, (int, np.integer)) or c < 0:
                raise ValueError(f"Vocab: count of {t!r} must be a non-negative int, got {c!r}")
        return dict(tokens)
    if isinstance(tokens, str):
        raise TypeError("Vocab: expected a list of tokens (or of token lists), got a str; "
                        "tokenize it first, e.g. Vocab(list(text))")
    return count_corpus(list(tokens))
