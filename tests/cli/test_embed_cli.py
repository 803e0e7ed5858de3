"""``chainrule embed train|neighbors|analogy|eval``."""
import json
import os

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.text.wordvectors import WordVectors

DATA = os.environ.get("CHAINRULE_DATA", "/work/shared/data")


@pytest.fixture
def vectors(tmp_path):
    words = ["man", "woman", "king", "queen", "apple", "pear"]
    v = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1, 0],
                  [0, 0, 0, 1], [0, 0.1, 0.1, 1]], np.float32)
    path = str(tmp_path / "v.bin")
    WordVectors(words, v).save_word2vec_format(path, binary=True)
    return path


def test_neighbors_and_analogy(vectors, capsys):
    assert main(["embed", "neighbors", vectors, "apple", "-k", "1"]) == 0
    assert "pear" in capsys.readouterr().out
    assert main(["embed", "analogy", vectors, "man", "king", "woman", "-k", "1"]) == 0
    assert capsys.readouterr().out.split("\n")[1].split()[0] == "queen"


def test_unknown_word_and_bad_file_are_usage_errors(vectors, tmp_path, capsys):
    assert main(["embed", "neighbors", vectors, "kingg"]) == 2
    assert "did you mean king" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("not a header line at all\n")
    assert main(["embed", "neighbors", str(bad), "x"]) == 2
    assert "not a word2vec" in capsys.readouterr().err
    assert main(["embed", "train", "--model", "glovez", "--out", "x.bin"]) == 2
    assert "glove" in capsys.readouterr().err
    assert main(["embed", "train", "--model", "cbow", "--shared-negatives", "on",
                 "--out", "x.bin"]) == 2
    assert "--shared-negatives is for skip-gram" in capsys.readouterr().err


def test_eval_reports_coverage(vectors, tmp_path, capsys):
    q = tmp_path / "q.txt"
    q.write_text(": s\nman king woman queen\nman king woman prince\n")
    ws = tmp_path / "ws.tsv"
    ws.write_text("# w1\tw2\tscore\nking\tqueen\t8\nman\tapple\t1\nking\tman\t6\n")
    assert main(["embed", "eval", vectors, "--analogies", str(q), "--wordsim", str(ws),
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["3cosadd"]["accuracy"] == 1.0 and out["3cosadd"]["coverage"] == 0.5
    assert out["wordsim353"]["pairs"] == 3


@pytest.mark.skipif(not os.path.exists(os.path.join(DATA, "ptb", "ptb.train.txt")),
                    reason="PTB not under CHAINRULE_DATA")
@pytest.mark.parametrize("extra", [[], ["--shared-negatives", "off"],
                                   ["--loss", "hs", "--model", "cbow"], ["--model", "glove"],
                                   ["--model", "fasttext", "--bucket", "1000", "--batch-words",
                                    "200"],
                                   ["--recipe", "d2l", "--batch-size", "256"]])
def test_train_smoke(tmp_path, monkeypatch, capsys, extra):
    monkeypatch.setenv("CHAINRULE_DATA", DATA)
    out = str(tmp_path / "v.txt")
    assert main(["embed", "train", "--data", "ptb", "--max-sentences", "400", "--epochs", "2",
                 "--dim", "16", "--min-count", "2", "--no-progress", "--out", out]
                + extra) == 0
    kv = WordVectors.load_word2vec_format(out)
    assert kv.vectors.shape[1] == 16 and np.isfinite(kv.vectors).all()
    hist = json.load(open(str(tmp_path / "v.history.json")))
    assert len(hist) == 2 and hist[1]["train_loss"] < hist[0]["train_loss"]
    assert os.path.exists(str(tmp_path / "v.loss.png"))
