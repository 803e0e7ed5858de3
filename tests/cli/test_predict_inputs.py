"""``chainrule predict`` believes nothing: non-finite values, values outside the
training range, empty input and files of the wrong format are refused with one line
naming the file (exit 2); ``--no-check`` skips the range check."""
import urllib.request

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.data.datasets.digits import load_digits_arrays
from chainrule.train.checkpoint import load_checkpoint


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: 1 / 0)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    assert main(["train", "--out", str(out), "--hidden-sizes", "16", "--epochs", "1",
                 "--no-progress", "--quiet"]) == 0
    return str(out / "last.ckpt")


def samples(n=2):
    pixels, _ = load_digits_arrays()
    return (pixels[:n] / 16).astype(np.float32)


def predict(ckpt, path, capsys, *extra):
    code = main(["predict", ckpt, str(path), *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err.strip()


def test_the_training_range_is_recorded(ckpt):
    raw = load_checkpoint(ckpt)["meta"]["raw_input"]
    assert raw["min"] == 0.0 and raw["max"] == 1.0 and raw["shape"] == [1, 8, 8]


def test_good_input_passes(ckpt, tmp_path, capsys):
    np.save(tmp_path / "x.npy", samples())
    code, out, _ = predict(ckpt, tmp_path / "x.npy", capsys)
    assert code == 0 and out.count("p=") == 2


def test_nan_input_refused(ckpt, tmp_path, capsys):
    np.save(tmp_path / "nan.npy", np.full((1, 64), np.nan, np.float32))
    code, out, err = predict(ckpt, tmp_path / "nan.npy", capsys)
    assert code == 2 and out == ""
    assert f"{tmp_path / 'nan.npy'}: 64 of 64 values are NaN or infinite" in err


def test_out_of_range_pixels_refused_unless_no_check(ckpt, tmp_path, capsys):
    np.save(tmp_path / "px.npy", (samples() * 255).astype(np.int64))
    code, _, err = predict(ckpt, tmp_path / "px.npy", capsys)
    assert code == 2 and "far outside the 0..1 (float32) the model was trained on" in err
    assert "--no-check" in err and "(int64)" in err
    code, out, _ = predict(ckpt, tmp_path / "px.npy", capsys, "--no-check")
    assert code == 0 and out.count("p=") == 2


@pytest.mark.parametrize("name, content, message", [
    ("empty.npy", None, "holds no samples"),
    ("header.csv", b"p0,p1\n", "holds no samples"),
    ("text.npy", b"0.1,0.2,0.3\n", "not a .npy file (it does not start with NumPy's"),
    ("latin1.csv", "0.5,0.25\n\xe9t\xe9\n".encode("latin-1"), "not UTF-8 text (byte"),
])
def test_bad_files_name_the_file_and_format(ckpt, tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if content is None:
        np.save(path, np.zeros((0, 64), np.float32))
    else:
        path.write_bytes(content)
    code, _, err = predict(ckpt, path, capsys)
    assert code == 2 and err.startswith(f"chainrule predict: error: {path}: "), err
    assert message in err
    if "not" in message:
        assert "expected a .npy file (numpy.save) or a UTF-8 CSV" in err


def test_pickled_npy_refused(ckpt, tmp_path, capsys):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    code, _, err = predict(ckpt, tmp_path / "obj.npy", capsys)
    assert code == 2 and "holds Python objects, not numbers" in err
