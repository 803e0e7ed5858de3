"""Errors with helpful messages: unknown names come with "did you mean" suggestions."""
import difflib

__all__ = ["UnknownNameError", "suggest", "resolve_name"]


class UnknownNameError(KeyError, ValueError):
    """An unknown model, dataset, optimizer... name; the message suggests close ones.

    It is a KeyError (a failed lookup) and a ValueError (a bad argument value).
    """

    def __str__(self):  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


def suggest(name, choices, what):
    """An error message for an unknown name, with the closest known ones.

    >>> suggest("mpl", ["mlp", "softmax_regression"], "model")
    "unknown model 'mpl'; did you mean 'mlp'? (known: mlp, softmax_regression)"
    """
    choices = sorted(choices)
    close = difflib.get_close_matches(str(name), choices, n=len(choices), cutoff=0.5)
    close = sorted(close, key=lambda c: _typos(str(name), c))[:3]  # stable: ratio next
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {what} {name!r}{hint} (known: {', '.join(choices)})"


def _typos(a, b):
    """Edits from ``a`` to ``b``: insertions, deletions, substitutions and swaps of
    neighbours (optimal string alignment), so ``adma`` is one typo from ``adam``."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def resolve_name(name, choices, aliases=None):
    """The spelling of ``name`` among ``choices`` (or, via ``aliases``, the choice an
    alias stands for) with case, ``-`` and ``_`` ignored; unknown names come back
    unchanged so the caller's lookup raises its own error.

    >>> resolve_name("Fashion-MNIST", ["fashion_mnist", "mnist"])
    'fashion_mnist'
    """
    aliases = aliases or {}
    if not isinstance(name, str) or name in choices:
        return name
    if name in aliases:
        return aliases[name]
    key = name.lower().replace("-", "").replace("_", "")
    for known in list(choices) + list(aliases):
        if known.lower().replace("-", "").replace("_", "") == key:
            return aliases.get(known, known)
    return name
