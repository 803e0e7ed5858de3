"""Train a registered classifier on a registered dataset with its recipe and report
test accuracy against a bar: the shared body of the classification examples.

    python examples/classify.py --data fashion_mnist --model mlp --bar 0.87

Every hyper-parameter is printed; pass ``--set key=value`` to override one
(``epochs=5``, ``lr=0.01``, ``hidden_sizes=512,256``...).  Data come from
``$CHAINRULE_DATA`` (e.g. ``export CHAINRULE_DATA=../shared/data``).
"""
import argparse
import json
import sys
import time

import numpy as np

import chainrule as cr
from chainrule import models
from chainrule.train import Trainer, ProgressBar
from chainrule.train.factory import make_loss, make_optimizer, make_scheduler
from chainrule.train.recipes import get_recipe, prepare_data

MODEL_KEYS = ("hidden_sizes", "activation", "dropout", "init", "width")


def train_and_test(data, model_name, seed=0, progress=None, **overrides):
    """Train with the dataset recipe's defaults (plus ``overrides``); return
    ``(test metrics, history, seconds)``."""
    recipe = get_recipe(data)
    hp = {**recipe.defaults_for(model_name), **overrides}
    cr.manual_seed(seed)
    np.random.seed(seed)
    bundle = prepare_data(data, batch_size=hp["batch_size"], num_workers=hp.get("workers", 0),
                          augment=bool(hp.get("augment", False)))
    params = models.model_info(model_name)["parameters"]
    kw = {k: hp[k] for k in MODEL_KEYS if k in hp and k in params}
    kw.update(models.data_kwargs(model_name, bundle.input_shape, recipe.task,
                                 bundle.num_outputs))
    model = models.get_model(model_name, **kw)
    opt = make_optimizer(hp["optimizer"], model.parameters(), hp["lr"], hp.get("momentum", 0),
                         hp.get("weight_decay", 0))
    sched = make_scheduler(hp.get("scheduler", "none"), opt, hp["epochs"],
                           len(bundle.train_loader))
    loss = make_loss(recipe.task, hp.get("label_smoothing", 0.0))
    shown = {k: v for k, v in hp.items() if k != "model" and (k not in MODEL_KEYS or k in kw)}
    print(f"{model_name} on {data}: {json.dumps({**shown, **kw, 'seed': seed}, default=str)}")
    trainer = Trainer(model, loss, opt, sched, recipe.metrics,
                      callbacks=[ProgressBar(progress)])
    t0 = time.perf_counter()
    hist = trainer.fit(bundle.train_loader, bundle.val_loader, hp["epochs"])
    test = trainer.evaluate(bundle.test_loader or bundle.val_loader)
    return test, hist, time.perf_counter() - t0


def _value(text):
    if "," in text:
        return tuple(int(t) for t in text.split(",") if t)
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--bar", type=float, required=True, help="test accuracy to reach")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    overrides = dict((k, _value(v)) for k, v in (s.split("=", 1) for s in args.set))
    ok = True
    for seed in args.seeds:
        test, hist, secs = train_and_test(args.data, args.model, seed,
                                          False if args.no_progress else None, **overrides)
        acc = test["acc"]
        ok &= acc >= args.bar
        print(f"RESULT {args.model} on {args.data} seed {seed}: test acc {acc:.4f} "
              f"(bar {args.bar}: {'met' if acc >= args.bar else 'MISSED'}), "
              f"{len(hist)} epochs in {secs:.1f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
