"""Generative and unsupervised models (issue #15): model pieces, the training loops on a
small synthetic stand-in for MNIST (seeded smoke tests), the metrics and the CLI.  The
differentiable ops are gradchecked in tests/ops/table_generative.py."""
import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.models.autoencoder import Autoencoder, ConvAutoencoder, corrupt
from chainrule.models.capsnet import CapsNet
from chainrule.models.gan import DCGAN
from chainrule.models.rbm import DBN, RBM
from chainrule.models.vae import VAE
from chainrule.train import gen_metrics as GM
from chainrule.train import generative as GEN
from chainrule.train.checkpoint import load_checkpoint


def _fake_images(n, seed):
    """Digit-like 28x28 images: class k is a bright bar at row 2k+4, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.random((n, 28, 28), dtype=np.float32) * 0.1
    for i, k in enumerate(y):
        x[i, 2 * k + 4:2 * k + 7, 4:24] = 0.9
    return x, y.astype(np.int64)


@pytest.fixture
def fake_mnist(monkeypatch):
    def load(data="mnist", val_size=5000, seed=0):
        return {"train": _fake_images(256, 0), "val": _fake_images(64, 1),
                "test": _fake_images(64, 2)}
    monkeypatch.setattr(GEN, "load_images", load)


# --------------------------------------------------------------------------- VAE
def test_vae_loss_is_reconstruction_plus_kl():
    cr.manual_seed(0)
    m = VAE(784, (16,), 4)
    x = (cr.rand(3, 1, 28, 28) < 0.5).to(cr.float32)
    out, mu, logvar = m(x)
    assert out.shape == (3, 784) and mu.shape == logvar.shape == (3, 4)
    p = 1 / (1 + np.exp(-out.detach().numpy()))
    xn = x.numpy().reshape(3, -1)
    nll = -(xn * np.log(p) + (1 - xn) * np.log(1 - p)).sum(1)
    mu_, lv = mu.detach().numpy(), logvar.detach().numpy()
    kl = 0.5 * (np.exp(lv) + mu_ ** 2 - 1 - lv).sum(1)
    got = (m.reconstruction_nll(out, x) + cr.functional.generative.gaussian_kl(mu, logvar))
    np.testing.assert_allclose(got.detach().numpy(), nll + kl, rtol=1e-4)
    assert m.sample(5).shape == (5, 784)


def test_vae_gaussian_decoder_and_errors():
    m = VAE(20, (8,), 2, decoder="gaussian")
    x = cr.rand(4, 20)
    loss = m.loss(x)
    loss.backward()
    assert m.log_sigma2.grad is not None and math.isfinite(float(loss))
    with pytest.raises(ValueError, match="VAE: expected inputs with 20 values"):
        m(cr.rand(4, 21))
    with pytest.raises(ValueError, match="decoder must be"):
        VAE(decoder="poisson")


def test_vae_loop_and_sample_cli(fake_mnist, tmp_path, capsys):
    r = GEN.train_vae(str(tmp_path / "vae"), epochs=2, hidden_sizes=(32,), latent_dim=4,
                      verbose=False)
    assert r["test_nelbo"] < 784 * math.log(2)  # better than coin flips
    assert r["history"][1]["train_loss"] < r["history"][0]["train_loss"]
    for f in ("model.ckpt", "samples.png", "interpolations.png", "traversals.png", "curves.png"):
        assert (tmp_path / "vae" / f).exists()
    assert main(["sample", str(tmp_path / "vae" / "model.ckpt"), "-n", "10", "-o",
                 str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").stat().st_size > 0


# ------------------------------------------------------------------- autoencoders
def test_corruptions():
    cr.manual_seed(0)
    x = cr.ones(200, 100)
    frac = float((corrupt(x, "masking", 0.3) == 0).to(cr.float32).mean())
    assert abs(frac - 0.3) < 0.02
    g = corrupt(x * 0.5, "gaussian", 0.2).numpy()
    assert g.min() >= 0 and g.max() <= 1 and abs(g.std() - 0.2) < 0.02
    with pytest.raises(ValueError, match="corrupt: noise must be"):
        corrupt(x, "salt")


def test_autoencoder_shapes_and_errors():
    assert Autoencoder(784, (32, 8))(cr.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)
    assert ConvAutoencoder()(cr.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="Autoencoder: expected inputs with 784"):
        Autoencoder()(cr.rand(2, 10))
    with pytest.raises(ValueError, match="ConvAutoencoder: height and width"):
        ConvAutoencoder((1, 30, 30))


def test_sparse_and_denoising_loops(fake_mnist, tmp_path):
    """The KL penalty pulls the mean code activation down towards rho (seeded, short)."""
    act = {b: GEN.train_autoencoder(str(tmp_path / f"s{b}"), "sparse", epochs=2, batch_size=16,
                                    hidden_sizes=(16,), rho=0.1, beta=b, lr=5e-2,
                                    verbose=False)["mean_activation"] for b in (0.0, 3.0)}
    assert act[3.0] < act[0.0] - 0.05
    assert (tmp_path / "s3.0" / "filters.png").exists()
    d = GEN.train_autoencoder(str(tmp_path / "d"), "denoising", epochs=2, hidden_sizes=(16,),
                              verbose=False)
    assert d["test_mse_noised"] < 0.25


# ---------------------------------------------------------------------------- RBM
def test_rbm_free_energy_gradient_is_the_cd_positive_phase():
    cr.manual_seed(0)
    r = RBM(6, 4)
    v = (cr.rand(5, 6) < 0.5).to(cr.float32)
    r.free_energy(v).mean().backward()
    h = r(v).detach()
    np.testing.assert_allclose(-r.weight.grad.numpy(), (h.T @ v).numpy() / 5, rtol=1e-5,
                               atol=1e-7)
    np.testing.assert_allclose(-r.v_bias.grad.numpy(), v.mean(0).numpy(), rtol=1e-6)


def test_rbm_pll_estimates_the_exact_pseudo_likelihood():
    cr.manual_seed(0)
    r = RBM(5, 3)
    with cr.no_grad():
        r.weight.copy_(cr.randn(3, 5))
        r.v_bias.copy_(cr.randn(5) * 0.5)
    v = cr.tensor([[1.0, 0.0, 1.0, 1.0, 0.0]])
    exact = 0.0
    for i in range(5):
        f = v.clone()
        f[0, i] = 1 - f[0, i]
        exact += float(cr.nn.functional.logsigmoid(r.free_energy(f) - r.free_energy(v)))
    est = r.pseudo_log_likelihood(v.repeat(20000, 1)).mean()
    assert abs(float(est) - exact) < 0.05 * abs(exact)


def test_rbm_pcd_training_learns_the_data():
    """Seeded smoke test: PCD-1 on two patterns raises their pseudo-likelihood and the
    chain's samples end up near them."""
    cr.manual_seed(0)
    pats = np.array([[1] * 8 + [0] * 8, [0] * 8 + [1] * 8], np.float32)
    x = pats[np.random.default_rng(0).integers(0, 2, 400)]
    r = RBM(16, 8)
    before = GEN.rbm_pll(r, x)
    GEN.fit_rbm(r, x, epochs=20, batch_size=20, lr=0.1, k=1, persistent=True)
    after = GEN.rbm_pll(r, x)
    assert after > before + 3
    s = (r.sample(20, k=50).numpy() > 0.5).astype(np.float32)
    dist = np.abs(s[:, None] - pats[None]).sum(-1).min(1)
    assert np.mean(dist <= 2) > 0.7
    r2 = RBM(16, 8)
    r2.cd_step(cr.from_numpy(x[:20]), 0.1, k=3, persistent=False)  # CD-k runs too
    with pytest.raises(ValueError, match=r"RBM: expected \(N, 16\)"):
        r2.cd_step(cr.zeros(3, 5))


def test_gaussian_rbm_and_dbn():
    g = RBM(4, 3, visible="gaussian")
    assert g.free_energy(cr.randn(2, 4)).shape == (2,)
    assert g.sample_visible(cr.ones(2, 3)).shape == (2, 4)
    with pytest.raises(ValueError, match="Bernoulli visibles only"):
        g.pseudo_log_likelihood(cr.randn(2, 4))
    cr.manual_seed(0)
    dbn = DBN((16, 8, 4))
    x = (cr.rand(40, 16) < 0.5).to(cr.float32)
    errs = dbn.pretrain(lambda: (x[i:i + 10] for i in range(0, 40, 10)), epochs=2)
    assert len(errs) == 4
    mlp = dbn.to_mlp(3)
    np.testing.assert_array_equal(mlp[1].weight.detach().numpy(), dbn.rbms[0].weight.detach().numpy())
    assert mlp(x).shape == (40, 3)


def test_rbm_matches_scikit_learn_formulas():
    sk = pytest.importorskip("sklearn.neural_network")
    rng = np.random.default_rng(0)
    X = (rng.random((30, 12)) < 0.3).astype(np.float64)
    r = RBM(12, 5)
    ref = sk.BernoulliRBM(n_components=5)
    ref.components_ = r.weight.detach().numpy().astype(np.float64)
    ref.intercept_hidden_ = np.zeros(5)
    ref.intercept_visible_ = np.zeros(12)
    np.testing.assert_allclose(r.free_energy(cr.tensor(X, dtype=cr.float32)).detach().numpy(),
                               ref._free_energy(X), rtol=1e-5)


# ---------------------------------------------------------------------------- GANs
def test_gan2d_smoke():
    """d2l's 2-D GAN, seeded and short: the generator's mean moves to the data's."""
    r = GEN.train_gan2d(None, epochs=10, n=400, verbose=False)  # the gap starts at ~2
    gap = np.abs(np.array(r["real_mean"]) - np.array(r["fake_mean"])).max()
    assert gap < 0.5 and all(math.isfinite(h["train_loss_D"]) for h in r["history"])


def test_dcgan_shapes_and_loop(fake_mnist, tmp_path, monkeypatch):
    m = DCGAN(latent_dim=8, width=4)
    assert m(cr.randn(3, 8)).shape == (3, 1, 28, 28)
    assert m.discriminator(cr.rand(3, 1, 28, 28)).shape == (3,)
    with pytest.raises(ValueError, match="DCGANGenerator: expected z"):
        m(cr.randn(3, 9))
    h = DCGAN(latent_dim=8, width=4, hidden=16)  # InfoGAN's fully connected layers
    assert h(cr.randn(3, 8)).shape == (3, 1, 28, 28)
    assert h.discriminator(cr.rand(3, 1, 28, 28)).shape == (3,)
    assert h.generator.net[0].weight.shape == (16, 8)
    assert h.discriminator.net[-1].weight.shape == (1, 16)
    GM.train_metric_classifier(str(tmp_path / "clf.ckpt"), *_fake_images(128, 5), epochs=1,
                               verbose=False)
    modes, step = [], GEN._gan_step

    def recording_step(G, D, *args):
        modes.append((G.training, D.training))
        return step(G, D, *args)
    monkeypatch.setattr(GEN, "_gan_step", recording_step)
    r = GEN.train_dcgan(str(tmp_path / "dc"), epochs=2, batch_size=64, latent_dim=8, width=4,
                        classifier=str(tmp_path / "clf.ckpt"), n_score=100, n_val_score=50,
                        verbose=False)
    assert 1.0 <= r["is"] <= 10.0 and r["fid"] >= 0
    hist = json.loads((tmp_path / "dc" / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2] and all(h["val_fid"] >= 0 for h in hist)
    assert r["best_epoch"] == min(hist, key=lambda h: h["val_fid"])["epoch"]
    assert modes and all(g and d for g, d in modes)  # scoring leaves both in train mode
    assert (tmp_path / "dc" / "samples_epoch2.png").exists()
    assert GEN.sample_images(str(tmp_path / "dc" / "model.ckpt"), 4).shape == (4, 28, 28)


def test_dcgan_resume_continues_from_last_checkpoint(fake_mnist, tmp_path):
    """Two epochs, then a resume to three, equals the checkpoint chain of one run: the
    resumed run starts from epoch 2's networks and both Adam states; a finished run's
    model.ckpt (no optimizer) resumes with fresh Adam state."""
    from chainrule.train.checkpoint import load_checkpoint
    kw = dict(batch_size=64, latent_dim=8, width=4, verbose=False)
    out = tmp_path / "dc"
    GEN.train_dcgan(str(out), epochs=2, **kw)
    last = load_checkpoint(str(out / "last.ckpt"))
    assert last["epoch"] == 2 and set(last["optimizer"]) == {"g", "d"}
    steps = last["optimizer"]["g"]["state"][0]["step"]
    GEN.train_dcgan(str(out), epochs=3, resume=str(out / "last.ckpt"), **kw)
    again = load_checkpoint(str(out / "last.ckpt"))
    assert [h["epoch"] for h in again["history"]] == [1, 2, 3]
    assert float(again["optimizer"]["g"]["state"][0]["step"]) == 1.5 * float(steps)
    assert any(not np.allclose(np.asarray(last["model"][k]), np.asarray(again["model"][k]))
               for k in last["model"])  # it trained on
    # a finished run's weights only: fresh Adam, epochs numbered on
    GEN.train_dcgan(str(tmp_path / "dc2"), epochs=4, resume=str(out / "model.ckpt"), **kw)
    fresh = load_checkpoint(str(tmp_path / "dc2" / "last.ckpt"))
    assert [h["epoch"] for h in fresh["history"]] == [1, 2, 3, 4]
    assert float(fresh["optimizer"]["g"]["state"][0]["step"]) == 0.5 * float(steps)
    # the networks come from the checkpoint (here width 4), whatever width is passed
    GEN.train_dcgan(str(tmp_path / "dc3"), epochs=3, resume=str(out / "last.ckpt"),
                    **{**kw, "width": 16})
    with pytest.raises(ValueError, match="holds model 'dcgan', not 'capsnet'"):
        GEN.train_capsnet(str(tmp_path / "caps"), resume=str(out / "last.ckpt"),
                          verbose=False)


def test_dcgan_with_generator_ema_draws_scores_and_resumes_the_average(fake_mnist, tmp_path):
    """With ema_decay the averaged generator is what is scored, kept and saved (its
    batch-norm statistics recomputed for its own weights); the live one is scored
    beside it; last.ckpt carries the average, and a resume continues it."""
    from chainrule.train.checkpoint import load_checkpoint
    GM.train_metric_classifier(str(tmp_path / "clf.ckpt"), *_fake_images(128, 5), epochs=1,
                               verbose=False)
    kw = dict(batch_size=64, latent_dim=8, width=4, verbose=False, ema_decay=0.5,
              classifier=str(tmp_path / "clf.ckpt"), n_score=100, n_val_score=50)
    out = tmp_path / "dc"
    r = GEN.train_dcgan(str(out), epochs=2, **kw)
    hist = json.loads((out / "history.json").read_text())
    assert all({"val_is", "val_fid", "val_is_live", "val_fid_live"} <= set(h) for h in hist)
    last = load_checkpoint(str(out / "last.ckpt"))
    ema = last["optimizer"]["g_ema"]
    assert int(ema["n_averaged"]) == 2 * 4          # 256 images, batches of 64, 2 epochs
    live = {k[len("generator."):]: v for k, v in last["model"].items()
            if k.startswith("generator.")}
    w = "net.0.weight"
    assert not np.allclose(np.asarray(ema["module." + w]), np.asarray(live[w]))
    best = load_checkpoint(str(out / "best.ckpt"))["model"]
    kept = load_checkpoint(str(out / "model.ckpt"))["model"]
    np.testing.assert_array_equal(np.asarray(kept["generator." + w]),
                                  np.asarray(best["generator." + w]))
    if r["best_epoch"] == 2:                        # the kept generator is the average
        np.testing.assert_array_equal(np.asarray(kept["generator." + w]),
                                      np.asarray(ema["module." + w]))
    GEN.train_dcgan(str(out), epochs=3, resume=str(out / "last.ckpt"), **kw)
    again = load_checkpoint(str(out / "last.ckpt"))["optimizer"]["g_ema"]
    assert int(again["n_averaged"]) == 3 * 4


# ---------------------------------------------------------------------------- CapsNet
def test_capsnet_forward_loss_and_loop(fake_mnist, tmp_path):
    cr.manual_seed(0)
    m = CapsNet(conv_channels=8, primary_maps=2, digit_dim=4, decoder_sizes=(16,))
    x, y = cr.rand(2, 1, 28, 28), cr.tensor([3, 7])
    lengths, v, recon = m(x, y)
    assert lengths.shape == (2, 10) and v.shape == (2, 10, 4) and recon.shape == (2, 784)
    assert float(lengths.max()) < 1.0
    loss, _ = m.loss(x, y)
    loss.backward()
    assert m.W.grad is not None and m.conv1.weight.grad is not None
    with pytest.raises(ValueError, match="CapsNet: expected images"):
        m(cr.rand(2, 1, 24, 24))
    r = GEN.train_capsnet(str(tmp_path / "caps"), epochs=1, max_train=64, max_test=32,
                          verbose=False, conv_channels=8, primary_maps=2, digit_dim=4,
                          decoder_sizes=(16,))
    assert 0 <= r["test_acc"] <= 1 and (tmp_path / "caps" / "perturbations.png").exists()



def test_random_shift_moves_each_image_by_at_most_the_shift_with_zero_border():
    rng = np.random.default_rng(0)
    x = rng.random((40, 1, 8, 8)).astype(np.float32) + 0.5   # no zeros inside
    y = GEN.random_shift(x, 2, rng)
    assert y.shape == x.shape and y.dtype == x.dtype
    seen = set()
    for a, b in zip(x[:, 0], y[:, 0]):
        hits = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                if np.array_equal(b, np.roll(np.roll(np.pad(a, 2), dy, 0), dx, 1)[2:-2, 2:-2])]
        assert len(hits) == 1
        seen.add(hits[0])
    assert len(seen) > 10                                      # offsets vary per image
    assert GEN.random_shift(x, 0, rng) is x

def test_capsnet_resume_continues_with_adam_state_and_decayed_lr(fake_mnist, tmp_path):
    """One epoch, then a resume to two: the second epoch starts from the first's weights
    and Adam state at the decayed learning rate; a finished run's model.ckpt (its best
    weights, no optimizer) resumes with fresh Adam state and the epochs numbered on."""
    from chainrule.train.checkpoint import load_checkpoint
    kw = dict(max_train=64, max_test=32, verbose=False, conv_channels=8, primary_maps=2,
              digit_dim=4, decoder_sizes=(16,), lr_decay=0.5, batch_size=16)
    out = tmp_path / "caps"
    GEN.train_capsnet(str(out), epochs=1, **kw)
    last = load_checkpoint(str(out / "last.ckpt"))
    assert last["epoch"] == 1 and (out / "best.ckpt").exists()
    steps = float(last["optimizer"]["state"][0]["step"])
    assert steps == 4                                   # 64 images, batches of 16
    r = GEN.train_capsnet(str(out), epochs=2, resume=str(out / "last.ckpt"), **kw)
    again = load_checkpoint(str(out / "last.ckpt"))
    assert [h["epoch"] for h in again["history"]] == [1, 2] and r["epochs"] == 2
    assert [h["lr"] for h in again["history"]] == [1e-3, 5e-4]
    assert float(again["optimizer"]["state"][0]["step"]) == 2 * steps
    assert again["optimizer"]["param_groups"][0]["lr"] == 5e-4
    assert any(not np.allclose(np.asarray(last["model"][k]), np.asarray(again["model"][k]))
               for k in last["model"])  # it trained on
    GEN.train_capsnet(str(tmp_path / "caps2"), epochs=3, resume=str(out / "model.ckpt"), **kw)
    fresh = load_checkpoint(str(tmp_path / "caps2" / "last.ckpt"))
    assert [h["epoch"] for h in fresh["history"]] == [1, 2, 3]
    assert float(fresh["optimizer"]["state"][0]["step"]) == steps
    assert fresh["history"][2]["lr"] == 2.5e-4


# ---------------------------------------------------------------------------- metrics
def test_inception_score_and_frechet_distance():
    confident = np.eye(10)[np.arange(1000) % 10]
    assert GM.inception_score(confident)[0] == pytest.approx(10.0, rel=1e-6)
    assert GM.inception_score(np.full((1000, 10), 0.1))[0] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (20000, 2))
    b = rng.normal(0, 1, (20000, 2)) * [2.0, 1.0] + [1.0, 0.0]
    # Gaussians with commuting covariances: |mu1-mu2|^2 + sum (s1 - s2)^2
    assert GM.frechet_distance(a, b) == pytest.approx(1.0 + 1.0, abs=0.1)
    assert GM.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="frechet_distance: expected two"):
        GM.frechet_distance(a, b[:, :1])


def test_metric_classifier_selects_on_validation_and_is_cached(fake_mnist, tmp_path,
                                                                 monkeypatch):
    """Trained once on the (stand-in) training split, selected on its validation part,
    saved where the scorers find it, then loaded instead of retrained."""
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path))
    m = GM.metric_classifier(GEN.load_images, epochs=12, verbose=False)
    path = GM.default_classifier_path()
    assert path.startswith(str(tmp_path)) and (tmp_path / "metric_lenet_mnist.ckpt").exists()
    x, y = _fake_images(64, 2)
    p, f = GM.classifier_outputs(m, x)
    assert (p.argmax(1) == y).mean() > 0.8 and f.shape == (64, 84)  # chance: 0.1
    ck = load_checkpoint(path)
    assert ck["meta"]["val_acc"] > 0.8 and ck["meta"]["train_images"] == 256
    p2, _ = GM.classifier_outputs(GM.metric_classifier(None, epochs=1, verbose=False), x)
    np.testing.assert_allclose(p2, p)  # loaded, not retrained
    with pytest.raises(ValueError, match="train_metric_classifier: expected images"):
        GM.train_metric_classifier(str(tmp_path / "c.ckpt"), x[:, :, :, None], y)


def test_sparse_objective_is_ngs_objective_over_the_whole_set():
    cr.manual_seed(0)
    m = Autoencoder(784, (8,), "sigmoid")
    x, _ = _fake_images(50, 3)
    x = x.reshape(50, 784)
    code = m.encode(cr.tensor(x)).detach().numpy()
    rec = 1 / (1 + np.exp(-m(cr.tensor(x)).detach().numpy()))
    rho_hat = code.mean(0)
    kl = np.sum(0.1 * np.log(0.1 / rho_hat) + 0.9 * np.log(0.9 / (1 - rho_hat)))
    wd = sum((p.detach().numpy().astype(np.float64) ** 2).sum()
             for n, p in m.named_parameters() if n.endswith("weight"))
    want = 0.5 * ((rec - x) ** 2).sum() / 50 + 3.0 * kl + 0.5 * 3e-3 * wd
    assert GEN.sparse_objective(m, x, 0.1, 3.0, 3e-3, batch_size=16) == pytest.approx(
        want, rel=1e-4)


# ---------------------------------------------------------------------------- CLI
def test_cli_train_dae_and_errors(fake_mnist, tmp_path, capsys):
    out = tmp_path / "dae"
    assert main(["train", "dae", "--data", "mnist", "--epochs", "1", "--hidden-sizes", "16",
                 "--out", str(out), "--quiet"]) == 0
    meta = json.loads((out / "history.json").read_text())
    assert len(meta) == 1 and (out / "reconstructions.png").exists()
    assert main(["train", "dae", "--epochs", "1", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["train", "rbm", "--data", "digits"]) == 2
    assert main(["train", "rbm", "--dropout", "0.5"]) == 2
    assert main(["sample", str(out / "model.ckpt")]) == 2
    assert "not one of the generative models" in capsys.readouterr().err
    assert main(["train", "dae", "--resume", str(out / "model.ckpt")]) == 2
    assert "cannot resume" in capsys.readouterr().err


def test_cli_train_dcgan_resumes_into_its_run_folder(fake_mnist, tmp_path):
    out = tmp_path / "gan"
    assert main(["train", "dcgan", "--epochs", "1", "--batch-size", "128", "--out", str(out),
                 "--quiet"]) == 0
    assert main(["train", "dcgan", "--epochs", "2", "--batch-size", "128", "--quiet",
                 "--resume", str(out / "last.ckpt")]) == 0     # the folder is the run's own
    hist = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2]


def test_cli_train_dcgan_hidden_layer(fake_mnist, tmp_path, capsys):
    out = tmp_path / "gan"
    assert main(["train", "dcgan", "--epochs", "1", "--batch-size", "128", "--hidden-sizes",
                 "16", "--out", str(out), "--quiet"]) == 0
    from chainrule.train.checkpoint import load_checkpoint
    assert load_checkpoint(str(out / "model.ckpt"))["meta"]["model_kwargs"]["hidden"] == 16
    assert GEN.sample_images(str(out / "model.ckpt"), 2).shape == (2, 28, 28)
    assert main(["train", "dcgan", "--hidden-sizes", "16,8", "--out", str(tmp_path / "x")]) == 2
    assert "takes one width" in capsys.readouterr().err


def test_registry_names_of_generative_models_point_to_their_commands(capsys):
    from chainrule.cli import main
    assert main(["train", "autoencoder", "--data", "mnist", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "'autoencoder' is a generative model: train it with `chainrule train " \
           "vae|ae|dae|sparse-ae|rbm|dcgan|capsnet --data mnist`" in err
