"""The measurements behind docs/generative.md (issue #15), one experiment per argument:

    CHAINRULE_DATA=/work/shared/data nice -n 10 python examples/generative_mnist.py \
        ae-vs-dae sparse-ae metric-lenet vae score-vae dcgan dbn gan2d --out runs/generative

Each writes its run folder under --out and appends its result line to results.jsonl.
``capsnet`` trains the paper's CapsNet (``--epochs``, ``--time-limit``, ``--batch-size``
100).  ``metric-lenet`` trains the scoring classifier (``metric_lenet.ckpt`` in --out) that
``dcgan`` and ``score-vae`` use.  The RBM-vs-scikit-learn comparison has its own
command, ``benchmarks/bench_rbm_sklearn.py``.
"""
import argparse
import json
import os
import time

import numpy as np

from chainrule.train import generative as GEN
from chainrule.train import gen_metrics as GM


def _record(out, name, res):
    res = {k: v for k, v in res.items() if k != "history"}
    with open(os.path.join(out, "results.jsonl"), "a") as f:
        f.write(json.dumps({"experiment": name, **res}) + "\n")
    print(name, json.dumps(res), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("experiments", nargs="+")
    p.add_argument("--out", default="runs/generative")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--max-train", type=int, default=None)
    p.add_argument("--time-limit", type=float, default=600)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--beta", type=float, default=3.0, help="sparse AE: KL weight")
    p.add_argument("--rho", type=float, default=0.1, help="sparse AE: target activation")
    p.add_argument("--data", default="mnist")
    p.add_argument("--resume", default=None,
                   help="dcgan, capsnet: continue from this checkpoint")
    p.add_argument("--hidden", type=int, default=0,
                   help="dcgan: a fully connected layer of this width in G and D (InfoGAN's)")
    p.add_argument("--ema-decay", type=float, default=None,
                   help="dcgan: sample from an EMA of the generator's weights")
    p.add_argument("--lr", type=float, default=None, help="capsnet: Adam's lr (1e-3)")
    p.add_argument("--shift", type=int, default=0,
                   help="capsnet: random shifts of the training images by up to N pixels")
    p.add_argument("--lr-decay", type=float, default=1.0,
                   help="capsnet: lr multiplied by this every epoch")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    clf = os.path.join(a.out, "metric_lenet.ckpt")
    for e in a.experiments:
        t0 = time.perf_counter()
        if e == "ae-vs-dae":  # same size, same epochs; scored on masked test digits
            for kind in ("plain", "denoising"):
                r = GEN.train_autoencoder(os.path.join(a.out, kind + "-ae"), kind, a.data,
                                          a.epochs, max_train=a.max_train)
                _record(a.out, kind + "-ae", r)
        elif e == "sparse-ae":
            r = GEN.train_autoencoder(os.path.join(a.out, "sparse-ae"), "sparse", a.data,
                                      a.epochs, batch_size=a.batch_size or 100,
                                      hidden_sizes=(196,), max_train=a.max_train,
                                      rho=a.rho, beta=a.beta)
            _record(a.out, "sparse-ae", r)
        elif e in ("metric-lenet", "score-real"):
            # metric-lenet trains the scoring classifier (selected on validation);
            # score-real scores the real test digits with the one in --out (the ceiling)
            d = GEN.load_images("mnist")
            x, y = d["train"][0][:a.max_train], d["train"][1][:a.max_train]
            if e == "metric-lenet":
                model = GM.train_metric_classifier(clf, x, y, epochs=a.epochs, val=d["val"])
            else:
                model = GM.load_metric_classifier(clf)
            pt, ft = GM.classifier_outputs(model, d["test"][0])
            acc = float((pt.argmax(1) == d["test"][1]).mean())
            real_is = GM.inception_score(pt)
            _, fv = GM.classifier_outputs(model, d["val"][0])
            _record(a.out, e, {"test_acc": acc, "real_test_is": real_is[0],
                               "real_test_is_std": real_is[1],
                               "fid_val_vs_test": GM.frechet_distance(fv, ft),
                               "seconds": time.perf_counter() - t0})
        elif e == "vae":  # 784-500-500-20, epoch chosen on validation, test scored once
            r = GEN.train_vae(os.path.join(a.out, "vae"), a.data, a.epochs,
                              time_limit=a.time_limit)
            _record(a.out, "vae", r)
        elif e == "dcgan":
            r = GEN.train_dcgan(os.path.join(a.out, f"dcgan-{a.data}"), a.data, a.epochs,
                                width=a.width, max_train=a.max_train, time_limit=a.time_limit,
                                classifier=clf if a.data == "mnist" and os.path.exists(clf)
                                else None, resume=a.resume, ema_decay=a.ema_decay,
                                hidden=a.hidden)
            _record(a.out, f"dcgan-{a.data}", r)
        elif e == "score-vae":
            from chainrule import models
            from chainrule.train.checkpoint import load_checkpoint
            ck = load_checkpoint(os.path.join(a.out, "vae", "model.ckpt"))
            m = models.get_model("vae", **ck["meta"]["model_kwargs"])
            m.load_state_dict(ck["model"])
            d = GEN.load_images("mnist")
            r = GM.score_images(GM.load_metric_classifier(clf), GEN.generate(m, 10000, 1),
                                d["test"][0])
            _record(a.out, "vae-samples", r)
        elif e == "dbn":
            _record(a.out, "dbn", GEN.dbn_vs_random(a.data, a.epochs, a.max_train))
        elif e == "capsnet":  # the paper's network (Sabour et al. 2017), Adam 1e-3
            r = GEN.train_capsnet(os.path.join(a.out, f"capsnet-{a.data}"), a.data, a.epochs,
                                  batch_size=a.batch_size or 100, max_train=a.max_train,
                                  time_limit=a.time_limit, lr=a.lr or 1e-3,
                                  lr_decay=a.lr_decay, resume=a.resume, shift=a.shift)
            _record(a.out, f"capsnet-{a.data}", r)
        elif e == "gan2d":
            _record(a.out, "gan2d", GEN.train_gan2d(os.path.join(a.out, "gan2d")))
        else:
            raise SystemExit(f"unknown experiment {e!r}")
        print(f"{e}: {time.perf_counter() - t0:.0f}s wall, load {os.getloadavg()[0]:.1f}",
              flush=True)


if __name__ == "__main__":
    main()
