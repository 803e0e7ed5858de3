"""Errors with helpful messages: unknown names come with "did you mean" suggestions."""
import difflib

__all__ = ["UnknownNameError", "suggest"]


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
