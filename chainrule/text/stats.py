"""Corpus statistics: token and n-gram frequencies, a summary, and Zipf plots (PNG).

>>> c = count_corpus([["a", "b"], ["a"]])
>>> c.most_common(1)
[('a', 2)]
>>> ngram_counts(list("abab"), 2).most_common(1)
[(('a', 'b'), 2)]
"""
import collections
import collections.abc
import os

import numpy as np

__all__ = ["count_corpus", "flatten", "ngrams", "ngram_counts", "sorted_freqs", "corpus_stats",
           "zipf_fit", "zipf_plot"]


def flatten(tokens):
    """A flat token list from a flat list or a list of token lists (lines)."""
    if tokens and isinstance(tokens[0], (list, tuple)):
        return [t for line in tokens for t in line]
    return list(tokens)


def count_corpus(tokens):
    """``collections.Counter`` of the tokens of a flat list or a list of lines.

    Insertion order is first occurrence, which :class:`~chainrule.text.Vocab` uses to
    break frequency ties (as d2l's stable sort does).
    """
    if tokens and isinstance(tokens[0], (list, tuple)):
        c = collections.Counter()
        for line in tokens:
            c.update(line)
        return c
    return collections.Counter(tokens)


def ngrams(tokens, n):
    """The ``n``-grams of a flat token sequence as tuples (for ``n=2``, d2l's
    ``zip(corpus[:-1], corpus[1:])``)."""
    if n < 1:
        raise ValueError(f"ngrams: n must be >= 1, got {n}")
    tokens = list(tokens)
    return list(zip(*(tokens[i:] for i in range(n))))


def ngram_counts(tokens, n):
    """``Counter`` of the ``n``-grams of a flat token list (lines are concatenated)."""
    return collections.Counter(ngrams(flatten(tokens), n))


def sorted_freqs(counts):
    """``[(token, freq)]`` by decreasing frequency, ties in first-seen order."""
    return sorted(counts.items(), key=lambda kv: kv[1], reverse=True)


def zipf_fit(freqs, skip=0, top=None):
    """Fit ``log n_i = -alpha log i + c`` (Zipf's law) by least squares.

    Args:
        freqs: frequencies (any order; sorted decreasingly here), a ``Counter`` or a
            :class:`~chainrule.text.Vocab`.
        skip / top: fit ranks ``skip+1 .. top`` only (the head and the long tail of
            singletons bend away from the line).

    Returns:
        ``(alpha, c)``.
    """
    f = _freq_array(freqs)[skip:top]
    f = f[f > 0]
    if len(f) < 2:
        raise ValueError("zipf_fit: need at least 2 positive frequencies")
    ranks = np.arange(skip + 1, skip + 1 + len(f))
    slope, c = np.polyfit(np.log(ranks), np.log(f), 1)
    return float(-slope), float(c)


def corpus_stats(tokens, top_k=10):
    """A summary dict of a token corpus (flat list or lines).

    Keys: ``num_tokens``, ``num_types``, ``type_token_ratio``, ``singletons`` (types
    seen once), ``top`` (the ``top_k`` most frequent ``(token, freq)``), ``top_bigrams``,
    ``top_trigrams``, ``zipf_alpha`` (fitted exponent of the unigram frequencies,
    ranks 10..1000 or as many as there are; None if too few types).
    """
    flat = flatten(tokens)
    counts = count_corpus(flat)
    n = len(flat)
    alpha = None
    if len(counts) >= 20:
        alpha = zipf_fit(counts, skip=min(9, len(counts) // 10), top=1000)[0]
    return {"num_tokens": n, "num_types": len(counts),
            "type_token_ratio": len(counts) / n if n else 0.0,
            "singletons": sum(1 for v in counts.values() if v == 1),
            "top": sorted_freqs(counts)[:top_k],
            "top_bigrams": sorted_freqs(ngram_counts(flat, 2))[:top_k],
            "top_trigrams": sorted_freqs(ngram_counts(flat, 3))[:top_k],
            "zipf_alpha": alpha}


def _freq_array(freqs):
    if hasattr(freqs, "token_freqs"):  # a Vocab
        freqs = freqs.token_freqs
    if isinstance(freqs, collections.abc.Mapping):
        freqs = list(freqs.values())
    freqs = [f[1] if isinstance(f, (tuple, list)) else f for f in freqs]
    return np.sort(np.asarray(freqs, dtype=np.float64))[::-1]


def zipf_plot(freqs, path, labels=None, title="Zipf plot", fit=False):
    """Plot frequency against rank on log-log axes and save it as an image (PNG).

    Args:
        freqs: one frequency source or a list of them (e.g. unigram, bigram and trigram
            counts, as d2l's figure).  A source is a ``Counter``/dict, a
            :class:`~chainrule.text.Vocab`, a list of ``(token, freq)`` or of numbers.
        path: output file; the format follows the extension; folders are created.
        labels: legend entries, one per source.
        fit: also draw the fitted Zipf line of the first source.

    Returns:
        ``path``.  matplotlib is imported here (Agg canvas, no pyplot state).
    """
    from matplotlib.figure import Figure  # lazy: only plotting needs matplotlib

    single = (hasattr(freqs, "token_freqs") or isinstance(freqs, collections.abc.Mapping)
              or (len(freqs) > 0 and not _is_source(freqs[0])))
    sources = [freqs] if single else list(freqs)
    if labels is None:
        labels = ["unigram", "bigram", "trigram"][:len(sources)] if len(sources) <= 3 else \
            [f"source {i}" for i in range(len(sources))]
    fig = Figure(figsize=(5, 3.6), layout="constrained")
    ax = fig.subplots()
    for src, label in zip(sources, labels):
        f = _freq_array(src)
        f = f[f > 0]
        ax.loglog(np.arange(1, len(f) + 1), f, label=label)
    if fit:
        alpha, c = zipf_fit(sources[0])
        r = np.array([1, len(_freq_array(sources[0]))], dtype=np.float64)
        ax.loglog(r, np.exp(c) * r ** -alpha, "--", color="grey",
                  label=f"fit: alpha={alpha:.2f}")
    ax.set_xlabel("token rank: x")
    ax.set_ylabel("frequency: n(x)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def _is_source(x):
    """A frequency source (vs. one number or one ``(token, freq)`` pair)."""
    if hasattr(x, "token_freqs") or isinstance(x, (collections.abc.Mapping, list)):
        return True
    return isinstance(x, np.ndarray) and x.ndim == 1
