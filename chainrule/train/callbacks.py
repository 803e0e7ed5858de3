"""Callbacks: the parts of a training run that are not the loop itself.

A callback overrides any of ``on_fit_start(trainer)``, ``on_epoch_start(trainer,
epoch)``, ``on_batch_end(trainer, step, loss)``, ``on_epoch_end(trainer, logs)`` and
``on_fit_end(trainer, status)``; callbacks run in ``order`` (lower first), so
early stopping has updated its counters before the checkpoint that stores them
is written.  Callbacks whose state matters for resuming define ``state_dict()``
and ``load_state_dict()``.
"""
import csv
import io
import json
import math
import os
import sys

from chainrule.utils.serialization import atomic_write_bytes

__all__ = ["make_callbacks", "Callback", "ProgressBar", "EarlyStopping", "ModelCheckpoint",
           "HistoryWriter",
           "CurvePlotter", "format_logs", "is_better"]


def is_better(value, best, mode, min_delta=0.0):
    """Whether ``value`` improves on ``best`` by more than ``min_delta``."""
    if value is None or not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def format_logs(logs, epochs=None):
    """One summary line for an epoch's logs."""
    parts = [f"epoch {logs['epoch']}" + (f"/{epochs}" if epochs else "")]
    for k, v in logs.items():
        if k in ("epoch", "time", "lr"):
            continue
        parts.append(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}")
    if "lr" in logs:
        parts.append(f"lr {logs['lr']:.3g}")
    if "time" in logs:
        parts.append(f"{logs['time']:.1f}s")
    return "  ".join(parts)


class Callback:
    order = 50
    key = None  # name of its entry in a checkpoint's callback state

    def on_fit_start(self, trainer):
        pass

    def on_epoch_start(self, trainer, epoch):
        pass

    def on_batch_end(self, trainer, step, loss):
        pass

    def on_epoch_end(self, trainer, logs):
        pass

    def on_fit_end(self, trainer, status):
        pass


class ProgressBar(Callback):
    """A tqdm bar per epoch (``tqdm.auto``: a widget in notebooks, text in terminals)
    and one summary line per epoch.

    Args:
        enable: ``None`` shows bars only on a terminal or in a notebook (logs get
            just the summary lines); ``True``/``False`` force them on/off.
        verbose: print the per-epoch summary lines.
        file: where lines go (default ``sys.stdout``; bars use ``sys.stderr``).
    """
    order = 10

    def __init__(self, enable=None, verbose=True, file=None, refresh_every=10):
        self.enable, self.verbose, self.file = enable, verbose, file
        self.refresh_every = max(1, int(refresh_every))
        self.bar = None

    def write(self, line):
        out = self.file or sys.stdout
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line, file=out)
        else:
            print(line, file=out, flush=True)

    def on_epoch_start(self, trainer, epoch):
        if self.enable is False:
            return
        from tqdm.auto import tqdm
        total = _safe_len(trainer.train_loader)
        self.bar = tqdm(total=total, desc=f"epoch {epoch}/{trainer.epochs}", unit="batch",
                        leave=False, dynamic_ncols=True, file=sys.stderr,
                        disable=None if self.enable is None else not self.enable)

    def on_batch_end(self, trainer, step, loss):
        if self.bar is None:
            return
        self.bar.update(1)
        if step % self.refresh_every == 0:
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def on_epoch_end(self, trainer, logs):
        self._close()
        if self.verbose:
            self.write(format_logs(logs, trainer.epochs))

    def on_fit_end(self, trainer, status):
        self._close()

    def _close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _safe_len(loader):
    try:
        return len(loader)
    except TypeError:
        return None


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: a history column such as ``'val_loss'`` or ``'val_acc'``.
        mode: ``'min'``, ``'max'`` or ``None`` (from the metric: losses and errors
            are minimized, accuracies maximized).
        min_delta: the smallest change that counts as an improvement.
    """
    order = 20
    key = "early_stopping"

    def __init__(self, monitor="val_loss", patience=5, mode=None, min_delta=0.0):
        if int(patience) < 1:
            raise ValueError(f"EarlyStopping: patience must be >= 1, got {patience}")
        self.monitor, self.patience, self.mode = monitor, int(patience), mode
        self.min_delta = float(min_delta)
        self.best, self.best_epoch, self.wait, self.stopped_epoch = None, None, 0, None

    def on_fit_start(self, trainer):
        self.mode = self.mode or trainer.mode_of(self.monitor)

    def on_epoch_end(self, trainer, logs):
        value = trainer.monitored_value(logs, self.monitor)
        if is_better(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, logs["epoch"], 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.stop_training = True
            self.stopped_epoch = logs["epoch"]
            trainer.log(f"early stopping after epoch {logs['epoch']}: {self.monitor} has not "
                        f"improved for {self.wait} epochs (best {self.best:.4f} at epoch "
                        f"{self.best_epoch})")

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state):
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]


class ModelCheckpoint(Callback):
    """Write ``last.ckpt`` after every epoch and ``best.ckpt`` when ``monitor`` improves.

    Both are full training checkpoints (see :mod:`chainrule.train.checkpoint`)
    written atomically, so an interrupted or diverged run leaves the previous
    ones intact.
    """
    order = 90
    key = "checkpoint"

    def __init__(self, dirpath, monitor="val_loss", mode=None, save_best=True,
                 save_last=True):
        self.dirpath, self.monitor, self.mode = os.fspath(dirpath), monitor, mode
        self.save_best, self.save_last = save_best, save_last
        self.best, self.best_epoch = None, None

    @property
    def last_path(self):
        return os.path.join(self.dirpath, "last.ckpt")

    @property
    def best_path(self):
        return os.path.join(self.dirpath, "best.ckpt")

    def on_fit_start(self, trainer):
        self.mode = self.mode or trainer.mode_of(self.monitor)
        os.makedirs(self.dirpath, exist_ok=True)

    def on_epoch_end(self, trainer, logs):
        value = trainer.monitored_value(logs, self.monitor)
        improved = is_better(value, self.best, self.mode)
        if improved:
            self.best, self.best_epoch = value, logs["epoch"]
        if self.save_last:
            trainer.save_checkpoint(self.last_path)
        if self.save_best and improved:
            trainer.save_checkpoint(self.best_path)

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state):
        self.best, self.best_epoch = state["best"], state["best_epoch"]


class HistoryWriter(Callback):
    """Write the history as ``history.csv`` and ``history.json`` after every epoch."""
    order = 80

    def __init__(self, dirpath):
        self.dirpath = os.fspath(dirpath)

    def on_epoch_end(self, trainer, logs):
        write_history(trainer.history, self.dirpath)


def write_history(history, dirpath):
    """``history.csv`` (one row per epoch, columns in first-seen order) and
    ``history.json`` (a list of per-epoch dicts) in ``dirpath``, atomically."""
    cols = []
    for row in history:
        cols += [k for k in row if k not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for row in history:
        w.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    atomic_write_bytes(os.path.join(dirpath, "history.csv"), [buf.getvalue().encode()])
    text = json.dumps(history, indent=1, allow_nan=True)
    atomic_write_bytes(os.path.join(dirpath, "history.json"), [text.encode()])


class CurvePlotter(Callback):
    """Save learning curves (``curves.png``) when training ends (also after early
    stopping or divergence), and every ``every`` epochs if given."""
    order = 85

    def __init__(self, path, every=None):
        self.path, self.every = os.fspath(path), every

    def on_epoch_end(self, trainer, logs):
        if self.every and logs["epoch"] % self.every == 0:
            self._plot(trainer)

    def on_fit_end(self, trainer, status):
        if trainer.history:
            self._plot(trainer)

    def _plot(self, trainer):
        from chainrule.train.plots import plot_history
        plot_history(trainer.history, self.path)


def make_callbacks(config, monitor, extra=()):
    """The callbacks of a run: progress bar and epoch lines, then ``extra``, then
    checkpoints, history files and curves in ``config.out`` (when set), then early
    stopping on ``monitor`` (when ``config.patience`` is set)."""
    cbs = [ProgressBar(config.progress, config.verbose)] + list(extra)
    if config.out is not None:
        cbs += [ModelCheckpoint(config.out, monitor), HistoryWriter(config.out),
                CurvePlotter(os.path.join(config.out, "curves.png"))]
    if config.patience is not None:
        cbs.append(EarlyStopping(monitor, config.patience))
    return cbs
