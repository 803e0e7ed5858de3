"""``chainrule train``: train a registered model on a registered dataset or text corpus.

The command only turns its flags into a :class:`~chainrule.train.RunConfig` (which
checks every value) and calls :func:`chainrule.train.train`; language-model flags are
in ``cli/train_lm.py``.
"""
import argparse
import os
import shutil
import subprocess
import sys

from chainrule.cli import generative, train_lm, translation
from chainrule.cli.common import EXIT_FAILED, EXIT_OK, UsageError, hidden_sizes
from chainrule.train.config import (DEFAULT_DATA, LM_MODEL_ARGS, MODEL_ARGS, NMT_MODEL_ARGS,
                                    ConfigError, RunConfig)
from chainrule.train.factory import OPTIMIZERS, SCHEDULERS
from chainrule.train.run import train
from chainrule.train.trainer import TrainingDiverged

__all__ = ["add_parser", "run", "config_from_args"]

# flags copied into RunConfig fields of the same name
FIELDS = ("model", "data", "epochs", "batch_size", "lr", "optimizer", "momentum",
          "weight_decay", "scheduler", "label_smoothing", "seed", "clip_grad_norm",
          "val_fraction", "augment", "num_steps", "batch_mode", "max_tokens", "max_examples", "bucket",
          "resume",
          "finetune", "freeze_backbone", "backbone_lr_mult", "patience", "monitor",
          "num_workers", "target", "out", "overwrite", "compile", "amp")


def add_parser(sub):
    p = sub.add_parser("train", help="train a registered model on a registered dataset",
                       description="Train MODEL (default: the dataset's default, an MLP for "
                       "digits) on --data (default: digits, shipped with chainrule). "
                       "Unset options come from the resumed checkpoint, then from the "
                       "dataset's recipe.")
    p.add_argument("model", nargs="?", help="registered model (see `chainrule models`)")
    p.add_argument("--data", help=f"registered dataset (default {DEFAULT_DATA})")
    p.add_argument("--epochs", type=int, help="total number of epochs")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="learning rate (peak lr for onecycle)")
    p.add_argument("--optimizer", help=", ".join(OPTIMIZERS))
    p.add_argument("--momentum", type=float, help="for sgd and rmsprop")
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--scheduler", help=", ".join(SCHEDULERS))
    p.add_argument("--label-smoothing", type=float, help="classification only")
    p.add_argument("--seed", type=int, help="makes the run repeatable bit for bit (default 0)")
    p.add_argument("--out", help="output folder (default runs/<model>-<data>, or the "
                   "resumed checkpoint's folder)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue a run from its checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in "
                   "--out (without it or --resume, a folder that holds files is refused)")
    p.add_argument("--clip-grad-norm", type=float, help="clip the gradient norm")
    p.add_argument("--patience", type=int,
                   help="stop when the monitored value has not improved for N epochs")
    p.add_argument("--monitor", help="history column for best.ckpt and early stopping "
                   "(default val_<main metric>)")
    p.add_argument("--val-fraction", type=float,
                   help="hold out this part of the training data for validation")
    p.add_argument("--hidden-sizes", type=hidden_sizes,
                   help="e.g. 256,128 (MLPs, autoencoders); dcgan: one width, e.g. 1024")
    p.add_argument("--activation", help="relu, tanh, sigmoid, gelu, ... (MLPs)")
    p.add_argument("--dropout", type=float, help="dropout probability (MLPs)")
    p.add_argument("--init", help="auto, kaiming, xavier, normal or default (MLPs)")
    p.add_argument("--width", type=int, help="channels of the first stage "
                   "(resnet*, dilated_context)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="train on randomly cropped (and, where it fits, flipped) images")
    p.add_argument("--finetune", metavar="CHECKPOINT", help="start from the weights of "
                   "another run (those whose names and shapes fit); the classifier head "
                   "is new, sized for --data's classes")
    p.add_argument("--freeze-backbone", action="store_true",
                   help="with --finetune: train only the classifier head")
    p.add_argument("--backbone-lr-mult", type=float, default=None,
                   help="with --finetune: the backbone's learning rate is lr times this "
                   "(default 0.1; the head uses lr)")
    p.add_argument("--num-workers", type=int, default=0, help="data loading threads")
    p.add_argument("--compile", action="store_true", help="run the model through "
                   "chainrule.compile (captured once, replayed as a plan)")
    p.add_argument("--amp", action="store_true", help="mixed precision: float16 autocast "
                   "and loss scaling (GradScaler); docs/amp.md")
    p.add_argument("--target", type=float, help="exit with code 1 unless the final main "
                   "metric reaches this value (>= for accuracy, <= for errors)")
    p.add_argument("--nproc", type=int, metavar="N",
                   help="train data parallel on N MPI processes on this machine (starts "
                        "mpiexec; --batch-size stays the global batch).  Across machines: "
                        "mpiexec -n N -hostfile H chainrule train ...  (docs/distributed.md)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    train_lm.add_arguments(p)
    translation.add_arguments(p)
    p.set_defaults(func=run)
    return p


def config_from_args(args):
    """The :class:`~chainrule.train.RunConfig` of a parsed ``chainrule train`` command."""
    model_args = {k: getattr(args, k) for k in MODEL_ARGS + LM_MODEL_ARGS + NMT_MODEL_ARGS
                  if getattr(args, k, None) is not None}
    try:
        return RunConfig(**{k: getattr(args, k) for k in FIELDS}, model_args=model_args,
                         progress=False if args.no_progress else None,
                         verbose=not args.quiet)
    except ConfigError as e:
        raise _usage(e) from None


def _usage(e):
    """A config error in the command's terms: ``argument --lr: must be ...``."""
    flag = e.field.split(".")[-1].replace("_", "-")
    return UsageError(f"argument {'MODEL' if flag == 'model' else '--' + flag}: {e.reason}")


def _mpi_world():
    """The size of the MPI job this process was started in (None outside one)."""
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_SIZE"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return None


def _launch(n):
    """``mpiexec -n N python -m chainrule <this command line>``; returns its exit code."""
    exe = shutil.which("mpiexec")
    if exe is None:
        raise UsageError("argument --nproc: needs mpiexec (pip install mpi4py mpich, or a "
                         "system MPI)")
    argv = sys.argv[1:]
    if "train" not in argv:
        raise UsageError("argument --nproc: start the run from the command line "
                         "(chainrule train ... --nproc N)")
    return subprocess.call([exe, "-n", str(n), sys.executable, "-m", "chainrule"] + argv)


def run(args):
    if args.model in generative.COMMANDS:  # vae, dae, rbm, dcgan...: their own loops
        return generative.run_train(args)
    if args.model in _generative_models():  # a registry name such as 'autoencoder'
        raise UsageError(f"{args.model!r} is a generative model: train it with `chainrule "
                         f"train {'|'.join(generative.COMMANDS)} --data mnist`")
    nproc, world = getattr(args, "nproc", None), _mpi_world()
    if nproc is not None and nproc < 1:
        raise UsageError(f"argument --nproc: must be >= 1, got {nproc}")
    if nproc and nproc > 1 and world is None:
        return _launch(nproc)
    if not world or world == 1:
        return _run(args)
    from chainrule import distributed as dist
    dist.init_process_group("mpi")
    rank = dist.get_rank()
    if rank > 0:                   # one rank speaks: rank 0
        sys.stdout = open(os.devnull, "w")
    try:
        code = _run(args)
    except BaseException as e:     # noqa: B902 - any failure ends every rank
        print(f"chainrule train: rank {rank} of {world}: {type(e).__name__}: {e}; "
              f"aborting the job", file=sys.stderr, flush=True)
        dist.abort(1)
        raise
    if code != EXIT_OK:
        dist.abort(code)
    dist.barrier()
    return code


def _generative_models():
    from chainrule import models
    return models.list_models("generative")


def _run(args):
    cfg = config_from_args(args)
    try:
        result = train(cfg)
    except ConfigError as e:
        raise _usage(e) from None
    except TrainingDiverged as e:
        print(f"chainrule train: {e}", file=sys.stderr)
        return EXIT_FAILED
    if result.target_met is False:
        print(f"chainrule train: {result.target_miss}")
        return EXIT_FAILED
    return EXIT_OK
