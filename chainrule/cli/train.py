"""``chainrule train``: train a registered model on a registered dataset."""
import argparse
import os
import time

import numpy as np

import chainrule as cr
from chainrule import models
from chainrule.cli.common import (EXIT_FAILED, EXIT_OK, UsageError, hidden_sizes, load_data,
                                  nonneg_float, positive_float, positive_int)
from chainrule.train import callbacks as C
from chainrule.train.checkpoint import load_checkpoint
from chainrule.train.factory import OPTIMIZERS, SCHEDULERS, make_loss, make_optimizer, \
    make_scheduler
from chainrule.train.recipes import get_recipe, start_at_mean
from chainrule.train.trainer import Trainer, TrainingDiverged
from chainrule.cli import train_lm

__all__ = ["add_parser", "run"]

DEFAULT_DATA = "digits"
# hyper-parameters and their fallbacks when neither the flag, the resumed run nor
# the dataset recipe sets them
HYPER = {"epochs": 10, "batch_size": 64, "lr": 0.1, "optimizer": "sgd", "momentum": 0.0,
         "weight_decay": 0.0, "scheduler": "none", "seed": 0, "clip_grad_norm": None,
         "label_smoothing": 0.0, "val_fraction": None, "augment": False}
MODEL_ARGS = ("hidden_sizes", "activation", "dropout", "init", "width")


def add_parser(sub):
    p = sub.add_parser("train", help="train a registered model on a registered dataset",
                       description="Train MODEL (default: the dataset's default, an MLP for "
                       "digits) on --data (default: digits, shipped with chainrule). "
                       "Unset options come from the resumed checkpoint, then from the "
                       "dataset's recipe.")
    p.add_argument("model", nargs="?", help="registered model (see `chainrule models`)")
    p.add_argument("--data", help=f"registered dataset (default {DEFAULT_DATA})")
    p.add_argument("--epochs", type=positive_int, help="total number of epochs")
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=positive_float, help="learning rate (peak lr for onecycle)")
    p.add_argument("--optimizer", choices=OPTIMIZERS)
    p.add_argument("--momentum", type=nonneg_float, help="for sgd and rmsprop")
    p.add_argument("--weight-decay", type=nonneg_float)
    p.add_argument("--scheduler", choices=SCHEDULERS)
    p.add_argument("--label-smoothing", type=nonneg_float, help="classification only")
    p.add_argument("--seed", type=int, help="makes the run repeatable bit for bit (default 0)")
    p.add_argument("--out", help="output folder (default runs/<model>-<data>, or the "
                   "resumed checkpoint's folder)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue a run from its checkpoint")
    p.add_argument("--clip-grad-norm", type=positive_float, help="clip the gradient norm")
    p.add_argument("--patience", type=positive_int,
                   help="stop when the monitored value has not improved for N epochs")
    p.add_argument("--monitor", help="history column for best.ckpt and early stopping "
                   "(default val_<main metric>)")
    p.add_argument("--val-fraction", type=nonneg_float,
                   help="hold out this part of the training data for validation")
    p.add_argument("--hidden-sizes", type=hidden_sizes, help="e.g. 256,128 (MLPs)")
    p.add_argument("--activation", help="relu, tanh, sigmoid, gelu, ... (MLPs)")
    p.add_argument("--dropout", type=nonneg_float, help="dropout probability (MLPs)")
    p.add_argument("--init", help="auto, kaiming, xavier, normal or default (MLPs)")
    p.add_argument("--width", type=positive_int, help="channels of the first stage "
                   "(resnet*, dilated_context)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="train on randomly cropped (and, where it fits, flipped) images")
    p.add_argument("--finetune", metavar="CHECKPOINT", help="start from the weights of "
                   "another run (those whose names and shapes fit); the classifier head "
                   "is new, sized for --data's classes")
    p.add_argument("--freeze-backbone", action="store_true",
                   help="with --finetune: train only the classifier head")
    p.add_argument("--backbone-lr-mult", type=nonneg_float, default=None,
                   help="with --finetune: the backbone's learning rate is lr times this "
                   "(default 0.1; the head uses lr)")
    p.add_argument("--num-workers", type=int, default=0, help="data loading threads")
    p.add_argument("--target", type=float, help="exit with code 1 unless the final main "
                   "metric reaches this value (>= for accuracy, <= for errors)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    train_lm.add_arguments(p)
    p.set_defaults(func=run)
    return p


def _resolve(args):
    """Model and data names, hyper-parameters, model arguments and the checkpoint
    being resumed (its stored settings fill what the command line leaves unset)."""
    prev = {}
    if args.resume:
        meta = load_checkpoint(args.resume).get("meta") or {}
        prev = dict(meta.get("train_args") or {})
        for key, given in (("model", args.model), ("dataset", args.data)):
            if given and meta.get(key) and given != meta[key]:
                raise UsageError(f"--resume {args.resume} holds a {meta[key]!r} run, "
                                 f"not {given!r}")
        prev.update({"model": meta.get("model"), "dataset": meta.get("dataset")})
    source = {}
    if args.finetune:
        if args.resume:
            raise UsageError("--finetune starts a new run; it does not go with --resume")
        source = load_checkpoint(args.finetune).get("meta") or {}
    elif args.freeze_backbone or args.backbone_lr_mult is not None:
        if not prev.get("finetune"):
            raise UsageError("--freeze-backbone and --backbone-lr-mult need --finetune")
    data = args.data or prev.get("dataset") or DEFAULT_DATA
    recipe = get_recipe(data)
    model = (args.model or prev.get("model") or source.get("model")
             or recipe.defaults["model"])
    models.model_info(model)  # unknown name -> suggestion
    models.check_task(model, recipe.task, data)
    defaults = recipe.defaults_for(model)
    cfg = {}
    for key, fallback in HYPER.items():
        given = getattr(args, key)
        cfg[key] = given if given is not None else prev.get(key, defaults.get(key, fallback))
    params = models.model_info(model)["parameters"]
    margs = {}
    for key in MODEL_ARGS:
        given = getattr(args, key)
        if given is not None and key not in params:
            raise UsageError(f"model {model!r} has no {key.replace('_', '-')} option "
                             f"(it takes: {', '.join(params)})")
        value = given if given is not None else prev.get("model_args", {}).get(
            key, defaults.get(key))
        if value is not None and key in params:
            margs[key] = tuple(value) if key == "hidden_sizes" else value
    if cfg["label_smoothing"] and recipe.task != "classification":
        raise UsageError("--label-smoothing only applies to classification")
    if args.finetune:
        if source.get("model") and source["model"] != model:
            print(f"note: {args.finetune} holds a {source['model']!r} model; loading the "
                  f"weights that fit into {model!r}")
        else:  # keep the source's architecture options (width...), not its data sizes
            kept = {k: v for k, v in (source.get("model_kwargs") or {}).items()
                    if k not in ("input_shape", "in_features", "num_classes", "out_features")}
            margs = {**kept, **margs}
        cfg["finetune"] = {"from": os.path.abspath(args.finetune),
                           "freeze_backbone": bool(args.freeze_backbone),
                           "backbone_lr_mult": 0.1 if args.backbone_lr_mult is None
                           else args.backbone_lr_mult}
    elif prev.get("finetune"):
        cfg["finetune"] = prev["finetune"]
    return model, data, recipe, cfg, margs


def _param_groups(model, cfg, args):
    """The optimizer's parameters: all of them, or for fine-tuning the backbone (at a
    smaller lr, or frozen) and the head, after loading the source run's weights."""
    ft = cfg.get("finetune")
    if not ft:
        return model.parameters()
    if args.finetune:
        loaded, skipped = models.load_matching(model, load_checkpoint(args.finetune)["model"])
        if not loaded:
            raise UsageError(f"--finetune {args.finetune}: none of its weights fit "
                             f"this model")
        print(f"fine-tuning from {args.finetune}: loaded {len(loaded)} tensors; new head "
              f"{models.finetune.head_name(model)!r}"
              + (f"; skipped {', '.join(skipped)}" if skipped else ""))
    return models.finetune_param_groups(model, cfg["lr"], ft["backbone_lr_mult"],
                                        ft["freeze_backbone"])


def _lm_data(args):
    """The text corpus when this is a language-model run (see cli/train_lm.py), else None."""
    from chainrule.train.lm_recipes import is_lm_data
    data = args.data
    if data is None and args.resume:
        data = (load_checkpoint(args.resume).get("meta") or {}).get("dataset")
    if data is not None:
        return data if is_lm_data(data) else None
    if args.model and models.model_info(args.model)["task"] == "language_model":
        return "timemachine"
    return None


def run(args):
    lm_data = _lm_data(args)
    if lm_data is not None:
        return train_lm.run(args, lm_data)
    model_name, data, recipe, cfg, margs = _resolve(args)
    out = args.out or (os.path.dirname(os.path.abspath(args.resume)) if args.resume else
                       os.path.join("runs", f"{model_name}-{data}"))
    cr.manual_seed(cfg["seed"])
    np.random.seed(cfg["seed"])
    bundle = load_data(data, batch_size=cfg["batch_size"], val_fraction=cfg["val_fraction"],
                       num_workers=args.num_workers, augment=bool(cfg["augment"]))
    kwargs = {**models.data_kwargs(model_name, bundle.input_shape, recipe.task,
                                   bundle.num_outputs), **margs}
    model = models.get_model(model_name, **kwargs)
    if recipe.task == "regression":
        start_at_mean(model, bundle.train_targets)
    optimizer = make_optimizer(cfg["optimizer"], _param_groups(model, cfg, args), cfg["lr"],
                               cfg["momentum"], cfg["weight_decay"])
    scheduler = make_scheduler(cfg["scheduler"], optimizer, cfg["epochs"],
                               len(bundle.train_loader))
    split = "val" if bundle.val_loader is not None else "train"
    monitor = args.monitor or f"{split}_{recipe.primary}"
    meta = {"model": model_name, "model_kwargs": kwargs, "dataset": data, "task": recipe.task,
            "input_shape": list(bundle.input_shape), "classes": bundle.classes,
            "train_args": {**cfg, "model_args": margs}, "chainrule": cr.__version__}
    cbs = [C.ProgressBar(False if args.no_progress else None, not args.quiet),
           C.ModelCheckpoint(out, monitor), C.HistoryWriter(out),
           C.CurvePlotter(os.path.join(out, "curves.png"))]
    if args.patience:
        cbs.append(C.EarlyStopping(monitor, args.patience))
    trainer = Trainer(model, make_loss(recipe.task, cfg["label_smoothing"]), optimizer,
                      scheduler, recipe.metrics, cfg["clip_grad_norm"], cbs, meta=meta)
    if args.resume:
        trainer.resume(args.resume)
        print(f"resuming {model_name} on {data} from {args.resume} after epoch {trainer.epoch}")
    else:
        n_params = sum(p.numel() for p in model.parameters())
        print(f"training {model_name} ({n_params:,} parameters) on {data}: "
              f"{len(bundle.train_loader.dataset)} training samples, {cfg['epochs']} epochs, "
              f"{cfg['optimizer']} lr {cfg['lr']:g}, batch {cfg['batch_size']}, "
              f"seed {cfg['seed']}")
    if monitor not in _columns(recipe, bundle):
        raise UsageError(f"--monitor {monitor!r} is not a history column; choose from "
                         f"{', '.join(_columns(recipe, bundle))}")
    t0 = time.perf_counter()
    try:
        trainer.fit(bundle.train_loader, bundle.val_loader, cfg["epochs"])
    except TrainingDiverged as e:
        print(f"chainrule train: {e}")
        return EXIT_FAILED
    return _report(trainer, bundle, recipe, out, time.perf_counter() - t0, args.target)


def _columns(recipe, bundle):
    cols = ["train_loss"] + [f"train_{m}" for m in recipe.metric_names]
    if bundle.val_loader is not None:
        cols += ["val_loss"] + [f"val_{m}" for m in recipe.metric_names]
    return cols


def _report(trainer, bundle, recipe, out, seconds, target):
    """Print the final metrics and where the files are; the exit code."""
    loader, split = ((bundle.test_loader, "test") if bundle.test_loader is not None else
                     (bundle.val_loader, "test" if recipe.test_split else "validation"))
    final = trainer.evaluate(loader) if loader is not None else {}
    shown = "  ".join(f"{k} {v:.4f}" for k, v in final.items())
    print(f"final {split} metrics ({trainer.epoch} epochs, {seconds:.1f}s): {shown}")
    print(f"wrote {out}/last.ckpt, best.ckpt, history.csv, history.json, curves.png")
    value = final.get(recipe.primary)
    if target is not None and value is not None:
        ok = value >= target if recipe.primary_mode == "max" else value <= target
        if not ok:
            print(f"chainrule train: {split} {recipe.primary} {value:.4f} misses the target "
                  f"{target}")
            return EXIT_FAILED
    return EXIT_OK
