"""CIFAR-10 on a tiny archive in the exact real format (Python 2 protocol-2 pickles in
cifar-10-python.tar.gz), plus the safe unpickler and the extraction guards.  No network."""
import hashlib
import io
import os
import pickle
import struct
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, datasets as D
from chainrule.data import transforms as T
from chainrule.data.datasets import cifar as C
from chainrule.data.download import ChecksumError

N_TRAIN, N_TEST = 3, 4  # images per training batch / in the test batch
NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse",
         b"ship", b"truck"]


# ------------------------------------------------ pickles as Python 2's cPickle wrote them
def _str(b):  # a Python 2 str: SHORT_BINSTRING / BINSTRING
    return (b"U" + bytes([len(b)]) if len(b) < 256 else b"T" + struct.pack("<I", len(b))) + b


def _int(i):
    if 0 <= i < 256:
        return b"K" + bytes([i])
    if 0 <= i < 65536:
        return b"M" + struct.pack("<H", i)
    return b"J" + struct.pack("<i", i)


def _py2(obj):
    if isinstance(obj, dict):
        return b"}(" + b"".join(_py2(k) + _py2(v) for k, v in obj.items()) + b"u"
    if isinstance(obj, list):
        return b"](" + b"".join(_py2(v) for v in obj) + b"e"
    if isinstance(obj, bytes):
        return _str(obj)
    if isinstance(obj, int):
        return _int(obj)
    if isinstance(obj, np.ndarray):  # numpy 1.x: _reconstruct + BUILD(state)
        assert obj.dtype == np.uint8 and obj.ndim == 2
        dtype = (b"cnumpy\ndtype\n" + _str(b"u1") + _int(0) + _int(1) + b"\x87R(" + _int(3)
                 + _str(b"|") + b"NNN" + _int(-1) + _int(-1) + _int(0) + b"tb")
        return (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + _int(0)
                + b"\x85" + _str(b"b") + b"\x87R(" + _int(1) + _int(obj.shape[0])
                + _int(obj.shape[1]) + b"\x86" + dtype + b"\x89" + _str(obj.tobytes()) + b"tb")
    raise TypeError(type(obj))


def py2_pickle(obj):
    return b"\x80\x02" + _py2(obj) + b"."


def make_batches(seed=0):
    rng = np.random.default_rng(seed)
    files, images, labels = {}, {}, {}
    for i, name in enumerate(["data_batch_%d" % k for k in range(1, 6)] + ["test_batch"]):
        n = N_TEST if name == "test_batch" else N_TRAIN
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        lab = [int(v) for v in rng.integers(0, 10, n)]
        files[name] = py2_pickle({b"data": data, b"labels": lab,
                                  b"batch_label": b"batch %d" % i,
                                  b"filenames": [b"img_%d.png" % j for j in range(n)]})
        images[name], labels[name] = data, lab
    files["batches.meta"] = py2_pickle({b"num_cases_per_batch": 10000,
                                        b"label_names": NAMES, b"num_vis": 3072})
    files["readme.html"] = b"<html></html>"
    return files, images, labels


def write_tar(path, files, folder="cifar-10-batches-py", extra=()):
    with tarfile.open(path, "w:gz") as tar:
        d = tarfile.TarInfo(folder)
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
        for name, data in files.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _sha(b):
    return hashlib.sha256(b).hexdigest()


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)

    def no_network(*a, **k):
        raise AssertionError("test tried to use the network")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)


@pytest.fixture
def fixture(tmp_path, monkeypatch):
    files, images, labels = make_batches()
    archive = tmp_path / "cifar-10-python.tar.gz"
    write_tar(archive, files)
    monkeypatch.setattr(C.CIFAR10, "archive_sha256", _sha(archive.read_bytes()))
    monkeypatch.setattr(C.CIFAR10, "file_md5", {n: hashlib.md5(b).hexdigest()
                                                for n, b in files.items()})
    return archive, files, images, labels


def _expected(images, labels, names):
    data = np.concatenate([images[n] for n in names]).reshape(-1, 3, 32, 32)
    return data.transpose(0, 2, 3, 1), sum((labels[n] for n in names), [])


# ----------------------------------------------------------------- tests
def test_fixture_is_a_real_py2_pickle_and_safe_loader_agrees(fixture):
    _, files, images, _ = fixture
    std = pickle.loads(files["data_batch_1"], encoding="bytes")
    safe = C.safe_load_pickle(files["data_batch_1"])
    assert set(safe) == {b"data", b"labels", b"batch_label", b"filenames"}
    assert np.array_equal(safe[b"data"], std[b"data"])
    assert safe[b"data"].dtype == np.uint8 and np.array_equal(safe[b"data"],
                                                               images["data_batch_1"])
    assert safe[b"labels"] == std[b"labels"]
    # pickles written by Python 3 / NumPy 2 (protocols 2 and 5) load too
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for proto in (2, 5):
        got = C.safe_load_pickle(pickle.dumps({"data": arr, b"k": [1, "s"]}, protocol=proto))
        assert np.array_equal(got["data"], arr) and got[b"k"] == [1, "s"]


def test_cifar_from_chainrule_data_archive(fixture, tmp_path, monkeypatch):
    archive, _, images, labels = fixture
    data = tmp_path / "data" / "cifar10"
    data.mkdir(parents=True)
    os.replace(archive, data / "cifar-10-python.tar.gz")
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    assert D.is_available("cifar10")
    train = D.get_dataset("cifar10", train=True)
    x, y = _expected(images, labels, ["data_batch_%d" % k for k in range(1, 6)])
    assert len(train) == 5 * N_TRAIN and train.data.shape == (15, 32, 32, 3)
    assert np.array_equal(train.data, x) and train.targets.tolist() == y
    img, lab = train[4]
    assert img.dtype == np.uint8 and img.shape == (32, 32, 3) and lab == y[4]
    # pixel layout: row r, column c, channel k is data[k * 1024 + r * 32 + c]
    raw = images["data_batch_2"][1]
    assert img[5, 7].tolist() == [raw[5 * 32 + 7], raw[1024 + 5 * 32 + 7],
                                  raw[2048 + 5 * 32 + 7]]
    assert train.classes[0] == "airplane" and train.class_to_idx["truck"] == 9
    test = C.CIFAR10(train=False, transform=T.ToTensor())
    t0, l0 = test[0]
    assert t0.shape == (3, 32, 32) and t0.dtype == cr.float32 and l0 == labels["test_batch"][0]
    np.testing.assert_allclose(t0.numpy(), images["test_batch"][0].reshape(3, 32, 32) / 255,
                               atol=1e-7)
    # extracted into the cache, CHAINRULE_DATA left untouched; later loads reuse it
    assert os.listdir(data) == ["cifar-10-python.tar.gz"]
    cached = tmp_path / "cache" / "cifar10"
    assert sorted(os.listdir(cached)) == ["cifar-10-batches-py"]
    monkeypatch.setattr(C, "extract_cifar", lambda *a, **k: pytest.fail("re-extracted"))
    assert len(C.CIFAR10(train=False)) == N_TEST


def test_extracted_folder_in_chainrule_data_and_loader(fixture, tmp_path, monkeypatch):
    _, files, images, labels = fixture
    folder = tmp_path / "data" / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, b in files.items():
        (folder / name).write_bytes(b)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize(C.CIFAR10.mean, C.CIFAR10.std)])
    ds = C.CIFAR10(transform=tf, download=False)
    cr.manual_seed(0)
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True)))  # batched fast path
    assert xb.shape == (4, 3, 32, 32) and xb.dtype == cr.float32 and yb.dtype == cr.int64
    plain = C.CIFAR10(transform=T.ToTensor(), download=False)
    batch = plain.get_batch(np.array([0, 5, 7]))
    for k, i in enumerate([0, 5, 7]):
        np.testing.assert_array_equal(batch[0].numpy()[k], plain[i][0].numpy())
    assert not (tmp_path / "cache").exists()  # nothing extracted or downloaded


def test_download_checksum_and_offline_errors(fixture, tmp_path, monkeypatch):
    archive, *_ = fixture
    payload = archive.read_bytes()
    calls = []

    def serve(req, timeout=None):
        calls.append(req.full_url)
        return io.BytesIO(payload)
    monkeypatch.setattr(urllib.request, "urlopen", serve)
    ds = C.CIFAR10(train=False)
    assert calls == [C.CIFAR10.url] and len(ds) == N_TEST
    assert (tmp_path / "cache" / "cifar10" / "cifar-10-python.tar.gz").is_file()

    # a corrupt download is rejected and leaves nothing behind
    other = tmp_path / "other"
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda req, timeout=None: io.BytesIO(payload[:-10] + b"x" * 10))
    with pytest.raises(ChecksumError, match="expected sha256"):
        C.CIFAR10(root=str(other))
    assert os.listdir(other / "cifar10") == []

    def offline(req, timeout=None):
        raise urllib.error.URLError("no route to host")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(RuntimeError, match="CHAINRULE_DATA"):
        C.CIFAR10(root=str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match="download=False"):
        C.CIFAR10(root=str(tmp_path / "empty"), download=False)
    assert not C.CIFAR10.available(root=str(tmp_path / "empty"))

    # a batch file that differs from its published checksum
    bad = tmp_path / "cache" / "cifar10" / "cifar-10-batches-py" / "test_batch"
    raw = bytearray(bad.read_bytes())
    raw[-100] ^= 0xFF  # one pixel byte
    bad.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="expected md5"):
        C.CIFAR10(train=False)


def test_safe_unpickler_rejects_code(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    class EvalEvil:
        def __reduce__(self):
            return (eval, (f"open({str(marker)!r}, 'w')",))

    for payload in (pickle.dumps(Evil(), protocol=2), pickle.dumps({b"data": EvalEvil()}),
                    b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."):
        with pytest.raises(pickle.UnpicklingError, match="refusing"):
            C.safe_load_pickle(payload)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match="object dtype"):
        C.safe_load_pickle(pickle.dumps(np.array([1, None], dtype=object)))
    # a planted batch file is refused by the dataset too
    files, *_ = make_batches()
    files["test_batch"] = pickle.dumps(Evil(), protocol=2)
    folder = tmp_path / "data" / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, b in files.items():
        (folder / name).write_bytes(b)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(C.CIFAR10, "file_md5", {})
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        C.CIFAR10(train=False, download=False)
    assert not marker.exists()


def test_extraction_ignores_traversal_and_rejects_links(tmp_path):
    files, *_ = make_batches()
    members = list(C.CIFAR10._members())
    evil = []
    for name in ("../escaped", "/tmp/abs_escaped", "cifar-10-batches-py/../../escaped2"):
        info = tarfile.TarInfo(name)
        info.size = 4
        evil.append((info, b"evil"))
    archive = tmp_path / "a.tar.gz"
    write_tar(archive, files, extra=evil)
    target = tmp_path / "out" / "cifar10"
    path = C.extract_cifar(str(archive), str(target), "cifar-10-batches-py", members)
    assert sorted(os.listdir(path)) == sorted(members)
    assert sorted(os.listdir(target)) == ["cifar-10-batches-py"]  # no temp folder left
    assert not (tmp_path / "out" / "escaped").exists() and not (tmp_path / "escaped").exists()

    link = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    files2 = dict(files)
    del files2["data_batch_1"]
    write_tar(tmp_path / "b.tar.gz", files2, extra=[(link, None)])
    with pytest.raises(ValueError, match="not a regular file"):
        C.extract_cifar(str(tmp_path / "b.tar.gz"), str(tmp_path / "o2"),
                        "cifar-10-batches-py", members)
    del files2["test_batch"]
    write_tar(tmp_path / "c.tar.gz", files2)
    with pytest.raises(ValueError, match="missing"):
        C.extract_cifar(str(tmp_path / "c.tar.gz"), str(tmp_path / "o3"),
                        "cifar-10-batches-py", members)
    assert os.listdir(tmp_path / "o2") == [] and os.listdir(tmp_path / "o3") == []


def test_bad_batch_contents(tmp_path):
    p = tmp_path / "b"
    p.write_bytes(py2_pickle({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match=r"\(N, 3072\)"):
        C.load_cifar_batch(str(p))
    p.write_bytes(py2_pickle({b"labels": [0]}))
    with pytest.raises(ValueError, match="b'data'"):
        C.load_cifar_batch(str(p))
    p.write_bytes(py2_pickle({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 12]}))
    with pytest.raises(ValueError, match="labels in 0..9"):
        C.load_cifar_batch(str(p))
