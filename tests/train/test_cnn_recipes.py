"""Image models in the recipes and the CLI: per-model defaults, CHW inputs,
augmentation, and a CIFAR-10-shaped run (on a small random stand-in dataset)."""
import json
import urllib.request

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.data import datasets
from chainrule.data.datasets.base import ArrayDataset
from chainrule.train.recipes import get_recipe, prepare_data


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)

    def no_network(*a, **k):
        raise urllib.error.URLError("network disabled in tests")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)


class FakeCIFAR(ArrayDataset):
    """uint8 32x32x3 images like CIFAR10's, 48 train / 16 test."""
    classes = [f"c{i}" for i in range(10)]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=True):
        g = np.random.default_rng(0 if train else 1)
        n = 48 if train else 16
        super().__init__(g.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
                         g.integers(0, 10, n), transform, target_transform)


@pytest.fixture
def fake_cifar(monkeypatch):
    entry = dict(datasets._REGISTRY["cifar10"], builder=FakeCIFAR, available=lambda: True)
    monkeypatch.setitem(datasets._REGISTRY, "cifar10", entry)


def test_per_model_defaults():
    r = get_recipe("fashion_mnist")
    assert r.defaults_for("mlp") == r.defaults  # the MLP recipe is unchanged
    d2l = r.defaults_for("lenet")  # d2l 6.6
    assert (d2l["lr"], d2l["batch_size"], d2l["epochs"], d2l["momentum"],
            d2l["scheduler"]) == (0.9, 256, 10, 0.0, "none")
    bn = r.defaults_for("lenet_bn")
    assert (bn["lr"], bn["momentum"], bn["scheduler"]) == (0.1, 0.9, "cosine")
    assert r.defaults_for("densenet")["weight_decay"] == 5e-4
    assert get_recipe("cifar10").defaults_for("resnet18")["augment"] is True


def test_image_bundles_are_chw(fake_cifar):
    assert prepare_data("digits", batch_size=32).input_shape == (1, 8, 8)
    b = prepare_data("cifar10", batch_size=16, augment=True)
    assert b.input_shape == (3, 32, 32) and b.num_outputs == 10
    x, _ = next(iter(b.train_loader))
    assert x.shape == (16, 3, 32, 32)
    with pytest.raises(ValueError, match="no augmentation recipe"):
        prepare_data("kaggle_house", augment=True)


def test_cli_trains_a_cnn_on_cifar10_shaped_data(fake_cifar, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "resnet_small", "--data", "cifar10", "--epochs", "1", "--width", "4",
                 "--batch-size", "16", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "training resnet_small (" in text and "on cifar10: 43 training samples (5 more held out" in text
    hist = json.loads((out / "history.json").read_text())
    assert len(hist) == 1 and "val_acc" in hist[0]
    assert (out / "last.ckpt").stat().st_size > 0


@pytest.mark.parametrize("model", ["lenet", "nin", "dilated_context"])
def test_cli_trains_zoo_models_on_digits(model, tmp_path):
    assert main(["train", model, "--data", "digits", "--epochs", "1", "--batch-size", "256",
                 "--out", str(tmp_path / model), "--no-progress", "--quiet"]) == 0


def test_width_is_refused_for_models_without_it(tmp_path):
    assert main(["train", "lenet", "--data", "digits", "--width", "8", "--epochs", "1"]) == 2
