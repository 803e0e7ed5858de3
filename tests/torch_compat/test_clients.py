"""Real PyTorch client scripts, unmodified, run on chainrule through the runner.

Short runs only, cut by the scripts' own arguments.  The quick ones run by default
(about 40 s together); the long ones (full tutorials, LBFGS on 1000-step sequences)
are marked ``slow`` and run with ``CHAINRULE_SLOW=1``.  Skipped with a reason where
``shared/`` (the clients and their data) is absent.
"""
import os

import pytest

from torch_clients import (BASICS, CLIENTS, DATA, EXAMPLES, PROBES, floats_after, link,
                           link_mnist, probed, run_client)

pytestmark = pytest.mark.skipif(CLIENTS is None or DATA is None,
                                reason="shared/clients and shared/data are absent")
slow = pytest.mark.skipif(os.environ.get("CHAINRULE_SLOW") != "1",
                          reason="long client run: set CHAINRULE_SLOW=1")


def _ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def test_regression_fits_the_polynomial(tmp_path):
    out = _ok(run_client(os.path.join(EXAMPLES, "regression", "main.py"), cwd=tmp_path))
    assert floats_after("Loss:", out)[0] < 1e-3 and "Learned function" in out


def test_mnist_dry_run(tmp_path):
    link_mnist(tmp_path / "data")
    (tmp_path / "work").mkdir()
    out = _ok(run_client(os.path.join(EXAMPLES, "mnist", "main.py"), "--dry-run",
                         "--epochs", "1", cwd=tmp_path / "work"))
    assert "Train Epoch: 1 [0/60000 (0%)]" in out
    assert "Test set: Average loss" in out and "/10000" in out


@pytest.mark.parametrize("name", ["tensorqs", "autogradqs", "buildmodel", "transforms", "data"])
def test_basics_tutorials_without_training(tmp_path, name):
    link_mnist(tmp_path / "data", "FashionMNIST", "fashion-mnist")
    out = _ok(run_client(os.path.join(BASICS, f"{name}_tutorial.py"), cwd=tmp_path))
    if name == "autogradqs":
        assert "Gradient function for loss" in out
    if name == "buildmodel":
        assert "Predicted class" in out
    if name == "data":  # FashionMNIST through torchvision.datasets and a DataLoader
        assert "Labels batch shape:" in out


@slow
def test_time_sequence_prediction(tmp_path):
    d = os.path.join(EXAMPLES, "time_sequence_prediction")
    _ok(run_client(os.path.join(d, "generate_sine_wave.py"), cwd=tmp_path))
    out = _ok(run_client(os.path.join(d, "train.py"), "--steps", "1", cwd=tmp_path,
                         timeout=1200))
    losses = floats_after("loss:", out)
    assert losses[-1] < losses[0] / 10 and (tmp_path / "predict0.pdf").exists()


@slow
@pytest.mark.parametrize("name", ["quickstart", "optimization"])
def test_basics_training_tutorials(tmp_path, name):
    link_mnist(tmp_path / "data", "FashionMNIST", "fashion-mnist")
    out = _ok(run_client(os.path.join(BASICS, f"{name}_tutorial.py"), cwd=tmp_path,
                         timeout=3000))
    acc = floats_after("Accuracy:", out)
    assert acc[-1] > acc[0] and acc[-1] > 60, acc
    if name == "quickstart":
        assert "Predicted:" in out




@slow
def test_mnist_rnn_dry_run(tmp_path):
    link_mnist(tmp_path / "data")
    (tmp_path / "work").mkdir()
    out = _ok(run_client(os.path.join(EXAMPLES, "mnist_rnn", "main.py"), "--dry-run",
                         "--epochs", "1", cwd=tmp_path / "work"))
    assert "Test set: Average loss" in out


@slow
def test_dcgan_mnist_dry_run(tmp_path):
    link_mnist(tmp_path / "data")
    out = _ok(run_client(os.path.join(EXAMPLES, "dcgan", "main.py"), "--dataset", "mnist",
                         "--dataroot", str(tmp_path / "data"), "--dry-run", "--niter", "1",
                         "--outf", str(tmp_path / "out"), cwd=tmp_path))
    assert "Loss_D" in out and (tmp_path / "out" / "fake_samples_epoch_000.png").exists()


@slow
def test_vae_one_epoch(tmp_path):
    link_mnist(tmp_path / "data")
    (tmp_path / "work" / "results").mkdir(parents=True)
    out = _ok(run_client(os.path.join(EXAMPLES, "vae", "main.py"), "--epochs", "1",
                         cwd=tmp_path / "work", timeout=1800))
    losses = floats_after("Loss:", out)
    assert losses[-1] < losses[0] / 2 and "Test set loss" in out


@slow
def test_word_language_model_saves_the_whole_model_and_generates(tmp_path):
    # main.py pickles the model with torch.save(model, f) and loads it back inside
    # torch.serialization.safe_globals([...]); generate.py loads that checkpoint
    for split in ("train", "valid", "test"):
        link(os.path.join(DATA, "wikitext-2", f"wiki.{split}.tokens"),
             str(tmp_path / "data" / "wikitext-2" / f"{split}.txt"))
    wlm = os.path.join(EXAMPLES, "word_language_model")
    out = _ok(run_client(os.path.join(wlm, "main.py"), "--epochs", "1", "--emsize", "16",
                         "--nhid", "16", "--tied", "--dry-run", cwd=tmp_path, timeout=1800))
    assert "End of training | test loss" in out
    out = _ok(run_client(os.path.join(wlm, "generate.py"), "--words", "30", cwd=tmp_path))
    assert len((tmp_path / "generated.txt").read_text().split()) == 30


_WLM_ONNX_CHECK = """
import sys
import numpy as np
import torch
sys.path.insert(0, sys.argv[1])
from model import RNNModel
with torch.serialization.safe_globals([RNNModel, torch.nn.Dropout, torch.nn.Linear,
                                       torch.nn.LSTM, torch.nn.Embedding]):
    model = torch.load("model.pt")
model.eval()
x = torch.randint(0, model.ntoken, (35, 1))
h = (torch.randn(2, 1, model.nhid), torch.randn(2, 1, model.nhid))
with torch.no_grad():
    out, (h1, c1) = model(x, h)
np.savez("ref.npz", x=x.numpy(), h=h[0].numpy(), c=h[1].numpy(), out=out.numpy(),
         h1=h1.numpy(), c1=c1.numpy())
"""


@slow
def test_word_language_model_exports_onnx(tmp_path):
    # main.py --onnx-export: torch.onnx.export(model, (dummy_input, hidden), path) with the
    # trained LSTM in eval mode (seq_len = bptt = 35, batch 1); onnxruntime must reproduce
    # the saved model's forward on other tokens and a non-zero (h, c)
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    import numpy as np
    for split in ("train", "valid", "test"):
        link(os.path.join(DATA, "wikitext-2", f"wiki.{split}.tokens"),
             str(tmp_path / "data" / "wikitext-2" / f"{split}.txt"))
    wlm = os.path.join(EXAMPLES, "word_language_model")
    out = _ok(run_client(os.path.join(wlm, "main.py"), "--epochs", "1", "--emsize", "16",
                         "--nhid", "16", "--dry-run", "--onnx-export", "model.onnx",
                         cwd=tmp_path, timeout=1800))
    assert "exported in ONNX format" in out
    onnx.checker.check_model(onnx.load(str(tmp_path / "model.onnx")), full_check=True)
    (tmp_path / "check.py").write_text(_WLM_ONNX_CHECK)
    _ok(run_client(str(tmp_path / "check.py"), wlm, cwd=tmp_path))
    ref = np.load(tmp_path / "ref.npz")
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["input_0", "input_1", "input_2"]
    got = sess.run(None, {"input_0": ref["x"], "input_1": ref["h"], "input_2": ref["c"]})
    for g, k in zip(got, ("out", "h1", "c1")):
        np.testing.assert_allclose(g, ref[k], atol=1e-5, err_msg=k)


def test_mnist_hogwild_dry_run(tmp_path):
    # torch.multiprocessing with the model in shared memory (model.share_memory())
    link_mnist(tmp_path / "data")
    (tmp_path / "work").mkdir()
    out = _ok(run_client(os.path.join(EXAMPLES, "mnist_hogwild", "main.py"), "--dry-run",
                         "--epochs", "1", cwd=tmp_path / "work"))
    assert out.count("Train Epoch: 1 [0/60000") == 2 and "Test set: Average loss" in out


@slow
def test_siamese_network_dry_run(tmp_path):
    # torchvision.models.resnet18 with its conv1 swapped and fc dropped, on MNIST pairs
    link_mnist(tmp_path / "data")
    (tmp_path / "work").mkdir()
    out = _ok(run_client(os.path.join(EXAMPLES, "siamese_network", "main.py"), "--dry-run",
                         "--epochs", "1", cwd=tmp_path / "work", timeout=1200))
    assert "Train Epoch: 1 [0/60000" in out and "Test set: Average loss" in out


@slow
@pytest.mark.parametrize("name", ["classification", "generation"])
def test_char_rnn_tutorials_run_all_their_iterations(tmp_path, name):
    # 100,000 single-name steps of a hand-written RNN with a manual SGD update
    # (p.data.add_(p.grad.data, alpha=-lr)): about 3-5 minutes each here.  What they
    # print every 5,000 steps is one random name's loss, too noisy to judge; all_losses
    # (the mean of each 1,000 / 500 steps, only plotted) is read back with a probe.
    import ast
    import re
    from torch_clients import INTERMEDIATE
    link(os.path.join(DATA, "names"), str(tmp_path / "data" / "names"))
    probes = [PROBES["loss_tenths"]] + ([PROBES["confusion_acc"]] if name == "classification"
                                        else [])
    out = _ok(run_client(os.path.join(INTERMEDIATE, f"char_rnn_{name}_tutorial.py"),
                         cwd=tmp_path, timeout=1800, env={"MPLBACKEND": "Agg"},
                         probes=probes))
    # classification prints "5000 5% (0m 8s) 2.4759 ...", generation "0m 8s (5000 5%) 2.47"
    losses = [float(m) for m in re.findall(r"\b\d+ \d+%\)? (?:\(\S+ \S+\) )?([0-9.]+)", out)]
    assert "100000 100%" in out and len(losses) == 20, losses
    got = probed(out)
    tenths = ast.literal_eval(got[PROBES["loss_tenths"]])
    assert len(tenths) == 10, tenths
    # torch 2.14 on the same script: classification 2.5 -> 1.1, generation 3.0 -> 2.4
    assert tenths[-1] < tenths[0] - (0.8 if name == "classification" else 0.3), tenths
    if name == "classification":  # per-language accuracy, 18 languages (chance 0.056)
        assert float(got[PROBES["confusion_acc"]]) > 0.4, got


@slow
def test_seq2seq_translation_tutorial_learns_to_translate(tmp_path):
    # the attention seq2seq tutorial, whole: 75,000 single-pair SGD steps of a GRU
    # encoder and an attention GRU decoder on fra-eng (about 50 minutes here); it prints
    # the mean loss of every 5,000 steps and ten random translations, and the probe scores
    # its own greedy evaluate() on 500 of its pairs
    from torch_clients import INTERMEDIATE
    link(os.path.join(DATA, "fra-eng", "fra.txt"), str(tmp_path / "data" / "eng-fra.txt"))
    out = _ok(run_client(os.path.join(INTERMEDIATE, "seq2seq_translation_tutorial.py"),
                         cwd=tmp_path, timeout=3 * 3600, probes=[PROBES["s2s_exact"]]))
    import re
    losses = [float(m) for m in re.findall(r"\(\d+ \d+%\) ([0-9.]+)", out)]
    assert len(losses) == 15 and losses[-1] < 0.5 * losses[0], losses
    assert out.count("\n< ") == 10
    assert float(probed(out)[PROBES["s2s_exact"]]) > 0.3
