"""Datasets: parsers on tiny fixture files in the real formats, and the real files when
../shared/data (an offline copy, see docs/datasets.md) is present.  No network."""
import gzip
import hashlib
import pathlib
import struct
import urllib.request

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, datasets as D
from chainrule.data.collate import default_collate
from chainrule.data.transforms import Compose, Normalize, ToTensor

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "mnist").is_dir(),
                                  reason="offline data copy ../shared/data not present")


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)

    def no_network(*a, **k):
        raise AssertionError("test tried to use the network")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_idx(path, array, code=0x08):
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + \
        struct.pack(f">{array.ndim}I", *array.shape)
    dt = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(dt).tobytes())


# ----------------------------------------------------------------- IDX / MNIST
def test_read_idx_roundtrip_and_errors(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", a)
    assert np.array_equal(D.read_idx(str(tmp_path / "a.gz"), 3), a)
    b = np.array([[1, -2], [70000, 3]], np.int32)
    write_idx(tmp_path / "b.gz", b, 0x0C)
    got = D.read_idx(str(tmp_path / "b.gz"))
    assert got.dtype.byteorder in "=|" and np.array_equal(got, b)
    with pytest.raises(ValueError, match="expected 1"):
        D.read_idx(str(tmp_path / "a.gz"), 1)
    with gzip.open(tmp_path / "bad.gz", "wb") as f:
        f.write(b"\x1f\x8b\x08\x03garbage")
    with pytest.raises(ValueError, match="not an IDX file"):
        D.read_idx(str(tmp_path / "bad.gz"))
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(struct.pack(">BBBBI", 0, 0, 8, 1, 10) + b"\x01\x02")
    with pytest.raises(ValueError, match="bytes follow"):
        D.read_idx(str(tmp_path / "short.gz"))


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 11), ("t10k", 4)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))

    class TinyMNIST(D.MNIST):
        resources = {p.name: _sha(p) for p in folder.iterdir()}
    return TinyMNIST


def test_mnist_on_fixture_files(tiny_mnist):
    tr, te = tiny_mnist(), tiny_mnist(train=False)
    assert tr.data.shape == (11, 28, 28) and tr.data.dtype == np.uint8 and len(te) == 4
    img, label = tr[3]
    assert isinstance(img, np.ndarray) and img.shape == (28, 28) and label == 3
    t = tiny_mnist(transform=ToTensor(), target_transform=lambda y: y + 100)
    x, y = t[1]
    assert x.shape == (1, 28, 28) and x.dtype == cr.float32 and y == 101
    assert float(x.numpy().max()) <= 1.0
    assert tiny_mnist.available()


def test_mnist_checksum_mismatch(tiny_mnist):
    class Wrong(tiny_mnist):
        resources = dict(tiny_mnist.resources, **{"t10k-labels-idx1-ubyte.gz": "0" * 64})
    with pytest.raises(RuntimeError, match="t10k-labels-idx1-ubyte.gz.*expected sha256 0{64}"):
        Wrong(train=False)


def test_mnist_missing_offline_error(tmp_path):
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte.gz.*download=False"):
        D.MNIST(root=str(tmp_path), download=False)


@pytest.mark.parametrize("transform", [None, Compose([ToTensor(), Normalize([0.5], [0.25])])])
def test_mnist_loader_fast_path_matches_collate(tiny_mnist, transform):
    ds = tiny_mnist(transform=transform)
    idx = [5, 0, 9]
    fast = ds.get_batch(np.array(idx))
    slow = default_collate([ds[i] for i in idx])
    for f, s in zip(fast, slow):
        assert f.dtype == s.dtype and np.array_equal(f.numpy(), s.numpy())
    a = [b[0].numpy() for b in DataLoader(ds, batch_size=4, shuffle=True,
                                          generator=np.random.default_rng(0))]
    b = [b[0].numpy() for b in DataLoader(ds, batch_size=4, shuffle=True, num_workers=2,
                                          generator=np.random.default_rng(0))]
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and len(a) == 3


# ----------------------------------------------------------------- tabular
HOUSE_TRAIN = """Id,MSSubClass,LotFrontage,Street,MasVnrType,SalePrice
1,60,65,Pave,BrkFace,208500
2,20,NA,Pave,None,181500
3,60,68,Grvl,NA,223500
"""
HOUSE_TEST = """Id,MSSubClass,LotFrontage,Street,MasVnrType
4,70,60,Pave,None
5,60,,Pave,Stone
"""


@pytest.fixture
def tiny_house(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "kaggle_house"
    folder.mkdir(parents=True)
    (folder / "kaggle_house_pred_train.csv").write_text(HOUSE_TRAIN)
    (folder / "kaggle_house_pred_test.csv").write_text(HOUSE_TEST)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))

    class Tiny(D.KaggleHouse):
        resources = {p.name: _sha(p) for p in sorted(folder.iterdir(), reverse=True)}
    return Tiny


def test_house_preprocessing_like_d2l(tiny_house):
    tr, te = tiny_house(), tiny_house(train=False)
    assert tr.feature_names == ["MSSubClass", "LotFrontage", "Street_Grvl", "Street_Pave",
                                "Street_nan", "MasVnrType_BrkFace", "MasVnrType_None",
                                "MasVnrType_Stone", "MasVnrType_nan"]
    X = np.concatenate([tr.data, te.data])
    ms = np.array([60, 20, 60, 70, 60.0])
    assert np.allclose(X[:, 0], (ms - ms.mean()) / ms.std(ddof=1))
    lf = np.array([65, 68, 60.0])
    z = (lf - lf.mean()) / lf.std(ddof=1)
    assert np.allclose(X[:, 1], [z[0], 0, z[1], z[2], 0])  # NA and "" -> 0 after scaling
    assert X[:, 2:].tolist() == [[0, 1, 0, 1, 0, 0, 0], [0, 1, 0, 0, 1, 0, 0],
                                 [1, 0, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0, 0],
                                 [0, 1, 0, 0, 0, 1, 0]]
    assert X.dtype == np.float32 and tr.ids.tolist() == [1, 2, 3]
    x, y = tr[1]
    assert y.shape == (1,) and np.isclose(y.item(), np.log(181500))
    assert np.isnan(te.targets).all()
    xb, yb = next(iter(DataLoader(tr, batch_size=3)))
    assert xb.shape == (3, 9) and yb.shape == (3, 1) and yb.dtype == cr.float32


def test_airfoil_fixture(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "airfoil"
    folder.mkdir(parents=True)
    rows = [[800, 0, 0.3048, 71.3, 0.00266337, 126.201], [1000, 0, 0.3048, 71.3, 0.00266, 125.2],
            [1250, 1.5, 0.2286, 39.6, 0.0031, 127.0]]
    f = folder / "airfoil_self_noise.dat"
    f.write_bytes(b"".join(("\t".join(map(str, r)) + "\r\n").encode() for r in rows))
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(D.AirfoilSelfNoise, "resources", {f.name: _sha(f)})
    ds = D.AirfoilSelfNoise()
    raw = np.array(rows, np.float32)
    std = (raw - raw.mean(0)) / raw.std(0)
    assert np.allclose(ds.data, std[:, :5]) and np.allclose(ds.targets, std[:, 5])
    x, y = ds[0]
    assert x.shape == (5,) and x.dtype == cr.float32 and np.ndim(y) == 0
    assert next(iter(DataLoader(ds, batch_size=3)))[1].dtype == cr.float32


def test_synthetic_linear_and_digits_and_registry():
    X, y = D.synthetic_linear([2, -3.4], 4.2, 1000, seed=0)
    w, *_ = np.linalg.lstsq(np.c_[X.numpy(), np.ones(1000)], y.numpy()[:, 0], rcond=None)
    assert np.allclose(w, [2, -3.4, 4.2], atol=0.01) and y.shape == (1000, 1)
    cr.manual_seed(1)
    a = D.synthetic_linear([1.0], 0.0, 5)[0].numpy()
    cr.manual_seed(1)
    assert np.array_equal(a, D.synthetic_linear([1.0], 0.0, 5)[0].numpy())
    tr, te = D.get_dataset("digits"), D.get_dataset("digits", train=False)
    assert (len(tr), len(te)) == (1437, 360)
    x, y = tr[0]
    assert x.shape == (1, 8, 8) and x.dtype == cr.float32 and y == 0
    assert 0 <= tr.data.min() and tr.data.max() == 1.0
    assert np.bincount(tr.targets).min() >= 140
    assert set(D.list_datasets()) >= {"digits", "mnist", "fashion_mnist", "kaggle_house",
                                      "airfoil", "synthetic_linear"}
    assert D.is_available("digits") and D.is_available("synthetic_linear")
    assert not D.is_available("mnist")  # empty cache, no CHAINRULE_DATA
    assert D.dataset_info("mnist")["files"][0] == "mnist/train-images-idx3-ubyte.gz"
    with pytest.raises(KeyError, match="unknown dataset 'nope'"):
        D.get_dataset("nope")
    with pytest.raises(ValueError, match="already registered"):
        D.register_dataset("digits", D.Digits)
    assert len(D.get_dataset("synthetic_linear", num_examples=10, seed=0)) == 10


# ----------------------------------------------------------------- real files
@pytest.fixture
def shared_env(monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(SHARED))


@pytest.fixture(scope="module")
def real_mnist():
    with pytest.MonkeyPatch.context() as mp:  # loaded once per session
        mp.setenv("CHAINRULE_DATA", str(SHARED))
        mp.setattr(urllib.request, "urlopen", None)
        return D.MNIST(download=False), D.MNIST(train=False, download=False)


@needs_shared
def test_real_mnist(real_mnist, shared_env):
    tr, te = real_mnist
    assert tr.data.shape == (60000, 28, 28) and te.data.shape == (10000, 28, 28)
    assert tr.data.dtype == np.uint8 and tr.targets.tolist()[:5] == [5, 0, 4, 1, 9]
    assert set(np.unique(tr.targets)) == set(range(10)) and len(te.targets) == 10000
    assert abs(tr.data.mean() / 255 - 0.1307) < 1e-3
    assert D.is_available("mnist")
    tr.transform = Compose([ToTensor(), Normalize([0.1307], [0.3081])])
    try:
        x, y = next(iter(DataLoader(tr, batch_size=256, shuffle=True, num_workers=2)))
        assert x.shape == (256, 1, 28, 28) and y.dtype == cr.int64
        assert abs(float(x.numpy().mean())) < 0.2
    finally:
        tr.transform = None


@needs_shared
def test_real_fashion_mnist(shared_env):
    te = D.FashionMNIST(train=False)
    assert te.data.shape == (10000, 28, 28) and np.bincount(te.targets).tolist() == [1000] * 10
    assert te.classes[0] == "T-shirt/top" and te.classes[9] == "Ankle boot"
    assert len(te.classes) == 10 and abs(te.data.mean() / 255 - 0.2868) < 1e-3


@needs_shared
def test_real_house_and_airfoil(shared_env):
    tr, te = D.KaggleHouse(), D.KaggleHouse(train=False)
    assert tr.data.shape == (1460, 331) and te.data.shape == (1459, 331)
    assert tr.data.dtype == np.float32 and not np.isnan(tr.data).any()
    assert np.isclose(tr.targets[0, 0], np.log(208500))
    a = D.AirfoilSelfNoise()
    assert a.data.shape == (1503, 5) and np.allclose(a.data.mean(0), 0, atol=1e-4)
    assert len(D.AirfoilSelfNoise(num_examples=1500)) == 1500
