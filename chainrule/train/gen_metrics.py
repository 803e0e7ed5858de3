"""Sample-quality metrics for generated 28x28 digits: **analogues** of the Inception
score (Salimans et al. 2016) and the Fréchet Inception distance (Heusel et al. 2017) in
which a LeNet of ours trained on MNIST stands in for the Inception network.  The numbers
are on their own scale: the score runs from 1 to the number of classes (10 here, not
~1000), the distance is measured in LeNet's 84-wide penultimate features; neither is
comparable with published IS/FID values, only with each other (same classifier).

* :func:`train_metric_classifier` -- LeNet (``lenet_bn``) trained on the MNIST training
  split, saved to a checkpoint so every model is scored by the same network.
* :func:`classifier_outputs` -- class probabilities and penultimate features.
* :func:`inception_score` -- ``exp(E_x KL(p(y|x) || p(y)))``, averaged over splits.
* :func:`frechet_distance` -- ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))``.
"""
import math
import os
import time

import numpy as np

from chainrule import functional as F
from chainrule import models
from chainrule.backend import manual_seed
from chainrule.core.grad_mode import no_grad
from chainrule.core.tensor import from_array
from chainrule.nn import functional as NF
from chainrule.optim import Adam
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["train_metric_classifier", "load_metric_classifier", "classifier_outputs",
           "inception_score", "frechet_distance", "score_images",
           "default_classifier_path", "metric_classifier"]

_KWARGS = {"input_shape": (1, 28, 28), "num_classes": 10}


def _t(a):
    return from_array(np.ascontiguousarray(a, dtype=np.float32))


def _accuracy(model, images, labels, batch_size=1000):
    model.eval()
    with no_grad():
        pred = np.concatenate([model(_t(images[i:i + batch_size][:, None])).numpy().argmax(1)
                               for i in range(0, len(images), batch_size)])
    model.train()
    return float((pred == np.asarray(labels)).mean())


def train_metric_classifier(path, images, labels, epochs=10, batch_size=128, lr=1e-3, seed=0,
                            val=None, verbose=True):
    """Train ``lenet_bn`` on ``images`` ``(N, 28, 28)`` in [0, 1] with Adam (``lr``
    divided by 10 for the last third of the epochs) and save it to ``path``; with
    ``val=(images, labels)`` the weights of the epoch with the best validation accuracy
    are kept.  Returns the model (in eval mode).

    The scores are only as good as this classifier: one that is not confident on real
    digits gives them an Inception-score analogue well below 10 (a LeNet trained for one
    epoch on 20,000 images scored real test digits 7.77), so train it to convergence
    (about 99% test accuracy) before scoring models with it."""
    manual_seed(seed)
    images, labels = np.asarray(images, np.float32), np.asarray(labels)
    if images.ndim != 3 or len(images) != len(labels):
        raise ValueError(f"train_metric_classifier: expected images (N, 28, 28) and N labels, "
                         f"got {images.shape} and {labels.shape}")
    model = models.get_model("lenet_bn", **_KWARGS)
    opt = Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    best, best_state, best_epoch = -1.0, None, epochs
    for epoch in range(epochs):
        if epoch == epochs - epochs // 3:
            for g in opt.param_groups:
                g["lr"] = lr / 10
        for idx in np.array_split(rng.permutation(len(images)),
                                  max(1, len(images) // batch_size)):
            loss = NF.cross_entropy(model(_t(images[idx][:, None])), from_array(labels[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        msg = f"metric LeNet epoch {epoch + 1}: loss {float(loss):.4f}"
        if val is not None:
            acc = _accuracy(model, *val)
            msg += f", val acc {acc:.4f}"
            if acc > best:
                best, best_epoch = acc, epoch + 1
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
        if verbose:
            print(f"{msg} ({time.perf_counter() - t0:.0f}s)", flush=True)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_checkpoint(path, model, epoch=best_epoch,
                    meta={"model": "lenet_bn", "model_kwargs": dict(_KWARGS),
                          "val_acc": best if val is not None else None,
                          "train_images": len(images), "epochs": epochs, "seed": seed},
                    rng=False)
    return model


def load_metric_classifier(path):
    ck = load_checkpoint(path)
    model = models.get_model("lenet_bn", **_KWARGS)
    model.load_state_dict(ck["model"])
    return model.eval()


def classifier_outputs(model, images, batch_size=500):
    """``(probs (N, 10), features (N, 84))`` of ``images`` ``(N, 28, 28)`` in [0, 1];
    the features are the input of LeNet's last linear layer."""
    model.eval()
    head = model.classifier[-1]
    body = list(model.classifier)[:-1]
    probs, feats = [], []
    with no_grad():
        for i in range(0, len(images), batch_size):
            x = _t(np.asarray(images[i:i + batch_size]).reshape(-1, 1, 28, 28))
            h = model.features(x)
            for layer in body:
                h = layer(h)
            feats.append(h.numpy())
            probs.append(F.softmax(head(h), dim=1).numpy())
    return np.concatenate(probs).astype(np.float64), np.concatenate(feats).astype(np.float64)


def inception_score(probs, splits=10):
    """``(mean, std)`` over ``splits`` parts of ``exp(mean_x KL(p(y|x) || p(y)))``."""
    probs = np.asarray(probs, np.float64)
    if probs.ndim != 2 or len(probs) < splits:
        raise ValueError(f"inception_score: expected (N, classes) probabilities with N >= "
                         f"splits={splits}, got shape {probs.shape}")
    scores = []
    for part in np.array_split(probs, splits):
        py = part.mean(0, keepdims=True)
        kl = (part * (np.log(part + 1e-12) - np.log(py + 1e-12))).sum(1).mean()
        scores.append(math.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def _sqrtm_psd(a):
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(f1, f2):
    """Fréchet distance between Gaussians fitted to the feature rows ``f1`` and ``f2``.
    ``tr((S1 S2)^(1/2))`` is computed as ``tr((S1^(1/2) S2 S1^(1/2))^(1/2))`` (same
    eigenvalues, and symmetric, so ``eigh`` suffices)."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1] or min(len(f1), len(f2)) < 2:
        raise ValueError(f"frechet_distance: expected two (N, D) feature arrays with the same "
                         f"D and N >= 2, got {f1.shape} and {f2.shape}")
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    r1 = _sqrtm_psd(s1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(r1 @ s2 @ r1), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * cross)


def score_images(classifier, images, real_images):
    """``{'is': ..., 'is_std': ..., 'fid': ...}`` of generated ``images`` against
    ``real_images`` (both ``(N, 28, 28)`` in [0, 1])."""
    p, f = classifier_outputs(classifier, images)
    _, fr = classifier_outputs(classifier, real_images)
    m, s = inception_score(p)
    return {"is": m, "is_std": s, "fid": frechet_distance(f, fr), "n": len(images)}


def default_classifier_path():
    """Where :func:`metric_classifier` caches the metric LeNet
    (``$CHAINRULE_CACHE/metric_lenet_mnist.ckpt``, default ``~/.cache/chainrule``)."""
    return os.path.join(os.environ.get("CHAINRULE_CACHE", os.path.expanduser(
        "~/.cache/chainrule")), "metric_lenet_mnist.ckpt")


def metric_classifier(splits, path=None, epochs=12, seed=0, verbose=True):
    """The metric LeNet: loaded from ``path`` (default :func:`default_classifier_path`)
    if it exists, otherwise trained deterministically (``seed``) on ``splits['train']``
    and selected on ``splits['val']`` (``(images, labels)`` each), then saved there, so
    every model is scored by the same network.  ``splits`` is that dict or a function
    returning it (called only when training is needed), e.g. ``lambda:
    chainrule.train.generative.load_images('mnist')``: its 55,000 training images and
    5,000 held-out ones."""
    path = path or default_classifier_path()
    if os.path.exists(path):
        return load_metric_classifier(path)
    d = splits() if callable(splits) else splits
    return train_metric_classifier(path, *d["train"], epochs=epochs, seed=seed, val=d["val"],
                                   verbose=verbose)
