"""A small reusable training loop: :class:`Trainer`, :func:`fit`, :func:`evaluate`.

>>> import chainrule as cr
>>> from chainrule import nn, optim
>>> from chainrule.data import DataLoader, TensorDataset
>>> _ = cr.manual_seed(0)
>>> X = cr.randn(64, 3); y = X @ cr.tensor([[1.0], [-2.0], [0.5]])
>>> model = nn.Linear(3, 1)
>>> from chainrule.train import RunConfig
>>> hist = fit(model, DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True),
...            loss_fn=nn.MSELoss(), optimizer=optim.SGD(model.parameters(), lr=0.1),
...            config=RunConfig(epochs=30, metrics=(), progress=False, verbose=False))
>>> hist[-1]["train_loss"] < 1e-3
True
"""
import math
import time

import numpy as np

from chainrule.amp import GradScaler, autocast
from chainrule.compile import compile as _compile
from chainrule.backend import manual_seed
from chainrule.core.grad_mode import no_grad
from chainrule.train import callbacks as C
from chainrule.train import distributed as D
from chainrule.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from chainrule.train.config import RunConfig
from chainrule.train.metrics import Loss, get_metric, to_numpy

__all__ = ["Trainer", "fit", "evaluate", "TrainingDiverged"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; ``epoch`` and ``step`` say where."""

    def __init__(self, epoch, step, value, checkpoint=None):
        self.epoch, self.step, self.value = epoch, step, value
        where = (f"; the last good checkpoint ({checkpoint}) is left intact" if checkpoint
                 else "")
        super().__init__(f"training diverged: the loss is {value} at epoch {epoch}, step "
                         f"{step}; try a lower learning rate or --clip-grad-norm{where}")


def _split_batch(batch):
    if isinstance(batch, (list, tuple)) and len(batch) == 2:
        return batch[0], batch[1]
    raise TypeError(f"Trainer: expected batches of (input, target), got "
                    f"{type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}")


class Trainer:
    """Train ``model`` with ``loss_fn`` and ``optimizer``; see :func:`fit` for the options.

    ``history`` is a list with one dict per epoch: ``epoch``, ``train_loss``,
    ``train_<metric>``, ``val_loss``, ``val_<metric>``, ``lr`` and ``time``.

    The scheduler says when it steps: ``scheduler.step_per`` is ``'epoch'`` (after each
    epoch) or ``'batch'`` (after each optimizer step, e.g. ``OneCycleLR``), and
    ``scheduler.needs_metric`` (``ReduceLROnPlateau``) makes the epoch step pass the
    validation loss (the training loss without validation data).  Set the attribute on
    an instance to change it, e.g. ``sched.step_per = 'batch'`` for a per-batch
    ``LambdaLR``.
    """

    def __init__(self, model, loss_fn, optimizer=None, scheduler=None, metrics=("acc",),
                 clip_grad_norm=None, callbacks=(), *, meta=None, log=None, device=None,
                 compile=False, amp=False):
        if clip_grad_norm is not None and not clip_grad_norm > 0:
            raise ValueError(f"clip_grad_norm must be > 0, got {clip_grad_norm}")
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        # compile=True: the forward runs as a captured plan (chainrule.compile); the
        # compiled callable shares the model's parameters, so nothing else changes
        self.forward = _compile(model) if compile else model
        self.scheduler, self.clip_grad_norm = scheduler, clip_grad_norm
        # amp=True: float16 autocast of the forward and loss, and a GradScaler (steps whose
        # scaled gradients overflow are skipped and counted in skipped_steps; docs/amp.md)
        self.amp, self.skipped_steps = bool(amp), 0
        self._amp_device = "cuda" if str(device or "cpu").startswith("cuda") else "cpu"
        self.scaler = GradScaler(self._amp_device) if self.amp else None
        self.metric_specs = tuple(metrics or ())
        self.callbacks = sorted(callbacks, key=lambda c: c.order)
        self.step_per = getattr(scheduler, "step_per", "epoch")
        if self.step_per not in ("epoch", "batch"):
            raise ValueError(f"Trainer: {type(scheduler).__name__}.step_per must be 'epoch' "
                             f"or 'batch', got {self.step_per!r}")
        self.meta, self.device = dict(meta or {}), device
        self._log = log
        self.history, self.epoch, self.epochs = [], 0, 0
        self.stop_training, self.train_loader = False, None
        self._modes = {"loss": "min"}
        for m in self._meters():
            self._modes[m.name] = m.mode

    # ------------------------------------------------------------ helpers
    def _meters(self):
        return [get_metric(m) if isinstance(m, str) else m() if isinstance(m, type)
                else _fresh(m) for m in self.metric_specs]

    def mode_of(self, monitor):
        """``'min'`` or ``'max'`` for a history column like ``val_acc``."""
        name = monitor.split("_", 1)[1] if monitor.startswith(("train_", "val_")) else monitor
        return self._modes.get(name, "min")

    def monitored_value(self, logs, monitor):
        if monitor not in logs:
            raise KeyError(f"monitor {monitor!r} is not in the logs; choose from "
                           f"{', '.join(k for k in logs if k not in ('epoch', 'time'))}")
        return logs[monitor]

    def log(self, line):
        bar = next((c for c in self.callbacks if isinstance(c, C.ProgressBar)), None)
        if self._log is not None:
            self._log(line)
        elif bar is not None:
            bar.write(line)
        else:
            print(line, flush=True)

    def _to(self, x):
        return x.to(self.device) if self.device is not None and hasattr(x, "to") else x

    def _emit(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    # ------------------------------------------------------------ state
    def callbacks_state(self):
        states = {cb.key: cb.state_dict() for cb in self.callbacks
                  if cb.key and hasattr(cb, "state_dict")}
        if self.scaler is not None:   # resume continues the loss scale exactly
            states["grad_scaler"] = self.scaler.state_dict()
        return states

    def save_checkpoint(self, path):
        save_checkpoint(path, D.unwrap(self.model), self.optimizer, self.scheduler, self.epoch,
                        self.history, self.meta, self.callbacks_state())

    def resume(self, path):
        """Load model, optimizer, scheduler, history, callback and RNG state from a
        checkpoint; the next :meth:`fit` continues after its epoch."""
        ckpt = load_checkpoint(path, D.unwrap(self.model), self.optimizer, self.scheduler,
                               restore_rng=True)
        self.epoch, self.history = ckpt["epoch"], list(ckpt.get("history") or [])
        states = ckpt.get("callbacks") or {}
        if self.scaler is not None and "grad_scaler" in states:
            self.scaler.load_state_dict(states["grad_scaler"])
        for cb in self.callbacks:
            if cb.key in states and hasattr(cb, "load_state_dict"):
                try:
                    cb.load_state_dict(states[cb.key])
                except (KeyError, TypeError, ValueError) as e:
                    raise CheckpointError(f"can't read checkpoint {path}: the {cb.key} "
                                          f"state does not fit: {e!r}") from None
        self.meta = {**ckpt.get("meta", {}), **self.meta}
        return ckpt

    # ------------------------------------------------------------ loops
    def fit(self, train_loader, val_loader=None, epochs=1):
        """Train until ``epochs`` epochs are done in total (counting resumed ones)."""
        if int(epochs) < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        if self.optimizer is None:
            raise ValueError("Trainer.fit needs an optimizer")
        self.epochs, self.train_loader, self.stop_training = int(epochs), train_loader, False
        self._emit("on_fit_start")
        status = "completed"
        try:
            while self.epoch < self.epochs and not self.stop_training:
                self._run_epoch(train_loader, val_loader)
            status = "stopped early" if self.stop_training and self.epoch < self.epochs \
                else status
        except TrainingDiverged:
            status = "diverged"
            raise
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            self._emit("on_fit_end", status)
        return self.history

    def _run_epoch(self, train_loader, val_loader):
        epoch = self.epoch + 1
        self._emit("on_epoch_start", epoch)
        t0 = time.perf_counter()
        lr = float(self.optimizer.param_groups[0]["lr"])
        logs = {"epoch": epoch}
        sampler = getattr(train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):        # DistributedSampler: this epoch's order
            sampler.set_epoch(epoch)
        train_logs = self._train_epoch(train_loader, epoch)
        logs.update(D.average_logs(train_logs) if D.active() else train_logs)
        if val_loader is not None:
            logs.update(self.evaluate(val_loader, prefix="val_"))
        logs["lr"], logs["time"] = lr, round(time.perf_counter() - t0, 3)
        if self.scheduler is not None and self.step_per == "epoch":
            self._step_scheduler_epoch(logs)
        self.epoch = epoch
        self.history.append(logs)
        self._emit("on_epoch_end", logs)

    def _step_scheduler_epoch(self, logs):
        if getattr(self.scheduler, "needs_metric", False):  # e.g. ReduceLROnPlateau
            key = "val_loss" if "val_loss" in logs else "train_loss"
            self.scheduler.step(logs[key])
        else:
            self.scheduler.step()

    # hooks for stateful sequence models (chainrule.train.lm.LMTrainer overrides them)
    def begin_pass(self, loader, training):
        """Called before each training epoch and each evaluation pass."""

    def compute(self, x, y):
        """``(output, target, loss)`` of one batch; the meters see ``output, target``."""
        out = self.forward(x)
        return out, y, self.loss_fn(out, y)

    def loss_record(self, value, y):
        """``(value, weight)`` of a batch's loss in the epoch's mean (default: the batch
        mean weighted by the batch size; a per-token loss weights by tokens)."""
        return value, len(to_numpy(y))

    def _train_epoch(self, loader, epoch):
        self.model.train()
        loss_meter, meters = Loss(), self._meters()
        if self.clip_grad_norm is not None:
            from chainrule.nn.utils import clip_grad_norm_
        self.begin_pass(loader, True)
        for step, batch in enumerate(loader, 1):
            x, y = map(self._to, _split_batch(batch))
            with autocast(self._amp_device, enabled=self.amp):
                out, y, loss = self.compute(x, y)
            value = float(to_numpy(loss).item())
            if not math.isfinite(value):
                raise TrainingDiverged(epoch, step, value, self._last_checkpoint())
            self.optimizer.zero_grad()
            if self.scaler is not None:
                self._amp_step(loss)
            else:
                loss.backward()
                if self.clip_grad_norm is not None:
                    clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
                self.optimizer.step()
            if self.scheduler is not None and self.step_per == "batch":
                self.scheduler.step()
            out = out.detach()
            loss_meter.add(*self.loss_record(value, y))
            for m in meters:
                m.update(out, y, value)
            self._emit("on_batch_end", step, value)
        return _collect("train_", loss_meter, meters)

    def _amp_step(self, loss):
        """torch's AMP recipe: backward of the scaled loss, unscale before clipping,
        a step skipped when a gradient is inf/NaN, then the scale's update."""
        self.scaler.scale(loss).backward()
        if self.clip_grad_norm is not None:
            from chainrule.nn.utils import clip_grad_norm_
            self.scaler.unscale_(self.optimizer)
            clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        scale = self.scaler.get_scale()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scaler.get_scale() < scale:   # the scale backs off only on inf/NaN
            self.skipped_steps += 1

    def _last_checkpoint(self):
        for cb in self.callbacks:
            if isinstance(cb, C.ModelCheckpoint) and self.epoch > 0:
                return cb.last_path
        return None

    def evaluate(self, loader, prefix=""):
        """Loss and metrics of the model on ``loader`` (eval mode, no gradients)."""
        was_training = self.model.training
        self.model.eval()
        loss_meter, meters = Loss(), self._meters()
        try:
            with no_grad():
                self.begin_pass(loader, False)
                for batch in loader:
                    x, y = map(self._to, _split_batch(batch))
                    with autocast(self._amp_device, enabled=self.amp):
                        out, y, loss = self.compute(x, y)
                    value = float(to_numpy(loss).item())
                    loss_meter.add(*self.loss_record(value, y))
                    for m in meters:
                        m.update(out, y, value)
        finally:
            self.model.train(was_training)
        return _collect(prefix, loss_meter, meters)


def _fresh(meter):
    """A new meter like ``meter`` (same constructor arguments), so runs don't share state."""
    clone = object.__new__(type(meter))
    clone.__dict__.update(meter.__dict__)
    clone.reset()
    return clone


def _collect(prefix, loss_meter, meters):
    out = {prefix + "loss": loss_meter.compute()}
    for m in meters:
        out[prefix + m.name] = float(m.compute())
    return out


def fit(model, train_loader, val_loader=None, loss_fn=None, optimizer=None, scheduler=None,
        config=None, callbacks=(), meta=None):
    """Train ``model`` as ``config`` says and return the history (one dict per epoch).

    Args:
        loss_fn: e.g. ``nn.CrossEntropyLoss()``; called as ``loss_fn(model(x), y)``.
        scheduler: an ``optim.lr_scheduler`` object, stepped as its ``step_per`` and
            ``needs_metric`` say (see :class:`Trainer`).
        config: a :class:`~chainrule.train.RunConfig`; ``fit`` reads ``epochs``
            (required), ``metrics`` (default ``('acc',)``), ``clip_grad_norm``,
            ``out`` (write ``last.ckpt``, ``best.ckpt``, ``history.csv``/``.json`` and
            ``curves.png`` there), ``patience`` and ``monitor`` (default ``val_loss``,
            or ``train_loss`` without validation data), ``progress``, ``verbose``,
            ``resume`` (a checkpoint to continue from), ``seed`` (seed chainrule and
            NumPy first) and ``device``.  The names (``model``, ``data``,
            ``optimizer``...) are for :func:`chainrule.train.train`, which builds
            everything itself.
        callbacks: extra :class:`~chainrule.train.callbacks.Callback` objects.
        meta: stored in checkpoints (e.g. the model's registry name and arguments).

    Raises :class:`TrainingDiverged` when the loss becomes NaN/Inf (the previous
    checkpoint stays intact).
    """
    config = config if config is not None else RunConfig()
    if config.epochs is None:
        raise ValueError("fit: config.epochs is unset; e.g. fit(..., "
                         "config=RunConfig(epochs=10))")
    if config.seed is not None:
        manual_seed(config.seed)
        np.random.seed(config.seed)
    monitor = config.monitor or ("val_loss" if val_loader is not None else "train_loss")
    metrics = ("acc",) if config.metrics is None else config.metrics
    trainer = Trainer(model, loss_fn, optimizer, scheduler, metrics, config.clip_grad_norm,
                      C.make_callbacks(config, monitor, callbacks), meta=meta,
                      device=config.device, amp=config.amp)
    if config.resume is not None:
        trainer.resume(config.resume)
    return trainer.fit(train_loader, val_loader, config.epochs)


def evaluate(model, loader, loss_fn, metrics=("acc",), device=None):
    """``{'loss': ..., <metric>: ...}`` of ``model`` on ``loader`` (eval mode, no grad)."""
    return Trainer(model, loss_fn, metrics=metrics, device=device).evaluate(loader)
