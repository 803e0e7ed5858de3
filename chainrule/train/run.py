"""Build and train a run from a :class:`~chainrule.train.config.RunConfig`.

>>> from chainrule.train import RunConfig, train
>>> result = train(RunConfig(data="digits", epochs=1, out=str(tmp / "run"), progress=False,
...                          verbose=False, model_args={"hidden_sizes": (16,)}))  # doctest: +SKIP
>>> result.final["acc"] > 0.5                                                    # doctest: +SKIP
True

:func:`build` makes the pieces (:class:`Run`: model, data, optimizer, scheduler,
callbacks, trainer, with the checkpoint resumed); :func:`train` also fits it and
evaluates the final model.  ``chainrule train`` is ``train(config)``.
"""
import dataclasses
import sys
import time

import numpy as np

from chainrule import models
from chainrule.backend import manual_seed
from chainrule.train.callbacks import make_callbacks
from chainrule.train import distributed as D
from chainrule.text.vocab import Vocab
from chainrule.train.checkpoint import CheckpointError, check_resumed_size, load_checkpoint
from chainrule.train.config import ConfigError
from chainrule.train.factory import make_loss, make_optimizer, make_scheduler
from chainrule.train.lm import LMTrainer
from chainrule.train.lm_recipes import prepare_lm_data
from chainrule.train.nmt import Seq2SeqTrainer, pads_source
from chainrule.train.nmt_recipes import VAL_SEED, prepare_nmt_data
from chainrule.train.recipes import prepare_data, start_at_mean
from chainrule.train.runfolder import check_folder, open_run_folder
from chainrule.train.trainer import Trainer

VAL_BLEU_PAIRS = 1000  # validation pairs decoded each epoch for val_bleu

__all__ = ["Run", "RunResult", "build", "train", "DataError",
           "chainrule_version"]


class DataError(ValueError):
    """The run's data could not be loaded (missing offline, bad checksum...)."""


def chainrule_version():
    """``chainrule.__version__`` (the root package is loaded before any of its
    subpackages, so this reads it without importing the root from this floor)."""
    return sys.modules["chainrule"].__version__


@dataclasses.dataclass
class Run:
    """A built run: ``trainer.fit(data.train_loader, data.val_loader, config.epochs)``
    trains it (:meth:`fit`)."""
    config: object          # the resolved RunConfig (out filled in)
    model: object
    data: object            # recipes.DataBundle or lm_recipes.LMData
    optimizer: object
    scheduler: object
    trainer: object
    monitor: str
    meta: dict

    def fit(self):
        return self.trainer.fit(self.data.train_loader, self.data.val_loader,
                                self.config.epochs)


@dataclasses.dataclass
class RunResult:
    """What :func:`train` returns."""
    run: Run
    history: list
    split: str              # where ``final`` was measured: 'test', 'validation', 'train'
    final: dict             # e.g. {'loss': ..., 'acc': ...} or {'ppl': ...}
    seconds: float
    target_met: bool = None  # None without config.target
    target_miss: str = None  # the message when the target was missed


def _seed(seed):
    manual_seed(seed)
    np.random.seed(seed)


def build(config):
    """Resolve ``config`` and build its :class:`Run` (seeded, the resumed checkpoint
    loaded, a line printed about what is trained)."""
    return _build(_resolve(config))


def _resolve(config):
    cfg = config.resolved()
    out = dataclasses.replace(cfg, out=check_folder(cfg.default_out()))
    out.note = cfg.note
    return out


def _build(cfg):
    if cfg.note:
        print(cfg.note)
    if D.active() and (cfg.is_lm or cfg.is_translation):
        raise ConfigError("nproc", "data-parallel runs (--nproc, mpiexec) train dataset "
                          "models only, not language models or translation")
    if cfg.is_lm:
        return _build_lm(cfg)
    return _build_nmt(cfg) if cfg.is_translation else _build_dataset(cfg)


def _param_groups(model, cfg):
    """All parameters, or for fine-tuning the backbone (at a smaller lr, or frozen) and
    the head, after loading the source run's weights."""
    ft = cfg.finetune_settings
    if not ft:
        return model.parameters()
    if cfg.finetune:
        loaded, skipped = models.load_matching(model, load_checkpoint(cfg.finetune)["model"])
        if not loaded:
            raise ConfigError("finetune", f"none of the weights of {cfg.finetune} fit "
                              f"this model")
        print(f"fine-tuning from {cfg.finetune}: loaded {len(loaded)} tensors; new head "
              f"{models.finetune.head_name(model)!r}"
              + (f"; skipped {', '.join(skipped)}" if skipped else ""))
    return models.finetune_param_groups(model, cfg.lr, ft["backbone_lr_mult"],
                                        ft["freeze_backbone"])


def _load(what, name, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (RuntimeError, OSError) as e:
        raise DataError(f"can't load {what} {name!r}: {e}") from None


def _build_dataset(cfg):
    _seed(cfg.seed)
    bundle = _load("dataset", cfg.data, prepare_data, cfg.data, batch_size=cfg.batch_size,
                   val_fraction=cfg.val_fraction, num_workers=cfg.num_workers,
                   augment=bool(cfg.augment))
    recipe = bundle.recipe
    kwargs = {**models.data_kwargs(cfg.model, bundle.input_shape, recipe.task,
                                   bundle.num_outputs), **cfg.model_args}
    if cfg.resume:  # the resumed run's options, with this data's sizes: bounded first
        check_resumed_size(cfg.resume, kwargs)
    model = models.get_model(cfg.model, **kwargs)
    if recipe.task == "regression":
        start_at_mean(model, bundle.train_targets)
    optimizer = make_optimizer(cfg.optimizer, _param_groups(model, cfg), cfg.lr,
                               cfg.momentum, cfg.weight_decay)
    scheduler = make_scheduler(cfg.scheduler, optimizer, cfg.epochs, len(bundle.train_loader))
    split = "val" if bundle.val_loader is not None else "train"
    monitor = cfg.monitor or f"{split}_{recipe.primary}"
    meta = {"model": cfg.model, "model_kwargs": kwargs, "dataset": cfg.data,
            "task": recipe.task, "input_shape": list(bundle.input_shape),
            "classes": bundle.classes, "raw_input": bundle.raw_input,
            "validation": _validation(cfg, bundle),
            "train_args": cfg.train_args(),
            "chainrule": chainrule_version()}
    if D.active():      # data parallel over MPI ranks: this rank's share, DDP
        try:
            bundle.train_loader = D.shard_loader(bundle.train_loader, cfg.seed)
        except ValueError as e:
            raise ConfigError("batch_size", str(e)) from None
        print(f"data parallel on {D.world_size()} processes (MPI): "
              f"{cfg.batch_size // D.world_size()} samples per process per step")
    trainer = Trainer(D.wrap(model), make_loss(recipe.task, cfg.label_smoothing), optimizer,
                      scheduler, cfg.metrics, cfg.clip_grad_norm,
                      make_callbacks(cfg, monitor), meta=meta, device=cfg.device,
                      compile=cfg.compile, amp=cfg.amp)
    if _resume_or_announce(cfg, trainer, model):
        print(f"{len(bundle.train_loader.dataset)} training samples "
              f"({meta['validation']['text']}), {cfg.epochs} epochs, "
              f"{cfg.optimizer} lr {cfg.lr:g}, batch {cfg.batch_size}, seed {cfg.seed}")
    columns = _columns(recipe, bundle)
    if monitor not in columns:
        raise ConfigError("monitor", f"{monitor!r} is not a history column; choose from "
                          f"{', '.join(columns)}")
    return Run(cfg, model, bundle, optimizer, scheduler, trainer, monitor, meta)


def _resume_or_announce(cfg, trainer, model, data_name=None):
    """Resume ``trainer`` from ``cfg.resume`` and say so, or start the announcement of
    a new run (``training MODEL (N parameters) on DATA: ``, no newline) and return True
    so the caller finishes the line with what its data looks like."""
    if cfg.resume:
        trainer.resume(cfg.resume)
        print(f"resuming {cfg.model} on {cfg.data} from {cfg.resume} after epoch "
              f"{trainer.epoch}")
        return False
    n = sum(p.numel() for p in model.parameters())
    print(f"training {cfg.model} ({n:,} parameters) on {data_name or cfg.data}: ", end="")
    return True


def _validation(cfg, bundle):
    """What the run validates on (``meta['validation']``): a seeded held-out part of the
    training data (the default), the test split (``val_fraction=0``, d2l's convention),
    or nothing."""
    frac = cfg.val_fraction
    if bundle.val_loader is None:
        return {"on": "none", "fraction": 0.0, "text": "no validation data"}
    if not frac:
        return {"on": "test", "fraction": 0.0,
                "text": "validating on the test split: --val-fraction 0"}
    n = len(bundle.val_loader.dataset)
    return {"on": "held_out", "fraction": frac, "seed": 0, "samples": n,
            "text": f"{n} more held out for validation"}


def _columns(recipe, bundle):
    cols = ["train_loss"] + [f"train_{m}" for m in recipe.metric_names]
    if bundle.val_loader is not None:
        cols += ["val_loss"] + [f"val_{m}" for m in recipe.metric_names]
    return cols


def _build_lm(cfg):
    _seed(cfg.seed)
    lm = _load("corpus", cfg.data, prepare_lm_data, cfg.data, cfg.batch_size, cfg.num_steps,
               cfg.batch_mode, cfg.max_tokens, seed=cfg.seed)
    recipe = lm.recipe
    kwargs = {"vocab_size": len(lm.vocab), **cfg.model_args}
    if cfg.resume:
        check_resumed_size(cfg.resume, kwargs)
    model = models.get_model(cfg.model, **kwargs)
    optimizer = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.momentum,
                               cfg.weight_decay)
    scheduler = make_scheduler(cfg.scheduler, optimizer, cfg.epochs, len(lm.train_loader))
    monitor = cfg.monitor or ("val_ppl" if lm.val_loader is not None else "train_ppl")
    meta = {"model": cfg.model, "model_kwargs": kwargs, "dataset": lm.name,
            "task": "language_model", "token": recipe.token, "vocab": lm.vocab.state_dict(),
            "train_args": cfg.train_args(), "chainrule": chainrule_version()}
    trainer = LMTrainer(model, optimizer, scheduler, cfg.metrics, cfg.clip_grad_norm,
                        make_callbacks(cfg, monitor), meta=meta, device=cfg.device,
                        compile=cfg.compile, amp=cfg.amp)
    if _resume_or_announce(cfg, trainer, model,
                           f"{lm.name} ({recipe.token} level, vocab {len(lm.vocab)})"):
        print(f"{len(lm.train_loader)} batches of "
              f"{cfg.batch_size}x{cfg.num_steps} ({cfg.batch_mode}), "
              f"{cfg.epochs} epochs, {cfg.optimizer} lr {cfg.lr:g}, "
              f"clip {cfg.clip_grad_norm}, seed {cfg.seed}")
    return Run(cfg, model, lm, optimizer, scheduler, trainer, monitor, meta)


def resumed_vocabs(path, meta):
    """The source and target vocabularies a translation checkpoint stores."""
    try:
        return (Vocab.from_state_dict(meta["src_vocab"]),
                Vocab.from_state_dict(meta["tgt_vocab"]))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise CheckpointError(f"can't read checkpoint {path}: its vocabularies are "
                              f"missing or broken ({type(e).__name__}: {str(e)[:80]})") \
            from None


def _build_nmt(cfg):
    _seed(cfg.seed)
    vocabs = resumed_vocabs(cfg.resume, load_checkpoint(cfg.resume)["meta"]) \
        if cfg.resume else (None, None)
    data = _load("dataset", cfg.data, prepare_nmt_data, cfg.batch_size, cfg.num_steps,
                 cfg.max_examples, *vocabs, bucket=cfg.bucket,
                 val_fraction=cfg.val_fraction or 0.0)
    kwargs = {"src_vocab_size": len(data.src_vocab), "tgt_vocab_size": len(data.tgt_vocab),
              **cfg.model_args}
    if cfg.resume:
        check_resumed_size(cfg.resume, kwargs)
    model = models.get_model(cfg.model, **kwargs)
    optimizer = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.momentum,
                               cfg.weight_decay)
    scheduler = make_scheduler(cfg.scheduler, optimizer, cfg.epochs, len(data.train_loader))
    monitor = cfg.monitor or ("val_bleu" if data.val_loader is not None else "train_loss")
    meta = {"model": cfg.model, "model_kwargs": kwargs, "dataset": cfg.data,
            "task": "translation", "src_vocab": data.src_vocab.state_dict(),
            "tgt_vocab": data.tgt_vocab.state_dict(), "train_args": cfg.train_args(),
            "chainrule": chainrule_version()}
    if data.val_loader is not None:
        meta["validation"] = {"on": "held_out", "fraction": cfg.val_fraction,
                              "seed": VAL_SEED, "pairs": len(data.val_pairs),
                              "bleu_pairs": min(len(data.val_pairs), VAL_BLEU_PAIRS)}
    trainer = Seq2SeqTrainer(model, data.tgt_vocab.bos, optimizer, scheduler,
                             cfg.clip_grad_norm, make_callbacks(cfg, monitor), meta=meta,
                             device=cfg.device, num_steps=cfg.num_steps, amp=cfg.amp,
                             bleu_pairs=data.val_pairs[:VAL_BLEU_PAIRS],
                             vocabs=(data.src_vocab, data.tgt_vocab),
                             pad_source=pads_source(meta))
    if _resume_or_announce(cfg, trainer, model):
        print(f"{data.num_pairs} "
              f"training pairs (vocab {len(data.src_vocab)} -> {len(data.tgt_vocab)}, "
              f"{cfg.num_steps} steps), {cfg.epochs} epochs, {cfg.optimizer} lr "
              f"{cfg.lr:g}, batch {cfg.batch_size}{' bucketed' if cfg.bucket else ''}, "
              f"clip {cfg.clip_grad_norm}, seed {cfg.seed}" + (
                  f"; {len(data.val_pairs)} pairs held out for validation (val_loss; "
                  f"val_bleu, greedy, on the first {min(len(data.val_pairs), VAL_BLEU_PAIRS)})"
                  if data.val_loader is not None else ""))
    return Run(cfg, model, data, optimizer, scheduler, trainer, monitor, meta)


def train(config):
    """Build the run of ``config``, train it, print and return the final metrics
    (:class:`RunResult`).  Raises :class:`~chainrule.train.TrainingDiverged` when the
    loss becomes NaN/Inf, :class:`~chainrule.train.config.ConfigError` for bad
    settings, :class:`~chainrule.train.runfolder.RunFolderError` when the output
    folder is in use or holds another run (see ``docs/reliability.md``)."""
    cfg = _resolve(config)
    if not D.is_main():         # ranks > 0 of a data-parallel run write no files
        return _train_in(dataclasses.replace(cfg, out=None), _NoFolder())
    with open_run_folder(cfg.out, resume=bool(cfg.resume), overwrite=cfg.overwrite) as lock:
        return _train_in(cfg, lock)


class _NoFolder:
    taken_over = None


def _train_in(cfg, lock):
    if lock.taken_over:
        print(f"note: took over the lock of {cfg.out} left by process "
              f"{lock.taken_over}, which is no longer running")
    run = _build(cfg)
    t0 = time.perf_counter()
    history = run.fit()
    split, final = _final(run)
    seconds = time.perf_counter() - t0
    return _report(run, history, split, final, seconds)


def _report(run, history, split, final, seconds):
    cfg, out = run.config, run.config.out
    if cfg.is_lm:
        print(f"final {split} perplexity ({run.trainer.epoch} epochs, {seconds:.1f}s):"
              f" {final['ppl']:.3f}")
    elif cfg.is_translation:
        bleu = f", BLEU {final['bleu']:.2f}" if final.get("bleu") is not None else ""
        print(f"final {split} loss per token ({run.trainer.epoch} epochs, {seconds:.1f}s): "
              f"{final['loss']:.4f}{bleu}; BLEU on the held-out test split: chainrule eval "
              f"{out}/best.ckpt")
    else:
        shown = "  ".join(f"{k} {v:.4f}" for k, v in final.items())
        print(f"final {split} metrics ({run.trainer.epoch} epochs, {seconds:.1f}s): {shown}")
    print(f"wrote {out}/last.ckpt, best.ckpt, history.csv, history.json, curves.png")
    result = RunResult(run, history, split, final, seconds)
    _check_target(result)
    return result


def _final(run):
    """``(split, metrics)`` of the trained model: the test split, else the held-out
    validation part (dataset runs) or the training text's perplexity (LM runs)."""
    trainer, data = run.trainer, run.data
    if run.config.is_translation:
        last = trainer.history[-1]
        if "val_loss" in last:
            return "validation", {"loss": last["val_loss"], "bleu": last.get("val_bleu")}
        return "train", {"loss": last["train_loss"]}
    if run.config.is_lm:
        if data.test_loader is not None:
            return "test", trainer.evaluate(data.test_loader)
        return "train", {"ppl": trainer.history[-1]["train_ppl"]}
    recipe = data.recipe
    loader, split = ((data.test_loader, "test") if data.test_loader is not None else
                     (data.val_loader, "test" if recipe.test_split else "validation"))
    return split, (trainer.evaluate(loader) if loader is not None else {})


def _check_target(result):
    cfg = result.run.config
    seq = cfg.is_lm or cfg.is_translation
    primary = "ppl" if cfg.is_lm else "loss" if seq else result.run.data.recipe.primary
    value = result.final.get(primary)
    if cfg.target is None or value is None:
        return
    mode = "min" if seq else result.run.data.recipe.primary_mode
    result.target_met = value >= cfg.target if mode == "max" else value <= cfg.target
    if not result.target_met:
        what = "perplexity" if cfg.is_lm else primary
        digits = 3 if cfg.is_lm else 4
        result.target_miss = (f"{result.split} {what} {value:.{digits}f} misses the target "
                              f"{cfg.target}")
