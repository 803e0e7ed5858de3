"""One run configuration: :class:`RunConfig`.

A ``RunConfig`` names what to train (a registered model on a registered dataset or
text corpus) and how (hyper-parameters, output folder, resume, fine-tuning, early
stopping).  Every setting is checked here, in one place, when the config is made:
an error names the field and the value.  Fields left ``None`` are *unset*:
:meth:`RunConfig.resolved` fills them from the checkpoint being resumed, then from
the data's recipe (``chainrule/train/recipes.py``, ``lm_recipes.py``), then from
``FALLBACK``.  :func:`chainrule.train.run.train` builds and trains the run;
``chainrule train`` only turns its flags into a ``RunConfig``.

>>> cfg = RunConfig(data="digits", epochs=2, model_args={"hidden_sizes": (32,)})
>>> r = cfg.resolved()
>>> (r.model, r.epochs, r.lr, r.optimizer, r.scheduler)
('mlp', 2, 0.1, 'sgd', 'cosine')
>>> RunConfig(lr=-1)
Traceback (most recent call last):
...
chainrule.train.config.ConfigError: RunConfig.lr: must be a positive number, got -1
"""
import dataclasses
import math
import numbers
import os

from chainrule import models
from chainrule.data import datasets
from chainrule.text.corpora import get_corpus_class
from chainrule.train.checkpoint import CheckpointError, load_checkpoint
from chainrule.train.factory import OPTIMIZERS, SCHEDULERS
from chainrule.train.lm_recipes import get_lm_recipe, is_lm_data
from chainrule.train.nmt_recipes import DEFAULT_NMT_MODEL, NMT_DATA, get_nmt_recipe, is_nmt_data
from chainrule.train.recipes import get_recipe
from chainrule.utils.errors import suggest

__all__ = ["RunConfig", "ConfigError", "FALLBACK", "HYPER", "LM_HYPER", "NMT_HYPER",
           "MODEL_ARGS", "LM_MODEL_ARGS", "NMT_MODEL_ARGS", "DEFAULT_DATA", "DEFAULT_LM_DATA"]

DEFAULT_DATA = "digits"          # classifiers (and regressors) when no data is named
DEFAULT_LM_DATA = "timemachine"  # language models when no data is named
# the hyper-parameters of each kind of run, in the order stored in checkpoints
HYPER = ("epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "scheduler",
         "seed", "clip_grad_norm", "label_smoothing", "val_fraction", "augment")
LM_HYPER = ("epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay",
            "scheduler", "seed", "clip_grad_norm", "num_steps", "batch_mode", "max_tokens")
NMT_HYPER = ("epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay",
             "scheduler", "seed", "clip_grad_norm", "num_steps", "max_examples", "bucket",
             "val_fraction")
# what a hyper-parameter is when neither the config, the resumed run nor the recipe sets it
FALLBACK = {"epochs": 10, "batch_size": 64, "lr": 0.1, "optimizer": "sgd", "momentum": 0.0,
            "weight_decay": 0.0, "scheduler": "none", "seed": 0, "clip_grad_norm": None,
            "label_smoothing": 0.0, "val_fraction": None, "augment": False,
            "max_tokens": None, "bucket": False}
# model options that recipes and resumed runs fill in (given ones may be any option)
MODEL_ARGS = ("hidden_sizes", "activation", "dropout", "init", "width")
LM_MODEL_ARGS = ("hidden_size", "num_layers", "embed_size", "dropout", "tie_weights",
                 "init_range", "channels", "num_blocks")
NMT_MODEL_ARGS = ("embed_size", "hidden_size", "num_layers", "dropout", "ffn_hidden_size",
                  "num_heads")
BATCH_MODES = ("random", "sequential")
_LM_ONLY = ("num_steps", "batch_mode", "max_tokens")
_NMT_ONLY = ("max_examples", "bucket")
_CLS_ONLY = ("label_smoothing", "val_fraction", "augment")


class ConfigError(ValueError):
    """A bad :class:`RunConfig` setting; ``field`` names it (``'lr'``,
    ``'model_args.hidden_sizes'``) and ``reason`` says what is wrong with it."""

    def __init__(self, field, reason):
        self.field, self.reason = field, reason
        super().__init__(f"RunConfig.{field}: {reason}")


# field -> (check, what a good value is); a check gets the value (never None)
def _number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _whole(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


_CHECKS = {
    "epochs": (lambda v: _whole(v) and v >= 1, "must be >= 1"),
    "batch_size": (lambda v: _whole(v) and v >= 1, "must be >= 1"),
    "lr": (lambda v: _number(v) and v > 0, "must be a positive number"),
    "momentum": (lambda v: _number(v) and v >= 0, "must be >= 0"),
    "weight_decay": (lambda v: _number(v) and v >= 0, "must be >= 0"),
    "label_smoothing": (lambda v: _number(v) and 0 <= v < 1, "must be in [0, 1)"),
    "seed": (lambda v: _whole(v) and 0 <= v < 2 ** 32, "must be a whole number in "
             "[0, 2**32)"),
    "clip_grad_norm": (lambda v: _number(v) and v > 0, "must be a positive number"),
    "val_fraction": (lambda v: _number(v) and 0 <= v < 1, "must be in [0, 1)"),
    "augment": (lambda v: isinstance(v, bool), "must be True or False"),
    "bucket": (lambda v: isinstance(v, bool), "must be True or False"),
    "num_steps": (lambda v: _whole(v) and v >= 1, "must be >= 1"),
    "max_tokens": (_whole, "must be a whole number (-1: all tokens)"),
    "max_examples": (lambda v: _whole(v) and (v >= 1 or v == -1),
                     "must be >= 1 (-1: all training pairs)"),
    "patience": (lambda v: _whole(v) and v >= 1, "must be >= 1"),
    "num_workers": (lambda v: _whole(v) and v >= 0, "must be >= 0 (data loading threads; "
                    "0 loads in the main thread)"),
    "backbone_lr_mult": (lambda v: _number(v) and v >= 0, "must be >= 0"),
    "target": (_number, "must be a number"),
}
# model options: the checks of the ones chainrule's own models share
_MODEL_CHECKS = {
    "width": _CHECKS["epochs"], "hidden_size": _CHECKS["epochs"],
    "num_layers": _CHECKS["epochs"], "channels": _CHECKS["epochs"],
    "num_blocks": _CHECKS["epochs"], "ffn_hidden_size": _CHECKS["epochs"],
    "num_heads": _CHECKS["epochs"],
    "embed_size": (lambda v: _whole(v) and v >= 0, "must be >= 0 (0: one-hot)"),
    "dropout": (lambda v: _number(v) and 0 <= v < 1, "must be in [0, 1)"),
    "init_range": (lambda v: _number(v) and v >= 0, "must be >= 0"),
    "hidden_sizes": (lambda v: all(_whole(h) and h >= 1 for h in v),
                     "must be layer widths >= 1"),
}
_NAMES = {"optimizer": (OPTIMIZERS, "optimizer"), "scheduler": (SCHEDULERS, "scheduler"),
          "batch_mode": (BATCH_MODES, "batch mode")}


@dataclasses.dataclass
class RunConfig:
    """Everything a training run needs; ``None`` means "unset" (see :meth:`resolved`).

    Args:
        model: registered model name (``chainrule.models.list_models()``).
        data: registered dataset (``digits``, ``mnist``...) or text corpus
            (``timemachine``, ``ptb``...), which makes this a language-model run.
        model_args: model options, e.g. ``{"hidden_sizes": (256,), "dropout": 0.3}``.
        epochs, batch_size, lr, optimizer, momentum, weight_decay, scheduler, seed,
        clip_grad_norm: the usual hyper-parameters (``lr`` is the peak for onecycle).
        label_smoothing, val_fraction, augment: classification / dataset runs only.
        num_steps, batch_mode, max_tokens: language-model runs only (``num_steps``
            also for translation: the length of padded/truncated sentences).
        max_examples: translation runs (``data='fra-eng'``): train on the first N
            training pairs (-1: all); ``bucket``: batches of pairs of similar length,
            each cut to its longest pair (d2l pads every pair to ``num_steps``).
        out: output folder (default ``runs/<model>-<data>``, or the resumed run's).
        resume: checkpoint to continue from; its settings fill the unset fields.
        overwrite: replace the run in ``out`` (without it or ``resume``, a folder that
            holds files is refused: see ``chainrule/train/runfolder.py``).
        finetune, freeze_backbone, backbone_lr_mult: start from another run's weights.
        patience, monitor: early stopping and the column that picks ``best.ckpt``.
        num_workers: data loading threads.
        target: the final main metric must reach this (``RunResult.target_met``).
        progress: tqdm bars (``None``: on a terminal); verbose: per-epoch lines.
        metrics: meters for :func:`~chainrule.train.fit` (dataset runs use the recipe's).
        device: move batches there.
        compile: run the model through ``chainrule.compile`` (``Trainer(compile=True)``).
        amp: float16 autocast and loss scaling (``Trainer(amp=True)``, docs/amp.md).
    """
    model: str = None
    data: str = None
    model_args: dict = dataclasses.field(default_factory=dict)
    epochs: int = None
    batch_size: int = None
    lr: float = None
    optimizer: str = None
    momentum: float = None
    weight_decay: float = None
    scheduler: str = None
    seed: int = None
    clip_grad_norm: float = None
    label_smoothing: float = None
    val_fraction: float = None
    augment: bool = None
    num_steps: int = None
    batch_mode: str = None
    max_tokens: int = None
    max_examples: int = None
    bucket: bool = None
    out: str = None
    resume: str = None
    overwrite: bool = False
    finetune: str = None
    freeze_backbone: bool = False
    backbone_lr_mult: float = None
    patience: int = None
    monitor: str = None
    num_workers: int = 0
    target: float = None
    progress: bool = None
    verbose: bool = True
    metrics: tuple = None
    device: object = None
    compile: bool = False   # run the model's forward through chainrule.compile
    amp: bool = False       # float16 autocast + GradScaler (docs/amp.md)
    finetune_settings: dict = None  # filled by resolved(): {"from", "freeze_backbone", ...}

    def __post_init__(self):
        self.model_args = dict(self.model_args or {})
        for name, (check, good) in _CHECKS.items():
            value = getattr(self, name)
            if value is not None and not check(value):
                raise ConfigError(name, f"{good}, got {value!r}")
        for name, (choices, what) in _NAMES.items():
            value = getattr(self, name)
            if value is not None and value not in choices:
                raise ConfigError(name, suggest(value, choices, what))
        for name, value in self.model_args.items():
            check, good = _MODEL_CHECKS.get(name, (None, None))
            if check is not None and value is not None and not check(value):
                raise ConfigError(f"model_args.{name}", f"{good}, got {value!r}")
        if self.finetune and self.resume:
            raise ConfigError("finetune", "starts a new run; it does not go with resume")
        if self.overwrite and self.resume:
            raise ConfigError("overwrite", "replaces a run; it does not go with resume")
        if self.model is not None:
            models.model_info(self.model)  # unknown name -> UnknownNameError with suggestions

    # ------------------------------------------------------------ what kind of run
    @property
    def is_lm(self):
        """True for a language-model run (the data is a text corpus, or a language
        model is named without data)."""
        data = self.data
        if data is None and self.resume:
            data = self._resumed_meta().get("dataset")
        if data is not None:
            return is_lm_data(data)
        return bool(self.model) and models.model_info(self.model)["task"] == "language_model"

    @property
    def is_translation(self):
        """True for a translation run (``data='fra-eng'``, or a translation model named
        without data)."""
        data = self.data
        if data is None and self.resume:
            data = self._resumed_meta().get("dataset")
        if data is not None:
            return is_nmt_data(data)
        return bool(self.model) and models.model_info(self.model)["task"] == "translation"

    def _resumed_meta(self):
        return (load_checkpoint(self.resume).get("meta") or {}) if self.resume else {}

    # ------------------------------------------------------------ resolution
    def resolved(self):
        """A copy with every unset setting filled in (see the module docstring), the
        model name and options checked against the data.  Idempotent."""
        if self.is_lm:
            return _resolve_lm(self)
        return _resolve_nmt(self) if self.is_translation else _resolve_dataset(self)

    def train_args(self):
        """The hyper-parameters stored in checkpoints (``meta['train_args']``)."""
        keys = LM_HYPER if self.is_lm else NMT_HYPER if self.is_translation else HYPER
        out = {k: getattr(self, k) for k in keys}
        if keys is HYPER and self.finetune_settings is not None:
            out["finetune"] = self.finetune_settings
        out["model_args"] = dict(self.model_args)
        return out

    note = None  # set by resolved(): a line to tell the user (not a setting)

    def default_out(self):
        if self.out:
            return self.out
        if self.resume:
            return os.path.dirname(os.path.abspath(self.resume))
        return os.path.join("runs", f"{self.model}-{self.data}")


def _previous(cfg):
    """The resumed run's train_args plus its model and dataset names."""
    if not cfg.resume:
        return {}
    meta = cfg._resumed_meta()
    prev = dict(meta.get("train_args") or {})
    prev.update({"model": meta.get("model"), "dataset": meta.get("dataset")})
    _check_previous(cfg.resume, prev)
    return prev


def _check_previous(path, prev):
    """The resumed run's settings pass the same checks as given ones (a crafted or
    damaged checkpoint is named, not blamed on a flag)."""
    def bad(key, value, good):
        return CheckpointError(f"can't read checkpoint {path}: its train_args.{key} is "
                               f"{str(value)[:40]!r} ({good})")
    for key, value in prev.items():
        if key in ("model", "dataset") and value is not None and not isinstance(value, str):
            raise bad(key, value, "must be a name")
        if value is None and key in HYPER + LM_HYPER + NMT_HYPER and FALLBACK.get(key) is not None:
            raise bad(key, value, "must be set")
        check, good = (_CHECKS.get(key) or (None, None))
        if check is not None and value is not None and not check(value):
            raise bad(key, value, good)
        if key in _NAMES and value is not None and value not in _NAMES[key][0]:
            raise bad(key, value, f"one of {', '.join(_NAMES[key][0])}")
    for key, value in (prev.get("model_args") or {}).items():
        check, good = _MODEL_CHECKS.get(key, (None, None))
        if check is not None and value is not None and not _safe(check, value):
            raise bad(f"model_args.{key}", value, good)


def _safe(check, value):
    try:
        return check(value)
    except TypeError:  # e.g. hidden_sizes that is not a list
        return False


def _fill(cfg, keys, prev, defaults, fixed):
    """Each of ``keys``: the config's value, else the resumed run's, else the recipe's,
    else FALLBACK."""
    for k in keys:
        if k not in fixed:
            given = getattr(cfg, k)
            fixed[k] = given if given is not None else prev.get(
                k, defaults.get(k, FALLBACK.get(k)))
    return fixed


def _model_args(cfg, model, keys, prev, defaults):
    """Given options (each must be one of the model's) plus, for ``keys``, the
    resumed run's or the recipe's values that the model takes."""
    params = models.model_info(model)["parameters"]
    for k in cfg.model_args:
        if k not in params:
            raise ConfigError(f"model_args.{k}", f"model {model!r} has no such option "
                              f"(it takes: {', '.join(params)})")
    margs = {}
    for k in keys:
        v = prev.get("model_args", {}).get(k, defaults.get(k))
        if v is not None and k in params:
            margs[k] = v
    margs.update({k: v for k, v in cfg.model_args.items() if v is not None})
    if "hidden_sizes" in margs:
        margs["hidden_sizes"] = tuple(margs["hidden_sizes"])
    return margs


def _check_fields(cfg, kind, names):
    for k in names:
        if getattr(cfg, k) is not None:
            raise ConfigError(k, f"does not apply to {kind}, got {getattr(cfg, k)!r}")


def _check_same_run(cfg, prev):
    for field, key in (("model", "model"), ("data", "dataset")):
        given = getattr(cfg, field)
        if given and prev.get(key) and given != prev[key]:
            raise ConfigError(field, f"{cfg.resume} holds a {prev[key]!r} run, not {given!r}")


def _resolve_dataset(cfg):
    prev = _previous(cfg)
    _check_same_run(cfg, prev)
    _check_fields(cfg, "dataset runs (only to language models)", _LM_ONLY)
    _check_fields(cfg, "dataset runs (only to translation)", _NMT_ONLY)
    source = load_checkpoint(cfg.finetune).get("meta") or {} if cfg.finetune else {}
    if not cfg.finetune and (cfg.freeze_backbone or cfg.backbone_lr_mult is not None) \
            and not prev.get("finetune"):
        raise ConfigError("freeze_backbone" if cfg.freeze_backbone else "backbone_lr_mult",
                          "needs finetune (a checkpoint to start from)")
    data = datasets.canonical_name(cfg.data or prev.get("dataset") or DEFAULT_DATA)
    recipe = get_recipe(data)
    model = cfg.model or prev.get("model") or source.get("model") or recipe.defaults["model"]
    models.model_info(model)
    models.check_task(model, recipe.task, data)
    defaults = recipe.defaults_for(model)
    fixed = _fill(cfg, HYPER, prev, defaults, {})
    if fixed["val_fraction"] is None:  # recorded as a number from now on
        old = "val_fraction" in prev  # resumed run written when None meant "the test
        # split validates" for datasets that have one: keep its split
        fixed["val_fraction"] = 0.0 if old and recipe.test_split else recipe.val_fraction
    margs = _model_args(cfg, model, MODEL_ARGS, prev, defaults)
    if fixed["label_smoothing"] and recipe.task != "classification":
        raise ConfigError("label_smoothing", f"only applies to classification, got "
                          f"{fixed['label_smoothing']} for {recipe.task} data {data!r}")
    note, ft = None, prev.get("finetune")
    if cfg.finetune:
        if source.get("model") and source["model"] != model:
            note = (f"note: {cfg.finetune} holds a {source['model']!r} model; loading the "
                    f"weights that fit into {model!r}")
        else:  # keep the source's architecture options (width...), not its data sizes
            kept = {k: v for k, v in (source.get("model_kwargs") or {}).items()
                    if k not in ("input_shape", "in_features", "num_classes", "out_features")}
            margs = {**kept, **margs}
        ft = {"from": os.path.abspath(cfg.finetune), "freeze_backbone": bool(cfg.freeze_backbone),
              "backbone_lr_mult": 0.1 if cfg.backbone_lr_mult is None else cfg.backbone_lr_mult}
    out = dataclasses.replace(cfg, model=model, data=data, model_args=margs,
                              metrics=cfg.metrics or recipe.metrics, finetune_settings=ft,
                              **fixed)
    out.note = note
    return out


def _resolve_lm(cfg):
    prev = _previous(cfg)
    _check_same_run(cfg, prev)
    _check_fields(cfg, "language models", _CLS_ONLY + _NMT_ONLY)
    if cfg.finetune or cfg.freeze_backbone or cfg.backbone_lr_mult is not None:
        raise ConfigError("finetune", "fine-tuning is for dataset runs, not language models")
    data = get_corpus_class(cfg.data or prev.get("dataset") or DEFAULT_LM_DATA).name
    recipe = get_lm_recipe(data)
    model = cfg.model or prev.get("model") or recipe.defaults["model"]
    models.check_task(model, "language_model", data)
    d = recipe.defaults
    fixed = {}
    if model.endswith("-bilm") and cfg.batch_mode is None:
        fixed["batch_mode"] = "random"  # a carried backward state would come from the past
    fixed = _fill(cfg, LM_HYPER, prev, d, fixed)
    margs = _model_args(cfg, model, LM_MODEL_ARGS, prev, d)
    return dataclasses.replace(cfg, model=model, data=data, model_args=margs,
                               metrics=cfg.metrics or recipe.metrics, **fixed)


def _resolve_nmt(cfg):
    prev = _previous(cfg)
    _check_same_run(cfg, prev)
    _check_fields(cfg, "translation runs", ("label_smoothing", "augment", "batch_mode",
                                            "max_tokens"))
    if cfg.finetune or cfg.freeze_backbone or cfg.backbone_lr_mult is not None:
        raise ConfigError("finetune", "fine-tuning is for dataset runs, not translation")
    data = NMT_DATA[0]
    model = cfg.model or prev.get("model") or DEFAULT_NMT_MODEL
    models.check_task(model, "translation", data)
    d = get_nmt_recipe(model)
    fixed = _fill(cfg, NMT_HYPER, prev, d, {})
    margs = _model_args(cfg, model, NMT_MODEL_ARGS, prev, d)
    return dataclasses.replace(cfg, model=model, data=data, model_args=margs, metrics=(),
                               **fixed)
