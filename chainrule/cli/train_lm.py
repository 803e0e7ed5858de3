"""``chainrule train`` for language models (``chainrule train lstm-lm --data timemachine``).

``chainrule/cli/train.py`` hands a run over here when ``--data`` is a text corpus
(timemachine, jaychou, ptb, wikitext2).  Perplexity per epoch, gradient clipping,
the hidden state reset per batch (``--batch-mode random``) or carried and detached
(``sequential``, truncated BPTT); checkpoints hold the vocabulary, so
``chainrule generate CHECKPOINT`` needs nothing else.
"""
import os
import time

import numpy as np

import chainrule as cr
from chainrule import models
from chainrule.cli.common import EXIT_FAILED, EXIT_OK, UsageError, nonneg_float, positive_int
from chainrule.train import callbacks as C
from chainrule.train.checkpoint import load_checkpoint
from chainrule.train.factory import make_optimizer, make_scheduler
from chainrule.train.lm import LMTrainer
from chainrule.train.lm_recipes import get_lm_recipe, prepare_lm_data
from chainrule.train.trainer import TrainingDiverged

__all__ = ["add_arguments", "run"]

HYPER = ("epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "scheduler",
         "seed", "clip_grad_norm", "num_steps", "batch_mode", "max_tokens")
MODEL_ARGS = ("hidden_size", "num_layers", "embed_size", "dropout", "tie_weights",
              "init_range", "channels", "num_blocks")
FALLBACK = {"momentum": 0.0, "weight_decay": 0.0, "seed": 0, "scheduler": "none",
            "max_tokens": None}


def add_arguments(p):
    """The language-model options of ``chainrule train``."""
    g = p.add_argument_group("language models (--data timemachine|jaychou|ptb|wikitext2)")
    g.add_argument("--num-steps", type=positive_int, help="tokens per sequence (BPTT length)")
    g.add_argument("--batch-mode", choices=("random", "sequential"),
                   help="random sampling (state reset per batch) or sequential "
                   "partitioning (state carried, detached)")
    g.add_argument("--hidden-size", type=positive_int, help="recurrent units")
    g.add_argument("--num-layers", type=positive_int, help="stacked recurrent layers")
    g.add_argument("--embed-size", type=int, help="embedding width (0: one-hot)")
    g.add_argument("--tie-weights", action="store_true", default=None,
                   help="share decoder and embedding weights")
    g.add_argument("--max-tokens", type=int, help="train on the first N tokens")
    g.add_argument("--channels", type=positive_int, help="wavenet-lm residual channels")
    g.add_argument("--num-blocks", type=positive_int, help="wavenet-lm dilation stacks")
    g.add_argument("--init-range", type=nonneg_float, help="U(-r, r) initialization")


def _scheduler(name, optimizer, epochs):
    from chainrule.optim import lr_scheduler as S
    if name == "zaremba":   # x0.5 per epoch after epoch 4
        return S.LambdaLR(optimizer, lambda e: 0.5 ** max(e + 1 - 4, 0))
    if name == "plateau4":  # PyTorch word_language_model: lr / 4 when val stops improving
        return S.ReduceLROnPlateau(optimizer, mode="min", factor=0.25, patience=0)
    return make_scheduler(name, optimizer, epochs, 1)


def _resolve(args, data):
    recipe = get_lm_recipe(data)
    prev = {}
    if args.resume:
        meta = load_checkpoint(args.resume).get("meta") or {}
        prev = dict(meta.get("train_args") or {})
        prev["model"] = meta.get("model")
    model = args.model or prev.get("model") or recipe.defaults["model"]
    models.check_task(model, "language_model", data)
    d = recipe.defaults
    cfg = {k: (getattr(args, k) if getattr(args, k, None) is not None
               else prev.get(k, d.get(k, FALLBACK.get(k)))) for k in HYPER}
    if model.endswith("-bilm") and args.batch_mode is None:
        cfg["batch_mode"] = "random"  # a carried backward state would come from the past
    params = models.model_info(model)["parameters"]
    margs = {}
    for k in MODEL_ARGS:
        given = getattr(args, k, None)
        if given is not None and k not in params:
            raise UsageError(f"model {model!r} has no {k.replace('_', '-')} option "
                             f"(it takes: {', '.join(params)})")
        v = given if given is not None else prev.get("model_args", {}).get(k, d.get(k))
        if v is not None and k in params:
            margs[k] = v
    return model, recipe, cfg, margs


def run(args, data):
    model_name, recipe, cfg, margs = _resolve(args, data)
    out = args.out or (os.path.dirname(os.path.abspath(args.resume)) if args.resume else
                       os.path.join("runs", f"{model_name}-{data}"))
    cr.manual_seed(cfg["seed"])
    np.random.seed(cfg["seed"])
    try:
        lm = prepare_lm_data(data, cfg["batch_size"], cfg["num_steps"], cfg["batch_mode"],
                             cfg["max_tokens"], seed=cfg["seed"])
    except (RuntimeError, OSError) as e:
        raise UsageError(f"can't load corpus {data!r}: {e}") from None
    kwargs = {"vocab_size": len(lm.vocab), **margs}
    model = models.get_model(model_name, **kwargs)
    optimizer = make_optimizer(cfg["optimizer"], model.parameters(), cfg["lr"],
                               cfg["momentum"], cfg["weight_decay"])
    scheduler = _scheduler(cfg["scheduler"], optimizer, cfg["epochs"])
    monitor = args.monitor or ("val_ppl" if lm.val_loader is not None else "train_ppl")
    meta = {"model": model_name, "model_kwargs": kwargs, "dataset": lm.name,
            "task": "language_model", "token": recipe.token, "vocab": lm.vocab.state_dict(),
            "train_args": {**cfg, "model_args": margs}, "chainrule": cr.__version__}
    cbs = [C.ProgressBar(False if args.no_progress else None, not args.quiet),
           C.ModelCheckpoint(out, monitor), C.HistoryWriter(out),
           C.CurvePlotter(os.path.join(out, "curves.png"))]
    if args.patience:
        cbs.append(C.EarlyStopping(monitor, args.patience))
    trainer = LMTrainer(model, optimizer, scheduler, ("ppl",), cfg["clip_grad_norm"], cbs,
                        meta=meta)
    if args.resume:
        trainer.resume(args.resume)
        print(f"resuming {model_name} on {data} from {args.resume} after epoch {trainer.epoch}")
    else:
        n = sum(p.numel() for p in model.parameters())
        print(f"training {model_name} ({n:,} parameters) on {lm.name} ({recipe.token} level, "
              f"vocab {len(lm.vocab)}): {len(lm.train_loader)} batches of "
              f"{cfg['batch_size']}x{cfg['num_steps']} ({cfg['batch_mode']}), "
              f"{cfg['epochs']} epochs, {cfg['optimizer']} lr {cfg['lr']:g}, "
              f"clip {cfg['clip_grad_norm']}, seed {cfg['seed']}")
    t0 = time.perf_counter()
    try:
        trainer.fit(lm.train_loader, lm.val_loader, cfg["epochs"])
    except TrainingDiverged as e:
        print(f"chainrule train: {e}")
        return EXIT_FAILED
    final = trainer.evaluate(lm.test_loader) if lm.test_loader is not None else \
        {"ppl": trainer.history[-1]["train_ppl"]}
    split = "test" if lm.test_loader is not None else "train"
    print(f"final {split} perplexity ({trainer.epoch} epochs, {time.perf_counter() - t0:.1f}s):"
          f" {final['ppl']:.3f}")
    print(f"wrote {out}/last.ckpt, best.ckpt, history.csv, history.json, curves.png")
    if args.target is not None and not final["ppl"] <= args.target:
        print(f"chainrule train: {split} perplexity {final['ppl']:.3f} misses the target "
              f"{args.target}")
        return EXIT_FAILED
    return EXIT_OK


def run_eval(args, model, ckpt):
    """``chainrule eval`` of a language-model checkpoint: perplexity on the test split
    (PTB, WikiText-2) or on the training text (character corpora), encoded with the
    checkpoint's vocabulary, read sequentially with the state carried."""
    from chainrule.text.batching import LMDataLoader
    from chainrule.text.corpora import get_corpus_class
    from chainrule.text.vocab import Vocab
    from chainrule.train.lm import evaluate_lm
    meta = ckpt["meta"]
    data = args.data or meta.get("dataset")
    recipe = get_lm_recipe(data)
    split = "test" if "test" in recipe.splits else "train"
    mt = (meta.get("train_args") or {}).get("max_tokens")
    mt = recipe.max_tokens if mt is None else mt
    try:
        c = get_corpus_class(data)(split=split, token=recipe.token, vocab=Vocab.from_state_dict(
            meta["vocab"]), max_tokens=mt if split == "train" else -1)
    except (RuntimeError, OSError) as e:
        raise UsageError(f"can't load corpus {data!r}: {e}") from None
    loader = LMDataLoader(c.corpus, min(10, max(1, len(c.corpus) // 40)), 35,
                          mode="sequential", shuffle_offset=False)
    ppl = evaluate_lm(model, loader, carry_state=getattr(model, "causal", True))
    print(f"{meta['model']} on {data} ({split}, {loader.num_tokens} tokens, epoch "
          f"{ckpt['epoch']}): ppl {ppl:.4f}")
    return EXIT_OK
