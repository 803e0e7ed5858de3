"""RunConfig: validation in one place, resolution of unset settings, the schedulers'
step_per / needs_metric, and the CLI and the Python API building the same run."""
import hashlib
import json
import urllib.request

import numpy as np
import pytest

from chainrule import nn, optim
from chainrule.cli import build_parser, main
from chainrule.cli.train import config_from_args
from chainrule.optim import lr_scheduler as S
from chainrule.text import TimeMachine
from chainrule.train import ConfigError, RunConfig, Trainer, build, train
from chainrule.utils.errors import UnknownNameError



def setup():
    """A small classifier on 240 points in 3 blobs: 8 training batches per epoch."""
    import chainrule as cr
    from chainrule.data import DataLoader, TensorDataset
    cr.manual_seed(0)
    g = np.random.default_rng(0)
    y = g.integers(0, 3, 330)
    x = (np.eye(3, 4, dtype=np.float32) * 2)[y] + 0.5 * g.standard_normal((330, 4)).astype(
        np.float32)
    data = lambda s: TensorDataset(cr.tensor(x[s]), cr.tensor(y[s]))
    train = DataLoader(data(slice(0, 240)), batch_size=32, shuffle=True)
    val = DataLoader(data(slice(240, None)), batch_size=64)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, opt, None, train, val


TEXT = ("The Time Traveller (for so it will be convenient to speak of him)\n"
        "was expounding a recondite matter to us.\n") * 30


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    """No network; a tiny Time Machine in a temporary CHAINRULE_DATA."""
    root = tmp_path / "data" / "timemachine"
    root.mkdir(parents=True)
    (root / "timemachine.txt").write_text(TEXT)
    monkeypatch.setattr(TimeMachine, "resources", {
        "timemachine.txt": hashlib.sha256(TEXT.encode()).hexdigest()})
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))

    def no_network(*a, **k):
        raise urllib.error.URLError("network disabled in tests")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-0.1), "RunConfig.lr: must be a positive number, got -0.1"),
    (dict(lr=float("nan")), "RunConfig.lr: must be a positive number, got nan"),
    (dict(lr=0), "RunConfig.lr: must be a positive number, got 0"),
    (dict(epochs=0), "RunConfig.epochs: must be >= 1, got 0"),
    (dict(epochs=2.5), "RunConfig.epochs: must be >= 1, got 2.5"),
    (dict(batch_size=0), "RunConfig.batch_size: must be >= 1, got 0"),
    (dict(momentum=-1), "RunConfig.momentum: must be >= 0, got -1"),
    (dict(weight_decay=-1e-4), "RunConfig.weight_decay: must be >= 0"),
    (dict(label_smoothing=1.0), "RunConfig.label_smoothing: must be in [0, 1), got 1.0"),
    (dict(val_fraction=1.0), "RunConfig.val_fraction: must be in [0, 1)"),
    (dict(clip_grad_norm=0), "RunConfig.clip_grad_norm: must be a positive number, got 0"),
    (dict(patience=0), "RunConfig.patience: must be >= 1, got 0"),
    (dict(num_steps=0), "RunConfig.num_steps: must be >= 1, got 0"),
    (dict(augment="yes"), "RunConfig.augment: must be True or False, got 'yes'"),
    (dict(optimizer="adma"), "RunConfig.optimizer: unknown optimizer 'adma'; did you mean "
                             "'adam' or"),
    (dict(scheduler="cosin"), "RunConfig.scheduler: unknown scheduler 'cosin'; did you mean "
                              "'cosine'"),
    (dict(batch_mode="seq"), "RunConfig.batch_mode: unknown batch mode 'seq'"),
    (dict(model_args={"dropout": 2}), "RunConfig.model_args.dropout: must be in [0, 1)"),
    (dict(model_args={"width": 0}), "RunConfig.model_args.width: must be >= 1, got 0"),
    (dict(finetune="a.ckpt", resume="b.ckpt"), "RunConfig.finetune: starts a new run"),
])
def test_bad_values_name_the_field_and_value(kwargs, message):
    with pytest.raises(ConfigError) as info:
        RunConfig(**kwargs)
    assert message in str(info.value)
    assert info.value.field == message.split(":")[0][len("RunConfig."):]


def test_unknown_names_suggest():
    with pytest.raises(UnknownNameError, match="unknown model 'mpl'; did you mean 'mlp'"):
        RunConfig(model="mpl")
    with pytest.raises(UnknownNameError, match="did you mean 'digits'"):
        RunConfig(data="digts").resolved()


@pytest.mark.parametrize("kwargs, message", [
    (dict(model="softmax_regression", model_args={"hidden_sizes": (3,)}),
     "RunConfig.model_args.hidden_sizes: model 'softmax_regression' has no such option"),
    (dict(data="kaggle_house", label_smoothing=0.1),
     "RunConfig.label_smoothing: only applies to classification"),
    (dict(freeze_backbone=True), "RunConfig.freeze_backbone: needs finetune"),
    (dict(num_steps=10), "RunConfig.num_steps: does not apply to dataset runs"),
    (dict(model="rnn-lm", augment=True), "RunConfig.augment: does not apply to language"),
])
def test_settings_that_do_not_fit_the_run(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RunConfig(**kwargs).resolved()


def test_resolution_order_given_then_recipe_then_fallback():
    r = RunConfig(epochs=3, lr=0.5).resolved()
    # digits' recipe: mlp 512x512, dropout 0.3, momentum 0.9, cosine, label smoothing 0.1
    assert (r.model, r.data, r.epochs, r.lr, r.momentum, r.scheduler) == \
        ("mlp", "digits", 3, 0.5, 0.9, "cosine")
    assert r.model_args == {"hidden_sizes": (512, 512), "dropout": 0.3}
    assert r.weight_decay == 0.0 and r.seed == 0  # FALLBACK
    assert r.resolved() == r  # idempotent
    cnn = RunConfig(model="lenet", data="mnist").resolved()  # the recipe's per-model entry
    assert (cnn.lr, cnn.batch_size, cnn.momentum) == (0.9, 256, 0.0)
    lm = RunConfig(model="rnn-lm").resolved()
    assert lm.is_lm and (lm.data, lm.num_steps, lm.batch_mode, lm.clip_grad_norm) == \
        ("timemachine", 35, "sequential", 1.0)
    assert RunConfig(model="gru-bilm").resolved().batch_mode == "random"
    assert RunConfig(data="fashion-mnist").resolved().data == "fashion_mnist"


def test_resume_fills_unset_settings(tmp_path):
    out = tmp_path / "a"
    train(RunConfig(epochs=1, lr=0.05, optimizer="adam", out=str(out), progress=False,
                    verbose=False, model_args={"hidden_sizes": (8,)}))
    r = RunConfig(resume=str(out / "last.ckpt"), epochs=2).resolved()
    assert (r.model, r.data, r.epochs, r.lr, r.optimizer) == ("mlp", "digits", 2, 0.05, "adam")
    assert r.model_args["hidden_sizes"] == (8,)
    with pytest.raises(ConfigError, match="RunConfig.model: .* holds a 'mlp' run, not 'lenet'"):
        RunConfig(model="lenet", resume=str(out / "last.ckpt")).resolved()


# ---------------------------------------------------------------- schedulers
def test_schedulers_declare_how_they_step():
    opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    assert S.LRScheduler.step_per == "epoch" and not S.LRScheduler.needs_metric
    assert S.OneCycleLR(opt, max_lr=0.1, total_steps=10).step_per == "batch"
    assert S.CosineAnnealingLR(opt, T_max=3).step_per == "epoch"
    plateau = S.ReduceLROnPlateau(opt)
    assert plateau.step_per == "epoch" and plateau.needs_metric


class Counting(S.LambdaLR):
    """A LambdaLR that counts its steps (and which argument it got)."""

    def __init__(self, opt):
        self.calls = []
        super().__init__(opt, lambda e: 1.0)

    def step(self, *args):
        self.calls.append(args)
        super().step()


@pytest.mark.parametrize("step_per, needs_metric, calls", [
    ("epoch", False, 2), ("batch", False, 2 * 8), ("epoch", True, 2)])
def test_trainer_steps_the_scheduler_as_it_declares(step_per, needs_metric, calls):
    model, opt, _, train_loader, val = setup()
    sched = Counting(opt)
    sched.step_per, sched.needs_metric = step_per, needs_metric  # instance override
    sched.calls.clear()
    t = Trainer(model, nn.CrossEntropyLoss(), opt, sched)
    hist = t.fit(train_loader, val, 2)
    assert len(sched.calls) == calls
    if needs_metric:
        assert sched.calls == [(h["val_loss"],) for h in hist]
    else:
        assert all(c == () for c in sched.calls)


def test_trainer_rejects_an_unknown_step_per():
    model, opt, _, _, _ = setup()
    sched = S.StepLR(opt, 1)
    sched.step_per = "week"
    with pytest.raises(ValueError, match="StepLR.step_per must be 'epoch' or 'batch', "
                                         "got 'week'"):
        Trainer(model, nn.CrossEntropyLoss(), opt, sched)


# ---------------------------------------------------------------- CLI == API
def _cli_config(argv):
    return config_from_args(build_parser().parse_args(["train", *argv]))


def test_cli_flags_become_the_same_config_as_python():
    argv = ["mlp", "--data", "digits", "--epochs", "2", "--lr", "0.05", "--optimizer", "adam",
            "--hidden-sizes", "32,16", "--dropout", "0.1", "--scheduler", "onecycle",
            "--patience", "3", "--out", "x", "--no-progress", "--quiet"]
    api = RunConfig(model="mlp", data="digits", epochs=2, lr=0.05, optimizer="adam",
                    scheduler="onecycle", patience=3, out="x", progress=False, verbose=False,
                    model_args={"hidden_sizes": (32, 16), "dropout": 0.1})
    assert _cli_config(argv) == api
    assert _cli_config(argv).resolved() == api.resolved()


@pytest.mark.parametrize("argv, kwargs", [
    (["--epochs", "2", "--hidden-sizes", "16", "--scheduler", "onecycle"],
     dict(epochs=2, scheduler="onecycle", model_args={"hidden_sizes": (16,)})),
    (["rnn-lm", "--data", "timemachine", "--epochs", "2", "--batch-size", "4",
      "--num-steps", "8", "--hidden-size", "16", "--scheduler", "onecycle"],
     dict(model="rnn-lm", data="timemachine", epochs=2, batch_size=4, num_steps=8,
          scheduler="onecycle", model_args={"hidden_size": 16})),
])
def test_cli_and_api_train_the_same_run(tmp_path, capsys, argv, kwargs):
    assert main(["train", *argv, "--out", str(tmp_path / "cli"), "--no-progress"]) == 0
    cli_out = capsys.readouterr().out
    result = train(RunConfig(out=str(tmp_path / "api"), progress=False, **kwargs))
    api_out = capsys.readouterr().out
    cli = json.loads((tmp_path / "cli" / "history.json").read_text())
    strip = lambda h: [{k: v for k, v in r.items() if k != "time"} for r in h]
    assert strip(cli) == strip(result.history)
    assert result.final and result.target_met is None
    line = lambda text: [ln for ln in text.splitlines() if ln.startswith("training ")]
    assert line(cli_out) == line(api_out)


def test_build_gives_the_pieces(tmp_path):
    run = build(RunConfig(epochs=1, scheduler="plateau", out=str(tmp_path), progress=False,
                          model_args={"hidden_sizes": (8,)}))
    assert isinstance(run.scheduler, S.ReduceLROnPlateau) and run.trainer.step_per == "epoch"
    assert run.monitor == "val_acc" and run.config.out == str(tmp_path)
    assert run.meta["train_args"]["scheduler"] == "plateau"
    assert [type(c).__name__ for c in run.trainer.callbacks][:1] == ["ProgressBar"]
    hist = run.fit()
    assert len(hist) == 1 and np.isfinite(hist[0]["val_loss"])


def test_target(tmp_path):
    r = train(RunConfig(epochs=1, target=0.999, out=str(tmp_path / "run"), progress=False,
                        verbose=False, model_args={"hidden_sizes": (8,)}))
    assert r.target_met is False and "misses the target 0.999" in r.target_miss
