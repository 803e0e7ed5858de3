"""The torchvision shim: datasets in torchvision's file layout, make_grid/save_image,
models; and torch.save/load on file objects."""
import io
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.torch_compat import torch_extras
from chainrule.torch_compat.torchvision import datasets, models, utils

DATA = os.environ.get("CHAINRULE_DATA") or "/work/shared/data"
needs_mnist = pytest.mark.skipif(not os.path.isdir(os.path.join(DATA, "mnist")),
                                 reason="shared/data/mnist is absent")


@needs_mnist
def test_mnist_from_torchvision_raw_folder(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in os.listdir(os.path.join(DATA, "mnist")):
        os.symlink(os.path.join(DATA, "mnist", f), raw / f)
    ds = datasets.MNIST(str(tmp_path), train=False, download=False)
    assert len(ds) == 10000 and ds.data.shape == (10000, 28, 28)
    assert isinstance(ds.targets, cr.Tensor) and ds.targets[:3].tolist() == [7, 2, 1]
    img, label = ds[0]
    assert img.shape == (28, 28) and label == 7
    assert ds._ds._file("t10k-labels-idx1-ubyte.gz", False).startswith(str(raw))
    assert "Split: Test" in repr(ds)


def test_missing_dataset_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(RuntimeError, match="Dataset not found"):
        datasets.FashionMNIST(str(tmp_path), train=False, download=False)


def test_make_grid_layout():
    x = cr.tensor(np.arange(2 * 1 * 2 * 3, dtype=np.float32).reshape(2, 1, 2, 3))
    g = utils.make_grid(x, nrow=2, padding=1)
    assert g.shape == (3, 2 + 2, 2 * 3 + 3)  # grey -> 3 channels, padding around
    np.testing.assert_array_equal(g.numpy()[0, 1:3, 1:4], x.numpy()[0, 0])
    np.testing.assert_array_equal(g.numpy()[2, 1:3, 5:8], x.numpy()[1, 0])
    n = utils.make_grid(x, normalize=True).numpy()
    assert n.max() == 1.0 and n[:, 2:4, 2:5].min() == 0.0


def test_save_image(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image
    utils.save_image(cr.rand(5, 1, 8, 8), tmp_path / "g.png", nrow=5)
    assert Image.open(tmp_path / "g.png").size == (5 * 10 + 2, 12)


def test_models_from_the_zoo():
    m = models.resnet18(num_classes=10)
    assert m(cr.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(NotImplementedError, match="pretrained"):
        models.vgg16(weights="IMAGENET1K_V1")


def test_save_load_file_objects():
    buf = io.BytesIO()
    torch_extras.save({"w": cr.ones(2), "n": np.arange(3.0)}, buf)
    buf.seek(0)
    back = torch_extras.load(buf, weights_only=True)
    assert back["w"].tolist() == [1.0, 1.0] and back["n"].tolist() == [0.0, 1.0, 2.0]


def test_io_reads_and_writes_images_like_torchvision(tmp_path):
    pytest.importorskip("PIL")
    from chainrule.torch_compat.torchvision import io as tvio
    rgb = cr.tensor(np.random.default_rng(0).integers(0, 256, (3, 5, 7)), dtype=cr.uint8)
    tvio.write_png(rgb, tmp_path / "a.png")
    back = tvio.read_image(tmp_path / "a.png")
    assert back.dtype == cr.uint8 and back.shape == (3, 5, 7)
    np.testing.assert_array_equal(back.numpy(), rgb.numpy())
    gray = tvio.read_image(str(tmp_path / "a.png"), tvio.ImageReadMode.GRAY)
    assert gray.shape == (1, 5, 7)
    np.testing.assert_array_equal(tvio.decode_image(tvio.read_file(tmp_path / "a.png")).numpy(),
                                  rgb.numpy())
    with pytest.raises(ValueError, match="write_png: expected a \\(C, H, W\\) uint8"):
        tvio.write_png(cr.rand(3, 2, 2), tmp_path / "b.png")
