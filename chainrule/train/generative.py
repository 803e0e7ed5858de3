"""Training loops of the generative and unsupervised models (issue #15), shared by
``chainrule train vae|dae|sparse-ae|rbm|dcgan|capsnet`` and the examples.

Each ``train_*`` function takes plain keyword settings, trains on image arrays from
:func:`load_images`, writes into its run folder ``out`` a checkpoint (``model.ckpt``:
the weights and ``meta`` with the model's name and arguments, so ``chainrule sample``
can rebuild it), ``history.json``, learning curves and picture grids, and returns a
dict of results.  Model selection uses a held-out part of the training split; the
test split is evaluated once, with the selected weights.
"""
import json
import math
import os
import time

import numpy as np

from chainrule import functional as F
from chainrule.core import creation as C
from chainrule.core.grad_mode import no_grad
from chainrule.nn import functional as NF
from chainrule.core.dtype import float32
from chainrule.optim import Adam
from chainrule.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn
from chainrule import models
from chainrule.backend import get_rng_state, manual_seed, set_rng_state
from chainrule.core.tensor import from_array
from chainrule.data.datasets import get_dataset
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.plots import plot_history, save_image_grid

__all__ = ["load_images", "binarize", "train_vae", "evaluate_vae", "sample_images",
           "train_autoencoder", "reconstruction_error", "mean_activation", "sparse_objective",
           "train_rbm",
           "fit_rbm", "rbm_pll", "train_gan2d", "gan2d_data", "train_dcgan", "generate",
           "dbn_vs_random", "train_capsnet",
           "GENERATIVE_MODELS"]

GENERATIVE_MODELS = ("vae", "rbm", "dcgan")


def _seed(seed):
    manual_seed(seed)
    np.random.seed(seed)


def load_images(data="mnist", val_size=5000, seed=0):
    """``{'train', 'val', 'test'}`` -> ``(images float32 (N, 28, 28) in [0, 1], labels)``;
    ``val_size`` training images (a seeded random choice) are held out for validation."""
    tr = get_dataset(data, train=True)
    te = get_dataset(data, train=False)
    x, y = np.asarray(tr.data, np.float32) / 255.0, np.asarray(tr.targets)
    perm = np.random.default_rng(seed).permutation(len(x))
    v, t = perm[:val_size], perm[val_size:]
    return {"train": (x[t], y[t]), "val": (x[v], y[v]),
            "test": (np.asarray(te.data, np.float32) / 255.0, np.asarray(te.targets))}


def binarize(x, rng):
    """Stochastic binarization: each pixel is 1 with probability its intensity."""
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)


def _batches(n, batch_size, rng):
    idx = rng.permutation(n)
    for i in range(0, n, batch_size):
        yield idx[i:i + batch_size]


def _t(a):
    return from_array(np.ascontiguousarray(a, dtype=np.float32))


def _run_meta(name, kwargs, extra_meta=None):
    return {"model": name, "model_kwargs": kwargs, "task": "generative", **(extra_meta or {})}


def _save_run(out, name, model, kwargs, history, extra_meta=None):
    os.makedirs(out, exist_ok=True)
    meta = _run_meta(name, kwargs, extra_meta)
    save_checkpoint(os.path.join(out, "model.ckpt"), model, epoch=len(history),
                    history=history, meta=meta, rng=False)
    with open(os.path.join(out, "history.json"), "w") as f:
        json.dump(history, f, indent=1)
    if history:
        plot_history(history, os.path.join(out, "curves.png"), title=name)


def _log(verbose, msg):
    if verbose:
        print(msg, flush=True)


# ----------------------------------------------------------------------------- VAE
def evaluate_vae(model, x, batch_size=500):
    """Mean negative ELBO (nats) of the binary images ``x`` (one ``z`` sample each)."""
    model.eval()
    total = 0.0
    with no_grad():
        for i in range(0, len(x), batch_size):
            xb = _t(x[i:i + batch_size].reshape(-1, 784 if x.ndim == 3 else x.shape[1]))
            total += float(model.loss(xb, reduction="none").sum())
    model.train()
    return total / len(x)


def train_vae(out, data="mnist", epochs=20, batch_size=100, lr=1e-3, seed=0,
              hidden_sizes=(500, 500), latent_dim=20, time_limit=None, verbose=True):
    """Train the MLP VAE on dynamically binarized images (a fresh binarization every
    epoch; the validation and test images are binarized once with fixed seeds); keep
    the weights of the epoch with the best validation negative ELBO and report the test
    negative ELBO of those.  ``time_limit`` (seconds) stops after the epoch that passes
    it."""
    _seed(seed)
    d = load_images(data, seed=seed)
    rng = np.random.default_rng(seed)
    xtr = d["train"][0].reshape(-1, 784)
    xval = binarize(d["val"][0].reshape(-1, 784), np.random.default_rng(1))
    xte = binarize(d["test"][0].reshape(-1, 784), np.random.default_rng(2))
    kwargs = {"in_features": 784, "hidden_sizes": list(hidden_sizes), "latent_dim": latent_dim}
    model = models.get_model("vae", **kwargs)
    opt = Adam(model.parameters(), lr=lr)
    history, best, best_state = [], math.inf, None
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        te = time.perf_counter()
        tot, n = 0.0, 0
        xb_all = binarize(xtr, rng)
        for idx in _batches(len(xtr), batch_size, rng):
            loss = model.loss(_t(xb_all[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss) * len(idx)
            n += len(idx)
        val = evaluate_vae(model, xval)
        history.append({"epoch": epoch, "train_loss": tot / n, "val_loss": val,
                        "seconds": time.perf_counter() - te})
        if val < best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
        _log(verbose, f"epoch {epoch}: train -ELBO {tot / n:.2f}, val -ELBO {val:.2f} nats "
                      f"({time.perf_counter() - te:.1f}s)")
        if time_limit and time.perf_counter() - t0 > time_limit:
            break
    seconds = time.perf_counter() - t0
    model.load_state_dict(best_state)
    test = evaluate_vae(model, xte)
    best_epoch = min(history, key=lambda r: r["val_loss"])["epoch"]
    _log(verbose, f"test -ELBO {test:.2f} nats (epoch {best_epoch}, best validation "
                  f"{best:.2f}), {seconds:.0f}s")
    _save_run(out, "vae", model, kwargs, history,
              {"dataset": data, "test_nelbo": test, "best_epoch": best_epoch})
    model.eval()
    _seed(seed)
    with no_grad():
        save_image_grid(model.sample(64).reshape(64, 28, 28), os.path.join(out, "samples.png"))
        xs = _t(xte[:8])
        mu, _ = model.encode(xs)
        recon = F.sigmoid(model.decode(mu))
        save_image_grid(F.cat([xs, recon]).reshape(16, 28, 28),
                        os.path.join(out, "reconstructions.png"), nrow=8)
        # interpolations between the latent means of pairs of test digits
        a, b = mu[:4], mu[4:8]
        steps = C.linspace(0, 1, 10)
        z = F.cat([a[i:i + 1] * (1 - steps.reshape(10, 1)) + b[i:i + 1] * steps.reshape(10, 1)
                    for i in range(4)])
        save_image_grid(F.sigmoid(model.decode(z)).reshape(40, 28, 28),
                        os.path.join(out, "interpolations.png"), nrow=10)
        # traversal: each of the first 8 latent dims from -3 to 3, the rest 0
        vals = C.linspace(-3, 3, 10).numpy()
        nd = min(8, latent_dim)
        zt = np.zeros((nd * 10, latent_dim), np.float32)
        for j in range(nd):
            zt[j * 10:(j + 1) * 10, j] = vals
        save_image_grid(F.sigmoid(model.decode(_t(zt))).reshape(nd * 10, 28, 28),
                        os.path.join(out, "traversals.png"), nrow=10)
    return {"test_nelbo": test, "best_val_nelbo": best, "best_epoch": best_epoch,
            "epochs": len(history), "seconds": seconds, "history": history}


# --------------------------------------------------------------------- autoencoders
def reconstruction_error(model, x, noise="none", level=0.0, seed=0, batch_size=1000):
    """Mean squared error per pixel between the clean images ``x`` and the model's
    reconstructions (sigmoid of its logits) of ``corrupt(x, noise, level)``, with the
    corruption drawn from ``seed``."""
    from chainrule.models.autoencoder import corrupt
    model.eval()
    manual_seed(seed)
    tot = 0.0
    with no_grad():
        for i in range(0, len(x), batch_size):
            xb = _t(x[i:i + batch_size])
            tot += float(((F.sigmoid(model(corrupt(xb, noise, level))) - xb) ** 2).sum())
    model.train()
    return tot / x.size


def mean_activation(model, x, batch_size=1000):
    """Per-unit mean code activation of an :class:`Autoencoder` over ``x``."""
    model.eval()
    acc = 0.0
    with no_grad():
        for i in range(0, len(x), batch_size):
            acc = acc + model.encode(_t(x[i:i + batch_size])).sum(0).numpy()
    model.train()
    return acc / len(x)


def sparse_objective(model, x, rho=0.1, beta=3.0, weight_decay=3e-3, batch_size=1000):
    """Ng's sparse-autoencoder objective on all of ``x``: the mean over images of half the
    summed squared error of the sigmoid outputs, plus ``beta KL(rho || rho_hat)`` with
    ``rho_hat`` the mean code over all of ``x``, plus ``weight_decay / 2 |W|^2``."""
    model.eval()
    sq, code_sum = 0.0, 0.0
    with no_grad():
        for i in range(0, len(x), batch_size):
            xb = _t(x[i:i + batch_size])
            code = model.encode(xb)
            sq += float(((F.sigmoid(model.decoder(code)) - xb) ** 2).sum())
            code_sum = code_sum + code.sum(0).numpy()
        rho_hat = np.clip(code_sum / len(x), 1e-7, 1 - 1e-7)
        kl = float(np.sum(rho * np.log(rho / rho_hat)
                          + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))))
        wd = sum(float((p * p).sum()) for n, p in model.named_parameters()
                 if n.endswith("weight"))
    model.train()
    return 0.5 * sq / len(x) + beta * kl + 0.5 * weight_decay * wd


def train_autoencoder(out, kind="plain", data="mnist", epochs=10, batch_size=100, lr=1e-3,
                      seed=0, hidden_sizes=(256,), noise="masking", level=0.3, rho=0.1,
                      beta=3.0, weight_decay=None, verbose=True, max_train=None):
    """Train an MLP autoencoder: ``kind`` ``'plain'``, ``'denoising'`` (inputs corrupted
    by ``noise`` at ``level``, targets clean) or ``'sparse'``.  The loss is the per-image
    summed binary cross-entropy against the clean image, except for ``'sparse'``, which
    minimises Ng's objective: half the per-image summed squared error of the sigmoid
    outputs plus ``beta * KL(rho || rho_hat)`` on the batch's mean sigmoid code, with
    weight decay ``lambda / 2 |W|^2`` on the weights (not the biases); the defaults are
    those of Ng's MNIST exercise (196 units, rho 0.1, beta 3, lambda 3e-3).  Reports clean and noised
    (``noise``/``level``, fixed seed) test reconstruction errors, and for ``'sparse'``
    the test mean code activation; draws reconstructions and the first-layer filters."""
    from chainrule.functional.generative import bernoulli_kl
    from chainrule.models.autoencoder import corrupt
    if kind not in ("plain", "denoising", "sparse"):
        raise ValueError(f"train_autoencoder: kind must be 'plain', 'denoising' or 'sparse', "
                         f"got {kind!r}")
    _seed(seed)
    d = load_images(data, seed=seed)
    xtr = d["train"][0].reshape(-1, 784)[:max_train]
    xval, xte = d["val"][0].reshape(-1, 784), d["test"][0].reshape(-1, 784)
    kwargs = {"in_features": 784, "hidden_sizes": list(hidden_sizes), "activation": "sigmoid"}
    model = models.get_model("autoencoder", **kwargs)
    if weight_decay is None:
        weight_decay = 3e-3 if kind == "sparse" else 0.0
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if not n.endswith("weight")]
    opt = Adam([{"params": weights, "weight_decay": weight_decay},  # Ng: lambda/2 |W|^2
                {"params": biases, "weight_decay": 0.0}], lr=lr)
    bce = NF.binary_cross_entropy_with_logits
    rng = np.random.default_rng(seed)
    history, best, best_state = [], math.inf, None
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        te = time.perf_counter()
        tot, n = 0.0, 0
        for idx in _batches(len(xtr), batch_size, rng):
            x = _t(xtr[idx])
            xin = corrupt(x, noise, level) if kind == "denoising" else x
            code = model.encode(xin)
            if kind == "sparse":  # Ng's objective: 1/2 squared error + beta * KL
                err = F.sigmoid(model.decoder(code)) - x
                loss = 0.5 * (err * err).sum() / len(idx) + beta * bernoulli_kl(rho, code.mean(0))
            else:
                loss = bce(model.decoder(code), x, reduction="sum") / len(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss) * len(idx)
            n += len(idx)
        # model selection on what the kind is for: denoising on noised inputs; sparse on
        # the objective it minimises (with rho_hat over the whole validation set)
        val = reconstruction_error(model, xval, noise if kind == "denoising" else "none",
                                   level, seed=1)
        row = {"epoch": epoch, "train_loss": tot / n, "val_mse": val,
               "seconds": time.perf_counter() - te}
        crit = val
        if kind == "sparse":
            row["val_objective"] = crit = sparse_objective(model, xval, rho, beta, weight_decay)
            row["val_mean_activation"] = float(mean_activation(model, xval).mean())
        history.append(row)
        if crit < best:
            best, best_state = crit, {k: v.clone() for k, v in model.state_dict().items()}
        _log(verbose, f"{kind} AE epoch {epoch}: " + ", ".join(
            f"{k} {v:.5g}" for k, v in row.items() if k != "epoch"))
    seconds = time.perf_counter() - t0
    model.load_state_dict(best_state)
    res = {"kind": kind, "test_mse_clean": reconstruction_error(model, xte, seed=2),
           "test_mse_noised": reconstruction_error(model, xte, noise, level, seed=2),
           "noise": noise, "level": level, "seconds": seconds, "epochs": epochs}
    if kind == "sparse":
        act = mean_activation(model, xte)  # rho_hat on unseen digits, and on the trained ones
        res.update(rho=rho, beta=beta, weight_decay=weight_decay, mean_activation=float(act.mean()),
                   unit_activation_range=[float(act.min()), float(act.max())],
                   train_mean_activation=float(mean_activation(model, xtr).mean()),
                   val_mean_activation=float(mean_activation(model, xval).mean()),
                   batch_size=batch_size, lr=lr, train_images=len(xtr))
    _log(verbose, f"{kind} AE: " + ", ".join(f"{k} {v:.5g}" if isinstance(v, float) else
                                             f"{k} {v}" for k, v in res.items()))
    name = {"plain": "ae", "denoising": "dae", "sparse": "sparse-ae"}[kind]
    _save_run(out, "autoencoder", model, kwargs, history, {"dataset": data, "results": res,
                                                          "kind": name})
    with no_grad():
        manual_seed(3)
        x = _t(xte[:10])
        xn = corrupt(x, noise, level) if kind == "denoising" else x
        rec = F.sigmoid(model(xn))
        save_image_grid(F.cat([xn, rec]).reshape(20, 28, 28),
                        os.path.join(out, "reconstructions.png"), nrow=10)
        w = model.filters()[:100].numpy()
        w = (w - w.min(1, keepdims=True)) / (np.ptp(w, 1, keepdims=True) + 1e-8)
        save_image_grid(w.reshape(-1, 28, 28), os.path.join(out, "filters.png"), nrow=10)
    return res


# ---------------------------------------------------------------------------- RBM
def rbm_pll(model, x, seed=0, batch_size=1000):
    """Mean stochastic pseudo-log-likelihood (nats) of the binary rows ``x``."""
    manual_seed(seed)
    return float(np.mean(np.concatenate([
        model.pseudo_log_likelihood(_t(x[i:i + batch_size])).numpy()
        for i in range(0, len(x), batch_size)])))


def fit_rbm(model, x, epochs=10, batch_size=100, lr=0.05, k=1, persistent=True, seed=0,
            verbose=False):
    """Train ``model`` (an :class:`~chainrule.models.rbm.RBM`) on the rows of ``x`` in
    scikit-learn's ``BernoulliRBM`` order (the same batches every epoch, from one seeded
    shuffle); returns the training seconds."""
    rng = np.random.default_rng(seed)
    manual_seed(seed)
    x = np.ascontiguousarray(x[rng.permutation(len(x))], dtype=np.float32)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        for i in range(0, len(x), batch_size):
            model.cd_step(_t(x[i:i + batch_size]), lr, k, persistent)
        _log(verbose, f"RBM epoch {epoch + 1}: {time.perf_counter() - t0:.1f}s")
    return time.perf_counter() - t0


def train_rbm(out, data="mnist", epochs=10, batch_size=100, lr=0.05, n_hidden=500, k=1,
              persistent=True, seed=0, verbose=True, max_train=None):
    """Train a Bernoulli RBM on binarized images (one stochastic binarization, seed 0)
    with (P)CD-k; reports the test pseudo-log-likelihood and draws samples and filters."""
    _seed(seed)
    d = load_images(data, seed=seed)
    xtr = binarize(d["train"][0].reshape(-1, 784), np.random.default_rng(0))[:max_train]
    xte = binarize(d["test"][0].reshape(-1, 784), np.random.default_rng(2))
    kwargs = {"n_visible": 784, "n_hidden": n_hidden}
    model = models.get_model("rbm", **kwargs)
    seconds = fit_rbm(model, xtr, epochs, batch_size, lr, k, persistent, seed, verbose)
    pll = rbm_pll(model, xte)
    res = {"test_pll": pll, "seconds": seconds, "epochs": epochs, "batch_size": batch_size,
           "lr": lr, "n_hidden": n_hidden, "k": k, "persistent": persistent}
    _log(verbose, f"RBM: test pseudo-log-likelihood {pll:.2f} nats, {seconds:.1f}s")
    _save_run(out, "rbm", model, kwargs, [], {"dataset": data, "results": res})
    manual_seed(seed)
    save_image_grid(model.sample(64, k=1000).reshape(64, 28, 28),
                    os.path.join(out, "samples.png"))
    w = model.weight.detach()[:100].numpy()
    w = (w - w.min(1, keepdims=True)) / (np.ptp(w, 1, keepdims=True) + 1e-8)
    save_image_grid(w.reshape(-1, 28, 28), os.path.join(out, "filters.png"), nrow=10)
    return res


def _fit_classifier(model, x, y, xte, yte, epochs, lr, batch_size, seed):
    from chainrule.optim import SGD
    rng = np.random.default_rng(seed)
    opt = SGD(model.parameters(), lr=lr, momentum=0.9)
    for _ in range(epochs):
        for idx in _batches(len(x), batch_size, rng):
            loss = NF.cross_entropy(model(_t(x[idx])), from_array(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with no_grad():
        pred = np.concatenate([model(_t(xte[i:i + 1000])).numpy().argmax(1)
                               for i in range(0, len(xte), 1000)])
    return float((pred == yte).mean())


def dbn_vs_random(data="mnist", epochs=5, max_train=5000, sizes=(784, 500, 500),
                  pretrain_epochs=2, lr=0.05, rbm_lr=0.05, batch_size=100, seed=0):
    """Hinton et al. (2006) in small: greedy CD-1 pre-training of a DBN on ``max_train``
    binarized training images, then supervised fine-tuning of the MLP it initialises;
    against the same MLP (sigmoid units, same optimizer, epochs, data) from random init.
    Returns both test accuracies."""
    from chainrule.models.rbm import DBN, mlp_like_dbn
    d = load_images(data, seed=seed)
    x = binarize(d["train"][0].reshape(-1, 784), np.random.default_rng(0))[:max_train]
    y = d["train"][1][:max_train]
    xte, yte = d["test"][0].reshape(-1, 784), d["test"][1]
    _seed(seed)
    t0 = time.perf_counter()
    dbn = DBN(sizes)
    rng = np.random.default_rng(seed)
    errs = dbn.pretrain(lambda: (_t(x[i]) for i in _batches(len(x), batch_size, rng)),
                        pretrain_epochs, rbm_lr)
    t_pre = time.perf_counter() - t0
    acc_dbn = _fit_classifier(dbn.to_mlp(10), x, y, xte, yte, epochs, lr, batch_size, seed)
    _seed(seed)
    acc_rand = _fit_classifier(mlp_like_dbn(sizes, 10), x, y, xte, yte, epochs, lr,
                               batch_size, seed)
    return {"sizes": list(sizes), "train_images": len(x), "pretrain_epochs": pretrain_epochs,
            "finetune_epochs": epochs, "test_acc_dbn": acc_dbn, "test_acc_random": acc_rand,
            "pretrain_recon_mse": [e for _, e in errs], "pretrain_seconds": t_pre,
            "seconds": time.perf_counter() - t0}


# ---------------------------------------------------------------------------- GANs
def _gan_step(G, D, opt_g, opt_d, real, z):
    """One discriminator update then one generator update (non-saturating loss, d2l's
    ``update_D`` / ``update_G``); returns ``(loss_d, loss_g)``."""
    bce = NF.binary_cross_entropy_with_logits
    n = real.shape[0]
    ones, zeros = C.ones(n), C.zeros(n)
    fake = G(z)
    loss_d = (bce(D(real).reshape(-1), ones) + bce(D(fake.detach()).reshape(-1), zeros)) / 2
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    loss_g = bce(D(fake).reshape(-1), ones)
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return float(loss_d), float(loss_g)


def gan2d_data(n=1000, seed=0):
    """d2l's real data: ``N(0, I) @ A + b`` with ``A = [[1, 2], [-0.1, 0.5]]``, ``b = [1, 2]``."""
    rng = np.random.default_rng(seed)
    A, b = np.array([[1, 2], [-0.1, 0.5]], np.float32), np.array([1, 2], np.float32)
    return (rng.normal(0, 1, (n, 2)).astype(np.float32) @ A + b), A, b


def train_gan2d(out=None, epochs=20, batch_size=8, lr_d=0.05, lr_g=0.005, latent_dim=2,
                seed=0, n=1000, verbose=True):
    """d2l's GAN on a 2-D Gaussian (Adam, lr_D 0.05, lr_G 0.005, batch 8, 20 epochs).
    Returns the real and generated means and covariances; ``out`` gets a scatter plot
    and the loss curves."""
    from chainrule.models.gan import gan2d_discriminator, gan2d_generator
    _seed(seed)
    data, A, b = gan2d_data(n, seed)
    G, D = gan2d_generator(latent_dim, 2), gan2d_discriminator(2)
    opt_g, opt_d = Adam(G.parameters(), lr=lr_g), Adam(D.parameters(), lr=lr_d)
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(1, epochs + 1):
        ld, lg = [], []
        for idx in _batches(n, batch_size, rng):
            d_, g_ = _gan_step(G, D, opt_g, opt_d, _t(data[idx]), C.randn(len(idx), latent_dim))
            ld.append(d_)
            lg.append(g_)
        history.append({"epoch": epoch, "train_loss_D": float(np.mean(ld)),
                        "train_loss_G": float(np.mean(lg))})
    with no_grad():
        fake = G(C.randn(n, latent_dim)).numpy()
    res = {"real_mean": data.mean(0).tolist(), "fake_mean": fake.mean(0).tolist(),
           "real_cov": np.cov(data, rowvar=False).tolist(),
           "fake_cov": np.cov(fake, rowvar=False).tolist(), "history": history}
    _log(verbose, f"2-D GAN: real mean {np.round(data.mean(0), 3)}, generated mean "
                  f"{np.round(fake.mean(0), 3)}; loss_D {history[-1]['train_loss_D']:.3f}, "
                  f"loss_G {history[-1]['train_loss_G']:.3f}")
    if out:
        from matplotlib.figure import Figure
        os.makedirs(out, exist_ok=True)
        fig = Figure(figsize=(4, 4))
        ax = fig.add_subplot()
        ax.scatter(data[:200, 0], data[:200, 1], s=5, label="real")
        ax.scatter(fake[:200, 0], fake[:200, 1], s=5, label="generated")
        ax.legend()
        fig.savefig(os.path.join(out, "gan2d.png"), dpi=80)
    return res


def _resume_checkpoint(path, name):
    """The checkpoint a ``name`` run continues from; a ValueError saying what it holds
    when it is another model's."""
    ck = load_checkpoint(path)
    held = (ck.get("meta") or {}).get("model")
    if held != name:
        raise ValueError(f"train_{name}: {path} holds model {held!r}, not {name!r}: resume "
                         f"from a {name} run's last.ckpt (or a finished run's model.ckpt)")
    return ck


class _OptimizerPair:
    """Two optimizers (generator, discriminator), and the generator's weight average
    when there is one, stored as one checkpoint entry."""

    def __init__(self, g, d, g_ema=None):
        self.g, self.d, self.g_ema = g, d, g_ema

    def state_dict(self):
        state = {"g": self.g.state_dict(), "d": self.d.state_dict()}
        if self.g_ema is not None:
            state["g_ema"] = self.g_ema.state_dict()
        return state

    def load_state_dict(self, state):
        """Loads both optimizers; the average too when both sides have one (a run
        that had none starts its average afresh from the generator)."""
        self.g.load_state_dict(state["g"])
        self.d.load_state_dict(state["d"])
        if self.g_ema is not None and "g_ema" in state:
            self.g_ema.load_state_dict(state["g_ema"])


def _ema_generator_ready(g_ema, latent_dim, seed, batches=20, batch_size=250):
    """The averaged generator's batch-norm statistics recomputed for its own weights
    (:func:`update_bn` over ``batches`` fixed noise batches), without touching the
    training random streams; returns the averaged generator."""
    state = get_rng_state()
    manual_seed(seed)
    update_bn([C.randn(batch_size, latent_dim) for _ in range(batches)], g_ema.module)
    set_rng_state(state)
    return g_ema.module


class _Generator:
    """``with _Generator(model, g):`` samples and saves ``model`` with generator ``g``."""

    def __init__(self, model, generator):
        self.model, self.generator = model, generator

    def __enter__(self):
        self.saved = self.model.generator
        if self.generator is not None:
            self.model.generator = self.generator
        return self.model

    def __exit__(self, *exc):
        self.model.generator = self.saved


def train_dcgan(out, data="mnist", epochs=5, batch_size=128, lr=2e-4, beta1=0.5,
                latent_dim=100, width=32, seed=0, max_train=None, time_limit=None,
                classifier=None, n_score=10000, n_val_score=2000, verbose=True,
                resume=None, ema_decay=None, hidden=0):
    """DCGAN (Adam ``lr`` 2e-4, betas ``(beta1, 0.999)``) on images scaled to [-1, 1];
    a grid of 64 samples from one fixed noise batch is drawn after every epoch
    (``samples_epoch<N>.png``).  With ``classifier`` (a metric LeNet checkpoint path, or
    ``True`` for :func:`chainrule.train.gen_metrics.metric_classifier`'s cached one)
    every epoch is scored on ``n_val_score`` samples against the held-out validation
    images (Inception-score and FID analogues), the weights of the epoch with the lowest
    validation FID analogue are kept, and those are scored once on ``n_score`` samples
    against the test images.  Without it the last epoch is kept.  ``time_limit``
    (seconds) stops after the epoch that passes it.

    After every epoch ``out/last.ckpt`` (both networks, both Adam states, the history,
    the best validation FID so far) is written atomically, and ``out/best.ckpt`` when
    the validation FID improves.  ``resume`` (a path) continues from such a
    ``last.ckpt`` up to ``epochs`` in all; given a checkpoint without optimizer state
    (a finished run's ``model.ckpt``), it starts from those weights with fresh Adam
    state and numbers the epochs on from its history.  The networks are the
    checkpoint's (its width, hidden layer and latent size; those arguments are then
    ignored).  The batch order and noise are drawn anew (seeded by ``seed`` and the
    epoch reached), not replayed.

    ``ema_decay`` (e.g. 0.999) also keeps an exponential moving average of the
    generator's weights (:class:`~chainrule.optim.swa_utils.AveragedModel`, updated
    after every step; its batch-norm statistics recomputed by ``update_bn`` on fixed
    noise after every epoch).  The averaged generator is then the one drawn, scored,
    selected and saved, and the live one is scored beside it (``val_is_live``,
    ``val_fid_live``); ``last.ckpt`` carries the average for resuming."""
    from chainrule.train import gen_metrics as GM
    _seed(seed)
    d = load_images(data, seed=seed)
    xtr = d["train"][0][:max_train] * 2.0 - 1.0
    kwargs = {"latent_dim": latent_dim, "channels": 1, "width": width, "image_size": 28}
    if hidden:  # kept out of the kwargs otherwise, so older checkpoints read the same
        kwargs["hidden"] = int(hidden)
    ck = _resume_checkpoint(resume, "dcgan") if resume else None
    if ck is not None:  # the run's own networks (width, hidden layer, latent size)
        kwargs = dict(ck["meta"].get("model_kwargs") or kwargs)
        latent_dim = kwargs.get("latent_dim", latent_dim)
    model = models.get_model("dcgan", **kwargs)
    G, D = model.generator, model.discriminator
    opt_g = Adam(G.parameters(), lr=lr, betas=(beta1, 0.999))
    opt_d = Adam(D.parameters(), lr=lr, betas=(beta1, 0.999))
    fixed = C.randn(64, latent_dim)
    rng = np.random.default_rng(seed)
    clf = None
    if classifier is True:
        clf = GM.metric_classifier(lambda: load_images("mnist", seed=0), verbose=verbose)
    elif classifier:
        clf = GM.load_metric_classifier(classifier)
    real_val = GM.classifier_outputs(clf, d["val"][0])[1] if clf is not None else None
    history, best, best_state = [], math.inf, None
    g_ema = (AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(ema_decay))
             if ema_decay else None)
    opts = _OptimizerPair(opt_g, opt_d, g_ema)
    if resume:
        model.load_state_dict(ck["model"])
        if ck.get("optimizer") is not None:
            opts.load_state_dict(ck["optimizer"])
        history = list(ck.get("history") or [])
        best = ck.get("meta", {}).get("best_val_fid")
        best = math.inf if best is None else best
        best_path = os.path.join(os.path.dirname(os.path.abspath(resume)), "best.ckpt")
        if math.isfinite(best) and os.path.exists(best_path):
            best_state = load_checkpoint(best_path)["model"]
        elif (ck.get("optimizer") is None and history
              and "val_fid" in history[-1]):  # a finished run's model.ckpt: its best weights
            best = min(r["val_fid"] for r in history)
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        _seed(seed + len(history))  # fresh, reproducible streams for the continuation
        rng = np.random.default_rng(seed + len(history))
        _log(verbose, f"DCGAN: resumed from {resume} after epoch {len(history)}"
                      + ("" if ck.get("optimizer") is not None else " (fresh Adam state)"))
    os.makedirs(out, exist_ok=True)
    meta = _run_meta("dcgan", kwargs, {"dataset": data,
                                       **({"ema_decay": ema_decay} if ema_decay else {})})
    t0 = time.perf_counter()
    for epoch in range(len(history) + 1, epochs + 1):
        te = time.perf_counter()
        ld, lg = [], []
        for idx in _batches(len(xtr), batch_size, rng):
            if len(idx) < 2:
                continue
            real = _t(xtr[idx][:, None])
            d_, g_ = _gan_step(G, D, opt_g, opt_d, real, C.randn(len(idx), latent_dim))
            if g_ema is not None:
                g_ema.update_parameters(G)
            ld.append(d_)
            lg.append(g_)
        row = {"epoch": epoch, "train_loss_D": float(np.mean(ld)),
               "train_loss_G": float(np.mean(lg)), "seconds": time.perf_counter() - te}
        G.eval()
        drawn = (_ema_generator_ready(g_ema, latent_dim, 20_000 + epoch)
                 if g_ema is not None else None)
        with no_grad(), _Generator(model, drawn):
            save_image_grid(model.sample(64, fixed).reshape(64, 28, 28),
                            os.path.join(out, f"samples_epoch{epoch}.png"))
        if clf is not None:  # scored with its own seed; the training noise stream goes on
            state = get_rng_state()
            scored = [("", None)] if drawn is None else [("_live", G), ("", drawn)]
            for tag, g in scored:
                with _Generator(model, g):
                    p, f = GM.classifier_outputs(
                        clf, generate(model, n_val_score, seed=10_000 + epoch))
                row["val_is" + tag] = GM.inception_score(p)[0]
                row["val_fid" + tag] = GM.frechet_distance(f, real_val)
            set_rng_state(state)
            if row["val_fid"] < best:
                with _Generator(model, drawn):
                    best_state = {k: v.clone() for k, v in model.state_dict().items()}
                    save_checkpoint(os.path.join(out, "best.ckpt"), model, epoch=epoch,
                                    meta={**meta, "val_fid": row["val_fid"]}, rng=False)
                best = row["val_fid"]
        model.train()  # generate() put the discriminator in eval mode too
        history.append(row)
        save_checkpoint(os.path.join(out, "last.ckpt"), model, opts, epoch=epoch,
                        history=history, rng=False,
                        meta={**meta, "best_val_fid": best if math.isfinite(best) else None})
        _log(verbose, f"DCGAN epoch {epoch}: " + ", ".join(
            f"{k} {v:.3f}" for k, v in row.items() if k not in ("epoch", "seconds"))
            + f" ({row['seconds']:.0f}s)")
        if time_limit and time.perf_counter() - t0 > time_limit:
            break
    seconds = time.perf_counter() - t0
    res = {"epochs": len(history), "seconds": seconds, "train_images": len(xtr)}
    if best_state is not None:
        model.load_state_dict(best_state)
        res["best_epoch"] = min(history, key=lambda r: r["val_fid"])["epoch"]
    else:
        if g_ema is not None:
            model.generator = _ema_generator_ready(g_ema, latent_dim, 20_000 + len(history))
        res["best_epoch"] = len(history)
    model.eval()
    if clf is not None:
        res.update(GM.score_images(clf, generate(model, n_score, seed=1),
                                   d["test"][0][:n_score]))
        _log(verbose, f"DCGAN: epoch {res['best_epoch']}: IS analogue {res['is']:.2f} +- "
                      f"{res['is_std']:.2f}, FID analogue {res['fid']:.2f} ({n_score} samples)")
    _save_run(out, "dcgan", model, kwargs, history, {"dataset": data, "results": res})
    with no_grad():
        save_image_grid(model.sample(64, fixed).reshape(64, 28, 28),
                        os.path.join(out, "samples.png"))
    return res


def random_shift(x, max_shift, rng):
    """Each image of ``x`` (N, C, H, W) moved by its own random whole-pixel offset in
    ``[-max_shift, max_shift]`` along both axes, the uncovered border zero: Sabour et
    al.'s only augmentation (2 pixels)."""
    if not max_shift:
        return x
    n, c, h, w = x.shape
    m = int(max_shift)
    padded = np.zeros((n, c, h + 2 * m, w + 2 * m), x.dtype)
    padded[:, :, m:m + h, m:m + w] = x
    dy, dx = rng.integers(-m, m + 1, size=(2, n))
    rows = (m - dy)[:, None] + np.arange(h)            # source row of each output row
    cols = (m - dx)[:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def train_capsnet(out, data="mnist", epochs=1, batch_size=100, lr=1e-3, seed=0,
                  max_train=None, max_test=None, time_limit=None, verbose=True,
                  lr_decay=1.0, resume=None, shift=0, **model_args):
    """CapsNet with Adam; keeps the epoch with the best validation accuracy and reports
    its test accuracy (on ``max_test`` test images if given); draws reconstructions
    and the capsule-dimension perturbations (each of the first digit dimensions of one
    test digit's capsule moved by -0.25..0.25).

    Epoch ``e`` (counted from 1) trains at ``lr * lr_decay ** (e - 1)`` (the paper's
    exponential decay; 1.0 keeps ``lr``).  After every epoch ``out/last.ckpt`` (the
    model, the Adam state, the history, the best validation accuracy) is written
    atomically, and ``out/best.ckpt`` when the validation accuracy improves.
    ``resume`` (a path) continues from such a ``last.ckpt`` up to ``epochs`` in all;
    given a checkpoint without optimizer state (a finished run's ``model.ckpt``, whose
    weights are its best epoch's) it starts from those weights with fresh Adam state and
    numbers the epochs on from its history.  The batch order is drawn anew (seeded by
    ``seed`` and the epoch reached), not replayed.  ``shift`` > 0 moves every training
    image by up to that many pixels (:func:`random_shift`; the paper's 2)."""
    _seed(seed)
    d = load_images(data, seed=seed)
    xtr, ytr = d["train"][0][:max_train, None], d["train"][1][:max_train]
    xval, yval = d["val"][0][:max_test, None], d["val"][1][:max_test]
    xte, yte = d["test"][0][:max_test, None], d["test"][1][:max_test]
    kwargs = {"input_shape": [1, 28, 28], "num_classes": 10, **model_args}
    model = models.get_model("capsnet", **kwargs)
    opt = Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)

    def accuracy(x, y):
        model.eval()
        with no_grad():
            pred = np.concatenate([model(_t(x[i:i + 200]))[0].numpy().argmax(1)
                                   for i in range(0, len(x), 200)])
        model.train()
        return float((pred == y).mean())

    history, best, best_state = [], -1.0, None
    if resume:
        ck = _resume_checkpoint(resume, "capsnet")
        kwargs = dict(ck["meta"].get("model_kwargs") or kwargs)
        model = models.get_model("capsnet", **kwargs)
        model.load_state_dict(ck["model"])
        opt = Adam(model.parameters(), lr=lr)
        if ck.get("optimizer") is not None:
            opt.load_state_dict(ck["optimizer"])
        history = list(ck.get("history") or [])
        best_path = os.path.join(os.path.dirname(os.path.abspath(resume)), "best.ckpt")
        if ck.get("optimizer") is not None and os.path.exists(best_path):
            best_state = load_checkpoint(best_path)["model"]
            best = (ck.get("meta") or {}).get("best_val_acc", -1.0)
        elif history:  # a finished run's model.ckpt holds its best epoch's weights
            best = max(r["val_acc"] for r in history)
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        _seed(seed + len(history))
        rng = np.random.default_rng(seed + len(history))
        _log(verbose, f"CapsNet: resumed from {resume} after epoch {len(history)}"
                      + ("" if ck.get("optimizer") is not None else " (fresh Adam state)"))
    os.makedirs(out, exist_ok=True)
    meta = _run_meta("capsnet", kwargs, {"dataset": data})
    t0 = time.perf_counter()
    for epoch in range(len(history) + 1, epochs + 1):
        te = time.perf_counter()
        epoch_lr = lr * lr_decay ** (epoch - 1)
        for group in opt.param_groups:
            group["lr"] = epoch_lr
        tot, n, correct = 0.0, 0, 0
        for idx in _batches(len(xtr), batch_size, rng):
            loss, lengths = model.loss(_t(random_shift(xtr[idx], shift, rng)),
                                       from_array(ytr[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss) * len(idx)
            n += len(idx)
            correct += int((lengths.detach().numpy().argmax(1) == ytr[idx]).sum())
            if n % (100 * batch_size) == 0:  # an epoch of the paper's model is ~20 min
                _log(verbose, f"  {n} images: loss {tot / n:.4f}, train acc "
                              f"{correct / n:.4f} ({time.perf_counter() - te:.0f}s)")
            if time_limit and time.perf_counter() - t0 > time_limit:
                break
        val = accuracy(xval, yval)
        history.append({"epoch": epoch, "train_loss": tot / n, "train_acc": correct / n,
                        "val_acc": val, "lr": epoch_lr,
                        "seconds": time.perf_counter() - te, "images": n})
        if val > best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
            save_checkpoint(os.path.join(out, "best.ckpt"), model, epoch=epoch,
                            meta={**meta, "val_acc": best}, rng=False)
        save_checkpoint(os.path.join(out, "last.ckpt"), model, opt, epoch=epoch,
                        history=history, rng=False, meta={**meta, "best_val_acc": best})
        _log(verbose, f"CapsNet epoch {epoch}: loss {tot / n:.4f}, train acc {correct / n:.4f}, "
                      f"val acc {val:.4f}, lr {epoch_lr:.3g} ({time.perf_counter() - te:.0f}s, "
                      f"{n} images)")
        if time_limit and time.perf_counter() - t0 > time_limit:
            break
    seconds = time.perf_counter() - t0
    model.load_state_dict(best_state)
    res = {"test_acc": accuracy(xte, yte), "best_val_acc": best, "epochs": len(history),
           "seconds": seconds, "train_seconds": sum(r["seconds"] for r in history), "train_images": len(xtr), "test_images": len(xte)}
    _log(verbose, f"CapsNet: test accuracy {res['test_acc']:.4f} ({seconds:.0f}s)")
    _save_run(out, "capsnet", model, kwargs, history, {"dataset": data, "results": res})
    model.eval()
    with no_grad():
        x = _t(xte[:10])
        _, v, recon = model(x)
        save_image_grid(F.cat([x.reshape(10, 784), recon]).reshape(20, 28, 28),
                        os.path.join(out, "reconstructions.png"), nrow=10)
        k = int(v[0].numpy().__pow__(2).sum(-1).argmax())
        steps = np.arange(-0.25, 0.251, 0.05, dtype=np.float32)
        dims = min(model.digit_dim, 8)
        caps = np.repeat(v[0:1].numpy(), dims * len(steps), 0)
        for j in range(dims):
            caps[j * len(steps):(j + 1) * len(steps), k, j] += steps
        mask = np.zeros((1, model.num_classes, 1), np.float32)
        mask[0, k] = 1
        rec = model.decoder(_t((caps * mask).reshape(len(caps), -1)))
        save_image_grid(rec.reshape(-1, 28, 28), os.path.join(out, "perturbations.png"),
                        nrow=len(steps))
    return res


def generate(model, n, seed=0, batch_size=500):
    """``n`` samples ``(n, 28, 28)`` in [0, 1] from a generative model's ``sample``."""
    manual_seed(seed)
    model.eval()
    out = []
    with no_grad():
        for i in range(0, int(n), batch_size):
            out.append(model.sample(min(batch_size, int(n) - i)).numpy().reshape(-1, 28, 28))
    return np.concatenate(out)


# --------------------------------------------------------------------------- sampling
def sample_images(checkpoint, n=64, seed=0):
    """``n`` images (``(n, 28, 28)`` array in [0, 1]) drawn from the generative model
    stored in ``checkpoint``."""
    ck = load_checkpoint(checkpoint)
    meta = ck.get("meta") or {}
    name = meta.get("model")
    if name not in GENERATIVE_MODELS:
        raise ValueError(f"sample: {checkpoint} holds model {name!r}, not one of the "
                         f"generative models {', '.join(GENERATIVE_MODELS)}")
    model = models.get_model(name, **meta.get("model_kwargs", {}))
    model.load_state_dict(ck["model"])
    model.eval()
    _seed(seed)
    with no_grad():
        imgs = model.sample(n)
    return imgs.numpy().reshape(int(n), 28, 28)
