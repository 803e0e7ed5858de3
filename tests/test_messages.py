"""Messages that name the right thing: float shapes, --seed, --num-workers, truncated
.gz files, non-UTF-8 and empty corpora (issue #11)."""
import gzip
import urllib.request

import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.data import DataLoader
from chainrule.data.datasets.mnist import read_idx
from chainrule.text import corpora


@pytest.mark.parametrize("op, args", [("reshape", (2.5, 6)), ("view", (2.9, 6)),
                                      ("reshape", ((2.0, 6),))])
def test_float_shapes_raise_type_error_like_torch(op, args):
    x = cr.arange(12.0)
    with pytest.raises(TypeError, match=f"{op}\\(\\): argument 'shape' must be tuple of "
                       f"ints, but found element of type float"):
        getattr(x, op)(*args)
    assert x.reshape(cr.tensor(3).item(), 4).shape == (3, 4)


@pytest.mark.parametrize("argv, message", [
    (["--seed", "-1"], "argument --seed: must be a whole number in [0, 2**32), got -1"),
    (["--num-workers", "-3"], "argument --num-workers: must be >= 0 (data loading threads"),
])
def test_flags_are_named(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: 1 / 0)
    assert main(["train", "--out", str(tmp_path / "r"), "--epochs", "1", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "multiprocessing" not in err


def test_dataloader_says_threads():
    with pytest.raises(ValueError, match="num_workers \\(data loading threads\\) must be "
                       ">= 0, got -3"):
        DataLoader([1, 2], num_workers=-3)


def test_truncated_gz_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    data = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 200]) + bytes(200))
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=f"{path}: truncated or corrupt gzip file"):
        read_idx(path)


def test_non_utf8_corpus_names_the_file(tmp_path):
    path = tmp_path / "ptb.train.txt"
    path.write_bytes("the cat\n\xe9t\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=f"{path}: not UTF-8 text \\(byte 8 is 0xe9\\)"):
        corpora.read_text_lines(path)


def test_empty_corpus_says_so(tmp_path, monkeypatch):
    (tmp_path / "timemachine").mkdir()
    cls = corpora.get_corpus_class("timemachine")
    monkeypatch.setattr(cls, "read_lines", lambda self, split: ["", ""])
    monkeypatch.setattr(cls, "path", lambda self, name: str(tmp_path / name))
    with pytest.raises(ValueError, match="timemachine: the train split .*timemachine.txt"
                       "\\) holds no text"):
        cls(download=False)
