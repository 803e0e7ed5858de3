"""The fit/evaluate loop on tiny synthetic problems: learning, outputs, seeding,
exact resume, NaN detection, early stopping, schedulers and clipping."""
import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import (Callback, EarlyStopping, ModelCheckpoint, RunConfig, Trainer,
                             TrainingDiverged, evaluate, fit, load_checkpoint)


def blobs(n=240, seed=0):
    """Three Gaussian blobs in 4-D: easy to separate."""
    g = np.random.default_rng(seed)
    y = g.integers(0, 3, n)
    centers = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], np.float32)
    x = centers[y] + 0.5 * g.standard_normal((n, 4)).astype(np.float32)
    return TensorDataset(cr.tensor(x), cr.tensor(y))


def setup(seed=0, lr=0.1, dropout=0.2, scheduler=None, batch_size=32):
    cr.manual_seed(seed)
    np.random.seed(seed)
    train = DataLoader(blobs(), batch_size=batch_size, shuffle=True)
    val = DataLoader(blobs(90, seed=1), batch_size=64)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 3))
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = scheduler(opt) if scheduler else None
    return model, opt, sched, train, val


def run(tmp=None, epochs=3, resume=None, **kw):
    model, opt, sched, train, val = setup(**kw)
    return fit(model, train, val, nn.CrossEntropyLoss(), opt, sched,
               RunConfig(epochs=epochs, out=tmp, progress=False, verbose=False, resume=resume))


def test_fit_learns_and_writes_outputs(tmp_path, capsys):
    model, opt, _, train, val = setup()
    hist = fit(model, train, val, nn.CrossEntropyLoss(), opt,
               config=RunConfig(epochs=4, metrics=("acc", "top2_acc"), out=tmp_path,
                                progress=False))
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4]
    assert set(hist[0]) == {"epoch", "train_loss", "train_acc", "train_top2_acc", "val_loss",
                            "val_acc", "val_top2_acc", "lr", "time"}
    assert hist[-1]["val_acc"] > 0.95 and hist[-1]["train_loss"] < hist[0]["train_loss"]
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("epoch 1/4  train_loss")
    for f in ("last.ckpt", "best.ckpt", "history.csv", "history.json", "curves.png"):
        assert (tmp_path / f).stat().st_size > 0, f
    assert json.loads((tmp_path / "history.json").read_text())[-1]["val_acc"] == hist[-1]["val_acc"]
    csv_rows = (tmp_path / "history.csv").read_text().splitlines()
    assert csv_rows[0].startswith("epoch,train_loss,train_acc") and len(csv_rows) == 5
    assert float(csv_rows[-1].split(",")[1]) == hist[-1]["train_loss"]  # repr: exact
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ckpt = load_checkpoint(tmp_path / "last.ckpt")
    assert ckpt["epoch"] == 4 and ckpt["history"] == hist
    assert evaluate(model, val, nn.CrossEntropyLoss())["acc"] == hist[-1]["val_acc"]


def test_seeded_runs_repeat_bit_for_bit():
    strip = lambda h: [{k: v for k, v in r.items() if k != "time"} for r in h]
    assert strip(run()) == strip(run())
    assert strip(run()) != strip(run(seed=1))


@pytest.mark.parametrize("make_sched", [
    None,
    lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=4),
    lambda o: optim.lr_scheduler.OneCycleLR(o, max_lr=0.2, total_steps=4 * 8),
])
def test_resume_gives_the_losses_of_an_uninterrupted_run(tmp_path, make_sched):
    straight = run(tmp_path / "a", epochs=4, scheduler=make_sched)
    run(tmp_path / "b", epochs=2, scheduler=make_sched)
    # a different seed proves that weights and every RNG come from the checkpoint
    resumed = run(tmp_path / "b", epochs=4, scheduler=make_sched, seed=123,
                  resume=tmp_path / "b" / "last.ckpt")
    assert len(resumed) == 4
    for a, b in zip(straight, resumed):
        assert (a["train_loss"], a["val_loss"], a["lr"]) == (b["train_loss"], b["val_loss"],
                                                             b["lr"])


def test_nan_loss_stops_with_epoch_and_step_and_keeps_the_checkpoint(tmp_path):
    model, opt, _, train, val = setup()
    calls = {"n": 0}

    def loss_fn(out, y):
        calls["n"] += 1
        loss = nn.functional.cross_entropy(out, y)
        # 8 train + 2 val batches per epoch: the 3rd train step of epoch 2 is call 13
        return loss * float("nan") if calls["n"] == 13 else loss

    with pytest.raises(TrainingDiverged, match=r"loss is nan at epoch 2, step 3.*"
                       r"last good checkpoint .*last.ckpt\) is left intact") as info:
        fit(model, train, val, loss_fn, opt,
            config=RunConfig(epochs=5, out=tmp_path, progress=False, verbose=False))
    assert (info.value.epoch, info.value.step) == (2, 3)
    ckpt = load_checkpoint(tmp_path / "last.ckpt")
    assert ckpt["epoch"] == 1 and len(ckpt["history"]) == 1
    assert (tmp_path / "curves.png").exists()  # the plot of what was done is still written


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_exploding_lr_is_detected():
    model, opt, _, train, val = setup(lr=1e12, dropout=0.0)
    with pytest.raises(TrainingDiverged, match="epoch 1, step"):
        fit(model, train, None, nn.CrossEntropyLoss(), opt,
            config=RunConfig(epochs=3, progress=False, verbose=False))


def test_early_stopping(capsys):
    model, opt, _, train, val = setup()
    stop = EarlyStopping("val_loss", patience=2, min_delta=100.0)  # nothing counts as better
    hist = fit(model, train, val, nn.CrossEntropyLoss(), opt,
               config=RunConfig(epochs=10, progress=False), callbacks=[stop])
    assert len(hist) == 3 and stop.best_epoch == 1 and stop.stopped_epoch == 3
    assert "early stopping after epoch 3: val_loss has not improved for 2 epochs" in \
        capsys.readouterr().out


def test_early_stopping_mode_follows_the_metric():
    class FakeTrainer:
        stop_training = False
        mode_of = Trainer.mode_of
        monitored_value = Trainer.monitored_value
        _modes = {"loss": "min", "acc": "max"}
        log = print

    es = EarlyStopping("val_acc", patience=1)
    t = FakeTrainer()
    es.on_fit_start(t)
    assert es.mode == "max"
    es.on_epoch_end(t, {"epoch": 1, "val_acc": 0.5})
    es.on_epoch_end(t, {"epoch": 2, "val_acc": 0.6})
    assert not t.stop_training and es.best == 0.6
    es.on_epoch_end(t, {"epoch": 3, "val_acc": 0.55})
    assert t.stop_training
    with pytest.raises(KeyError, match="monitor 'val_f1' is not in the logs"):
        EarlyStopping("val_f1").on_epoch_end(t, {"epoch": 1, "val_acc": 0.5})


def test_best_checkpoint_follows_the_monitor(tmp_path):
    model, opt, _, train, val = setup()
    ck = ModelCheckpoint(tmp_path, monitor="val_acc")
    t = Trainer(model, nn.CrossEntropyLoss(), opt, callbacks=[ck])
    hist = t.fit(train, val, 3)
    best = max(hist, key=lambda h: h["val_acc"])["epoch"]
    assert ck.best_epoch == best and load_checkpoint(ck.best_path)["epoch"] == best


def test_clip_grad_norm_limits_the_step():
    norms = []

    class Spy(Callback):
        def on_batch_end(self, trainer, step, loss):
            g = [p.grad.numpy() for p in trainer.model.parameters()]
            norms.append(math.sqrt(sum(float((x ** 2).sum()) for x in g)))

    model, opt, _, train, _ = setup(lr=0.01)
    fit(model, train, None, nn.CrossEntropyLoss(), opt, callbacks=[Spy()],
        config=RunConfig(epochs=1, clip_grad_norm=0.05, progress=False, verbose=False))
    assert max(norms) <= 0.05 + 1e-6
    with pytest.raises(ValueError, match="clip_grad_norm must be > 0"):
        Trainer(model, nn.CrossEntropyLoss(), opt, clip_grad_norm=0)


def test_schedulers_step_per_epoch_per_batch_or_on_plateau():
    model, opt, _, train, val = setup()
    cyc = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=16)
    t = Trainer(model, nn.CrossEntropyLoss(), opt, cyc)
    assert t.step_per == "batch"
    hist = t.fit(train, val, 2)
    assert hist[1]["lr"] > hist[0]["lr"]  # lr at the start of each epoch, warming up
    model, opt, _, train, val = setup()
    plat = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, threshold=10.0)
    Trainer(model, nn.CrossEntropyLoss(), opt, plat).fit(train, val, 3)
    assert opt.param_groups[0]["lr"] < 0.1


def test_fit_rejects_bad_arguments():
    model, opt, _, train, _ = setup()
    with pytest.raises(ValueError, match=r"RunConfig.epochs: must be >= 1, got 0"):
        fit(model, train, None, nn.CrossEntropyLoss(), opt,
            config=RunConfig(epochs=0, progress=False))
    with pytest.raises(ValueError, match="fit: config.epochs is unset"):
        fit(model, train, None, nn.CrossEntropyLoss(), opt)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        Trainer(model, nn.CrossEntropyLoss(), opt).fit(train, None, 0)
    with pytest.raises(TypeError, match=r"expected batches of \(input, target\)"):
        fit(model, [cr.ones(2, 4)], None, nn.CrossEntropyLoss(), opt,
            config=RunConfig(epochs=1, progress=False, verbose=False))


def test_regression_with_meter_objects_and_classes():
    from chainrule.train.metrics import MAE, RMSE
    cr.manual_seed(0)
    x = cr.randn(64, 3)
    y = x @ cr.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    hist = fit(model, loader, loader, nn.MSELoss(), opt,
               config=RunConfig(epochs=40, metrics=(MAE, RMSE(name="err")), progress=False,
                                verbose=False, monitor="val_err", patience=3))
    assert hist[-1]["val_err"] < 0.01 and hist[-1]["val_mae"] < 0.01
    assert hist[-1]["val_err"] == pytest.approx(math.sqrt(hist[-1]["val_loss"]))
