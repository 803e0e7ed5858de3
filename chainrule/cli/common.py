"""Shared pieces of the commands: exit codes, user-facing errors, loading a
checkpoint's model, and reading data for a checkpoint."""
import numpy as np

from chainrule import models
from chainrule.train.checkpoint import CheckpointError, load_checkpoint
from chainrule.utils.errors import UnknownNameError

__all__ = ["EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_INTERRUPTED", "UsageError",
           "USER_ERRORS", "positive_int", "positive_float", "hidden_sizes",
           "model_from_checkpoint", "load_data", "describe_os_error"]

EXIT_OK = 0            # success
EXIT_FAILED = 1        # training diverged, or the result missed --target
EXIT_USAGE = 2         # bad command line or input: names, values, files, data, checkpoints
EXIT_INTERRUPTED = 130  # Ctrl-C (the last complete epoch's checkpoint is kept)


class UsageError(ValueError):
    """A mistake in the command line or its inputs (exit code 2)."""


# errors that are the user's input, reported in one line with exit code 2
USER_ERRORS = (UsageError, UnknownNameError, models.IncompatibleDataError, CheckpointError,
               FileNotFoundError, ValueError)


def describe_os_error(e):
    """``PATH: reason`` of an OSError (``reason`` alone when it names no file)."""
    if getattr(e, "filename", None) is None:
        return str(e)
    where = str(e.filename) + (f" -> {e.filename2}" if e.filename2 else "")
    return f"{where}: {e.strerror or e}"


def positive_int(text):
    """argparse type: an integer >= 1."""
    import argparse
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def positive_float(text):
    """argparse type: a finite number > 0."""
    import argparse
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (v > 0 and np.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def hidden_sizes(text):
    """argparse type: ``256,128`` -> (256, 128); ``''`` or ``none`` -> ()."""
    import argparse
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        sizes = tuple(int(t) for t in text.replace(" ", "").split(",") if t)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer widths like 256,128, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer widths must be >= 1, got {text!r}")
    return sizes


def model_from_checkpoint(path):
    """``(model, checkpoint)``: the registered model rebuilt from the checkpoint's
    ``meta`` with its saved weights, in eval mode.  Every failure is a
    :class:`CheckpointError` ``can't read checkpoint PATH: reason``."""
    ckpt = load_checkpoint(path)
    meta = ckpt.get("meta") or {}
    bad = f"can't read checkpoint {path}"
    if "model" not in meta:
        raise CheckpointError(f"{bad}: it does not say which registered model it holds "
                              f"(no meta['model']); was it written by `chainrule train`?")
    kwargs = dict(meta.get("model_kwargs") or {})
    try:
        params = models.model_info(meta["model"])["parameters"]
        unknown = [k for k in kwargs if k not in params]
        if unknown:
            raise TypeError(f"it takes no option {unknown[0]!r}")
        model = models.get_model(meta["model"], **kwargs)
    except (UnknownNameError, TypeError, ValueError, KeyError, IndexError,
            AttributeError, ZeroDivisionError, OverflowError) as e:
        raise CheckpointError(f"{bad}: can't rebuild model {meta['model']!r}: "
                              f"{str(e)[:200]}") from None
    try:
        model.load_state_dict(ckpt["model"])
    except (KeyError, ValueError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"{bad}: the saved weights do not fit model "
                              f"{meta['model']!r}: {str(e)[:200]}") from None
    model.eval()
    return model, ckpt


def load_data(name, **kwargs):
    """:func:`chainrule.train.recipes.prepare_data` with data problems (missing files
    offline, bad checksums) turned into one-line usage errors."""
    from chainrule.train.recipes import prepare_data
    try:
        return prepare_data(name, **kwargs)
    except (UnknownNameError, UsageError):
        raise
    except (RuntimeError, OSError) as e:
        raise UsageError(f"can't load dataset {name!r}: {e}") from None
