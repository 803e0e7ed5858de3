"""The ``chainrule`` command through ``main([...])``: every command, outputs and
exit codes (0 ok, 1 diverged / missed target, 2 usage or input error)."""
import json
import urllib.request

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.data.datasets.digits import load_digits_arrays

FAST = ["--hidden-sizes", "32", "--epochs", "2", "--no-progress"]


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)

    def no_network(*a, **k):
        raise urllib.error.URLError("network disabled in tests")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "mlp", "--data", "digits", "--out", str(out), *FAST]) == 0
    return out


def test_train_writes_everything_and_reports(trained, tmp_path, capsys):
    for f in ("last.ckpt", "best.ckpt", "history.csv", "history.json", "curves.png"):
        assert (trained / f).stat().st_size > 0
    hist = json.loads((trained / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2] and hist[-1]["val_acc"] > 0.5
    out = tmp_path / "again"
    assert main(["train", "--out", str(out), *FAST]) == 0  # default model and data
    text = capsys.readouterr().out
    assert "training mlp (" in text and ("on digits: 1293 training samples (144 more held "
                                         "out for validation)") in text
    assert "epoch 2/2  train_loss" in text and "final test metrics (2 epochs" in text
    again = json.loads((out / "history.json").read_text())
    assert [h["train_loss"] for h in again] == [h["train_loss"] for h in hist]  # seeded


def test_eval(trained, tmp_path, capsys):
    """eval scores the test split, which training scored once at the end (validation
    was on held-out training data)."""
    run = tmp_path / "r"
    assert main(["train", "mlp", "--data", "digits", "--out", str(run), *FAST]) == 0
    final = capsys.readouterr().out.split("final test metrics")[1].split("\n")[0]
    assert main(["eval", str(run / "last.ckpt")]) == 0
    out = capsys.readouterr().out
    val_acc = json.loads((run / "history.json").read_text())[-1]["val_acc"]
    assert "mlp on digits (test, 360 samples, epoch 2): loss" in out
    acc = final.split("acc ")[1].strip()
    assert f"acc {acc}" in out and f"{val_acc:.4f}" != acc


def test_predict_npy_and_csv(trained, tmp_path, capsys):
    pixels, labels = load_digits_arrays()
    x = (pixels[-3:] / 16).astype(np.float32)
    np.save(tmp_path / "one.npy", x[0])
    np.save(tmp_path / "three.npy", x)
    np.savetxt(tmp_path / "rows.csv", x.reshape(3, -1), delimiter=",",
               header=",".join(f"p{i}" for i in range(64)), comments="")
    args = [str(tmp_path / f) for f in ("one.npy", "three.npy", "rows.csv")]
    assert main(["predict", str(trained / "last.ckpt"), *args, "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 7 and lines[0].startswith(f"{args[0]}[0]: class ")
    assert "p=" in lines[0] and "[top: " in lines[0]
    assert [ln.split(": ", 1)[1] for ln in lines[1:4]] == [ln.split(": ", 1)[1]
                                                          for ln in lines[4:]]
    np.save(tmp_path / "bad.npy", np.zeros(10))
    assert main(["predict", str(trained / "last.ckpt"), str(tmp_path / "bad.npy")]) == 2
    assert "expected samples of shape (1, 8, 8)" in capsys.readouterr().err
    assert main(["predict", str(trained / "last.ckpt"), str(tmp_path / "no.npy")]) == 2


def test_resume_continues_exactly(trained, tmp_path):
    straight = tmp_path / "straight"
    assert main(["train", "--out", str(straight), *FAST[:2], "--epochs", "3",
                 "--scheduler", "none", "--no-progress"]) == 0
    part = tmp_path / "part"
    assert main(["train", "--out", str(part), *FAST[:2], "--epochs", "2",
                 "--scheduler", "none", "--no-progress"]) == 0
    assert main(["train", "--resume", str(part / "last.ckpt"), "--epochs", "3",
                 "--out", str(part), "--no-progress"]) == 0
    a = json.loads((straight / "history.json").read_text())
    b = json.loads((part / "history.json").read_text())
    assert [(h["train_loss"], h["val_loss"]) for h in a] == \
        [(h["train_loss"], h["val_loss"]) for h in b]


def test_graph(capsys, tmp_path):
    assert main(["graph", "mlp", "--hidden-sizes"]) == 2  # usage error from argparse
    capsys.readouterr()
    assert main(["graph", "mlp"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph backward") and "mlp on digits" in dot
    assert "net.0.weight" in dot and "LinearBackward" in dot
    assert main(["graph", "linear_regression", "-o", str(tmp_path / "g.dot")]) == 0
    assert "linear.weight" in (tmp_path / "g.dot").read_text()
    assert main(["graph"]) == 0 and "TanhBackward" in capsys.readouterr().out
    # PNG with Graphviz, or drawn with matplotlib when `dot` is not installed
    assert main(["graph", "softmax_regression", "-o", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


def test_models_and_datasets(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "mlp" in out and "softmax_regression" in out and "hidden_sizes=(256,)" in out
    assert main(["datasets"]) == 0
    table = capsys.readouterr().out.split("\n\n")[0].splitlines()[1:]
    rows = {ln.split()[0]: ln.split()[1] for ln in table}
    assert rows["digits"] == "yes" and rows["mnist"] == "no"  # CHAINRULE_DATA unset here


@pytest.mark.parametrize("argv, message", [
    (["train", "mpl"], "unknown model 'mpl'; did you mean 'mlp'"),
    (["train", "--data", "digts"], "unknown dataset 'digts'; did you mean 'digits'"),
    (["train", "--lr", "-0.1"], "argument --lr: must be a positive number"),
    (["train", "--epochs", "0"], "argument --epochs: must be >= 1"),
    (["train", "--optimizer", "adamm"],
     "argument --optimizer: unknown optimizer 'adamm'; did you mean 'adam'"),
    (["train", "--scheduler", "cosin"], "argument --scheduler: unknown scheduler 'cosin'"),
    (["train", "--batch-size", "0"], "argument --batch-size: must be >= 1, got 0"),
    (["train", "--dropout", "1.5"], "argument --dropout: must be in [0, 1), got 1.5"),
    (["train", "--data", "kaggle_house", "--label-smoothing", "0.1"],
     "argument --label-smoothing: only applies to classification"),
    (["train", "--freeze-backbone"], "argument --freeze-backbone: needs finetune"),
    (["train", "rnn-lm", "--hidden-sizes", "3"],
     "argument --hidden-sizes: model 'rnn-lm' has no such option"),
    (["train", "--num-steps", "5"], "argument --num-steps: does not apply to dataset runs"),
    (["train", "--hidden-sizes", "12,x"], "comma-separated layer widths"),
    (["train", "mlp", "--data", "synthetic_linear"],
     "'mlp' is a classification model but dataset 'synthetic_linear' is a regression"),
    (["train", "softmax_regression", "--hidden-sizes", "3"],
     "argument --hidden-sizes: model 'softmax_regression' has no such option (it takes: "),
    (["train", "--data", "mnist", *FAST], "can't load dataset 'mnist'"),
    (["train", "--monitor", "val_f1", *FAST], "argument --monitor: 'val_f1' is not a history column"),
    (["eval", "missing.ckpt"], "no such file"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_usage_errors_exit_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_offline_error_says_what_to_do(capsys):
    assert main(["train", "--data", "fashion_mnist", *FAST]) == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and "set CHAINRULE_DATA" in err


def test_unreadable_checkpoint_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    for cmd in (["eval", str(bad)], ["predict", str(bad), "x.npy"],
                ["train", "--resume", str(bad)]):
        assert main(cmd) == 2
        assert f"can't read checkpoint {bad}" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_exits_1(tmp_path, capsys):
    out = tmp_path / "nan"
    assert main(["train", "--lr", "1e30", "--optimizer", "sgd", "--out", str(out),
                 *FAST]) == 1
    text = capsys.readouterr().err  # a failure: on stderr, not mixed with the epoch lines
    assert "training diverged: the loss is" in text and "at epoch 1, step" in text


def test_missed_target_exits_1(tmp_path, capsys):
    args = ["train", "--out", str(tmp_path / "t"), *FAST[:2], "--epochs", "1",
            "--no-progress", "--target"]
    assert main(args + ["0.999"]) == 1
    assert "misses the target 0.999" in capsys.readouterr().out
    assert main(args + ["0.1", "--overwrite"]) == 0  # the folder holds the first run


def test_demo_still_works(capsys):
    assert main(["demo", "--epochs", "2"]) == 0
    assert "learned w = " in capsys.readouterr().out


def test_help_and_version(capsys):
    assert main(["--version"]) == 0 and capsys.readouterr().out.strip() == "0.1.0"
    assert main(["train", "--help"]) == 0
    assert "--clip-grad-norm" in capsys.readouterr().out
    assert main([]) == 0
