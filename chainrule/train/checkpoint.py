"""Training checkpoints: everything needed to resume a run exactly, in one file.

A checkpoint bundles the model's ``state_dict``, the optimizer's and scheduler's,
the epoch, the history so far, the state of every random number generator a
training run draws from (chainrule's backend generator, which drives shuffling,
dropout and initialization; NumPy's global one; Python's ``random``), callback
state (best value, patience counters) and ``meta``: the model's registry name and
keyword arguments plus the dataset recipe, so ``chainrule eval``/``predict`` can
rebuild the model without the code that trained it.

Files are safetensors (:func:`chainrule.save`, no pickle) written atomically
(temp file, fsync, rename): a crash mid-write leaves the previous file intact.
"""
import random

import numpy as np

from chainrule import backend as B
from chainrule.train.checkpoint_schema import SchemaError, check_checkpoint, check_model_size
from chainrule.utils.serialization import load, save

__all__ = ["save_checkpoint", "load_checkpoint", "check_resumed_size", "CheckpointError",
           "get_rng_states",
           "set_rng_states", "FORMAT"]

FORMAT = "chainrule.checkpoint/1"
_REQUIRED = ("format", "epoch", "model")


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read or does not fit; the message names the file."""


def get_rng_states():
    """Snapshot of every random generator a training run uses."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"chainrule": B.get_rng_state(),
            "numpy": [kind, keys.astype(np.int64), pos, has_gauss, gauss],  # no uint32 in files
            "python": random.getstate()}


def set_rng_states(states):
    """Restore what :func:`get_rng_states` returned (after a round trip to a file)."""
    if "chainrule" in states:
        B.set_rng_state(states["chainrule"])
    if "numpy" in states:
        kind, keys, pos, has_gauss, gauss = states["numpy"]
        np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    if "python" in states:
        version, internal, gauss = states["python"]
        random.setstate((version, tuple(internal), gauss))


def save_checkpoint(path, model, optimizer=None, scheduler=None, epoch=0, history=None,
                    meta=None, callbacks_state=None, rng=True):
    """Write a training checkpoint to ``path`` atomically.

    Args:
        model: the module (its ``state_dict()`` is stored).
        optimizer / scheduler: stored with their ``state_dict()`` when given.
        epoch: the number of completed epochs.
        history: list of per-epoch dicts (numbers and strings).
        meta: JSON-like dict, e.g. ``{"model": "mlp", "model_kwargs": {...},
            "dataset": "digits"}``.
        callbacks_state: JSON-like dict of callback states.
        rng: also store the random generators' states (needed for an exact resume).
    """
    ckpt = {"format": FORMAT, "epoch": int(epoch), "model": model.state_dict(),
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "scheduler": _scheduler_state(scheduler),
            "history": list(history or []), "meta": dict(meta or {}),
            "callbacks": dict(callbacks_state or {}),
            "rng": get_rng_states() if rng else None}
    try:
        save(ckpt, path)
    except TypeError as e:
        raise CheckpointError(f"save_checkpoint: can't write {path}: {e}") from None


def _scheduler_state(scheduler):
    """The scheduler's state without callables (lambdas can't be stored without pickle:
    LambdaLR-style functions are rebuilt by the code that makes the scheduler)."""
    if scheduler is None:
        return None
    return {k: v for k, v in scheduler.state_dict().items() if not callable(v)}


def load_checkpoint(path, model=None, optimizer=None, scheduler=None, restore_rng=False,
                    map_location=None):
    """Read a checkpoint; optionally load it into ``model``/``optimizer``/``scheduler``
    and restore the random generators.  Returns the checkpoint dict.

    Raises :class:`CheckpointError` naming the file when it is missing, truncated,
    corrupt, not a training checkpoint, or does not fit the given model.
    """
    try:
        ckpt = load(path, map_location=map_location)
    except (OSError, RuntimeError, ValueError) as e:
        raise CheckpointError(f"can't read checkpoint {path}: {e}") from None
    missing = [k for k in _REQUIRED if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise CheckpointError(f"can't read checkpoint {path}: not a chainrule training "
                              f"checkpoint (no "
                              f"{', '.join(missing)}); plain state_dicts load with "
                              f"chainrule.load")
    if ckpt["format"] != FORMAT:
        raise CheckpointError(f"can't read checkpoint {path}: unsupported format "
                              f"{str(ckpt['format'])[:40]!r} (this version reads {FORMAT!r})")
    try:
        check_checkpoint(ckpt)
    except SchemaError as e:
        raise CheckpointError(f"can't read checkpoint {path}: {e}") from None
    _load_into(path, "model", model, ckpt["model"])
    _load_into(path, "optimizer", optimizer, ckpt.get("optimizer"))
    _load_into(path, "scheduler", scheduler, ckpt.get("scheduler"))
    if restore_rng and ckpt.get("rng"):
        try:
            set_rng_states(ckpt["rng"])
        except (TypeError, ValueError, KeyError, IndexError, AttributeError,
                OverflowError) as e:
            raise CheckpointError(f"can't read checkpoint {path}: its random generator "
                                  f"states are broken ({type(e).__name__}: "
                                  f"{str(e)[:80]})") from None
    return ckpt


def _load_into(path, what, obj, state):
    if obj is None:
        return
    if state is None:
        raise CheckpointError(f"can't read checkpoint {path}: it holds no {what} state to "
                              f"resume from")
    try:
        obj.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError, TypeError, IndexError, AttributeError) as e:
        raise CheckpointError(f"can't read checkpoint {path}: the saved {what} state does "
                              f"not fit this "
                              f"{type(obj).__name__}: {e}") from None


def check_resumed_size(path, kwargs):
    """Raise :class:`CheckpointError` when the model options ``kwargs`` (a resumed
    run's, with the data's sizes filled in) exceed the size bound of
    :mod:`~chainrule.train.checkpoint_schema` for the weights stored in ``path``."""
    stored = sum(t.numel() for t in load_checkpoint(path)["model"].values())
    try:
        check_model_size(kwargs, stored)
    except SchemaError as e:
        raise CheckpointError(f"can't read checkpoint {path}: {e}") from None
