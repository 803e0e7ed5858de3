"""English-French machine translation data (d2l's ``fra-eng``), and BLEU.

d2l's pipeline: :func:`preprocess_nmt` (non-breaking spaces to spaces, lower case,
a space before ``, . ! ?``), :func:`tokenize_nmt` (word tokens, tab-separated
pairs), vocabularies with ``min_freq=2`` and ``<pad> <bos> <eos>`` after
``<unk>``, and fixed-length index arrays ending in ``<eos>`` with valid lengths
(:func:`load_data_nmt`).

The held-out test split (:func:`split_pairs`): among the pairs with at most
``max_len`` tokens on each side, a seeded ``test_fraction`` (5%, seed 0) is kept
out of training; every model is scored on it.

>>> preprocess_nmt("Go.\\tVa !")
'go .\\tva !'
>>> round(bleu("il est calme .".split(), "il est calme .".split(), k=2), 3)
1.0
"""
import collections
import math

import numpy as np

from chainrule.data import download as _download
from chainrule.data.dataset import TensorDataset
from chainrule.data.datasets import register_dataset
from chainrule.data.loader import DataLoader
from chainrule.text import corpora
from chainrule.text.sequence import sequences_to_indices
from chainrule.text.vocab import Vocab

__all__ = ["FraEng", "read_fra_eng", "preprocess_nmt", "tokenize_nmt", "split_pairs",
           "build_vocabs", "load_data_nmt", "load_pairs", "bleu", "corpus_bleu",
           "NMT_SPECIALS"]

NMT_SPECIALS = ["<pad>", "<bos>", "<eos>"]


class FraEng:
    """The Tatoeba English-French pairs of manythings.org as d2l ships them
    (``fra-eng/fra.txt``: 167,130 tab-separated lines, English first)."""
    name, dataset_dir = "fra-eng", "fra-eng"
    resources = {"fra.txt": "0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104"}
    urls = {}
    # d2l's archive (sha1 94646ad1...); its SHA-256 is not published, so the extracted
    # fra.txt is what gets verified
    archive = ("fra-eng.zip", None, [corpora.D2L_URL + "fra-eng.zip"])

    @classmethod
    def available(cls, root=None):
        """True when ``fra.txt`` (or d2l's archive) is here without the network."""
        return any(_download.local_file(cls.dataset_dir, f, None, root) is not None
                   for f in ("fra.txt", cls.archive[0]))


register_dataset("fra-eng", FraEng, files=["fra-eng/fra.txt"],
                 description="English-French sentence pairs (Tatoeba, d2l's fra-eng), "
                             "for translation")


def read_fra_eng(root=None, download=True):
    """The raw text of ``fra.txt`` (``$CHAINRULE_DATA/fra-eng/`` first, then the cache,
    then d2l's archive)."""
    path = corpora.fetch(FraEng, "fra.txt", root=root, download=download)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise RuntimeError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def preprocess_nmt(text):
    """d2l's cleaning: ``\\u202f``/``\\xa0`` to spaces, lower case, and a space
    inserted before ``,.!?`` that follows a non-space."""
    text = text.replace("\u202f", " ").replace("\xa0", " ").lower()
    return "".join(" " + c if i > 0 and c in ",.!?" and text[i - 1] != " " else c
                   for i, c in enumerate(text))


def tokenize_nmt(text, num_examples=None):
    """Word tokens of each ``source\\ttarget`` line; ``num_examples`` keeps the first
    lines as d2l does (its ``i > num_examples`` test keeps ``num_examples + 1``)."""
    source, target = [], []
    for i, line in enumerate(text.split("\n")):
        if num_examples and i > num_examples:
            break
        parts = line.split("\t")
        if len(parts) == 2:
            source.append(parts[0].split(" "))
            target.append(parts[1].split(" "))
    return source, target


def split_pairs(source, target, test_fraction=0.05, max_len=10, seed=0):
    """``(train_pairs, test_pairs)``: a seeded ``test_fraction`` of the pairs with at
    most ``max_len`` tokens a side is held out; everything else trains."""
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"split_pairs: test_fraction must be in [0, 1), got {test_fraction}")
    short = [i for i, (s, t) in enumerate(zip(source, target))
             if len(s) <= max_len and len(t) <= max_len]
    rng = np.random.default_rng(seed)
    test = set(rng.permutation(short)[:int(round(test_fraction * len(short)))].tolist())
    train = [(s, t) for i, (s, t) in enumerate(zip(source, target)) if i not in test]
    held = [(source[i], target[i]) for i in sorted(test)]
    return train, held


def load_pairs(root=None, download=True):
    """``(source, target)``: the word tokens of every pair of ``fra.txt``, prepared as
    d2l does (what :func:`split_pairs` splits)."""
    return tokenize_nmt(preprocess_nmt(read_fra_eng(root, download)))


def build_vocabs(source, target, min_freq=2):
    """d2l's source and target vocabularies."""
    return (Vocab(source, min_freq=min_freq, reserved_tokens=NMT_SPECIALS),
            Vocab(target, min_freq=min_freq, reserved_tokens=NMT_SPECIALS))


def load_data_nmt(batch_size, num_steps, num_examples=600, root=None, seed=None):
    """d2l's ``load_data_nmt``: ``(loader, src_vocab, tgt_vocab)``; each batch is
    ``(X, X_valid_len, Y, Y_valid_len)`` with ``(batch, num_steps)`` int64 indices."""
    source, target = tokenize_nmt(preprocess_nmt(read_fra_eng(root)), num_examples)
    src_vocab, tgt_vocab = build_vocabs(source, target)
    X, X_len = sequences_to_indices(source, src_vocab, num_steps)
    Y, Y_len = sequences_to_indices(target, tgt_vocab, num_steps)
    gen = None if seed is None else np.random.default_rng(seed)
    loader = DataLoader(TensorDataset(X, X_len, Y, Y_len), batch_size=batch_size,
                        shuffle=True, generator=gen)
    return loader, src_vocab, tgt_vocab


# ---------------------------------------------------------------- BLEU
def _ngrams(tokens, n):
    return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(pred_tokens, label_tokens, k):
    """d2l's sentence BLEU: ``exp(min(0, 1 - len_label/len_pred)) * prod_n p_n^(1/2^n)``
    for n = 1..k (clipped n-gram precisions, longer n-grams weighted more)."""
    len_pred, len_label = len(pred_tokens), len(label_tokens)
    if len_pred == 0:
        return 0.0
    score = math.exp(min(0.0, 1 - len_label / len_pred))
    for n in range(1, k + 1):
        label = _ngrams(label_tokens, n)
        pred = _ngrams(pred_tokens, n)
        total = len_pred - n + 1
        if total <= 0:
            break
        matches = sum(min(c, label[g]) for g, c in pred.items())
        score *= math.pow(matches / total, math.pow(0.5, n))
    return score


def corpus_bleu(preds, refs, max_n=4):
    """Corpus BLEU (Papineni et al. 2002) on token lists: clipped n-gram counts summed
    over the corpus, geometric mean of p_1..p_4, brevity penalty on total lengths;
    x100.  On sacrebleu's tokens (``tokenize='none'``, no smoothing) it gives
    sacrebleu's score (tested)."""
    if len(preds) != len(refs):
        raise ValueError(f"corpus_bleu: {len(preds)} predictions but {len(refs)} references")
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for p, r in zip(preds, refs):
        hyp_len, ref_len = hyp_len + len(p), ref_len + len(r)
        for n in range(1, max_n + 1):
            pc, rc = _ngrams(p, n), _ngrams(r, n)
            matches[n - 1] += sum(min(c, rc[g]) for g, c in pc.items())
            totals[n - 1] += max(0, len(p) - n + 1)
    if hyp_len == 0 or min(matches) == 0:
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(matches, totals)) / max_n
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100.0 * bp * math.exp(log_p)
