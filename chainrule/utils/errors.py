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
    close = difflib.get_close_matches(str(name), choices, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {what} {name!r}{hint} (known: {', '.join(choices)})"


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
