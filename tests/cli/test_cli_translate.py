"""``chainrule train seq2seq|seq2seq-attention|transformer --data fra-eng``, then
``chainrule translate`` and ``chainrule eval`` (BLEU on the held-out split) on its
checkpoint, resume, and the errors.  A small fra.txt in the real tab-separated format
is written to a temporary CHAINRULE_DATA; never touches the network."""
import hashlib
import json
import urllib.request

import pytest

from chainrule.cli import main
from chainrule.text.translation import FraEng

PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours\u202f!"), ("I lost.", "J'ai perdu."),
         ("He's calm.", "Il est calme."), ("I'm home.", "Je suis chez moi."),
         ("I'm calm.", "Je suis calme."), ("He's home.", "Il est chez lui."),
         ("I lost it.", "Je l'ai perdu."), ("Go home.", "Rentre chez toi.")]


@pytest.fixture(autouse=True)
def _data(tmp_path, monkeypatch):
    root = tmp_path / "data"
    (root / "fra-eng").mkdir(parents=True)
    text = "".join(f"{e}\t{f}\n" for e, f in PAIRS * 8).encode()
    (root / "fra-eng" / "fra.txt").write_bytes(text)
    monkeypatch.setattr(FraEng, "resources", {"fra.txt": hashlib.sha256(text).hexdigest()})
    monkeypatch.setenv("CHAINRULE_DATA", str(root))
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: 1 / 0)
    return root


FAST = ["--no-progress", "--batch-size", "16", "--hidden-size", "16"]


def test_train_translate_eval_resume(tmp_path, capsys):
    out = tmp_path / "att"
    assert main(["train", "seq2seq-attention", "--data", "fra-eng", "--epochs", "2",
                 "--embed-size", "16", "--out", str(out), *FAST]) == 0
    text = capsys.readouterr().out
    assert "training seq2seq-attention" in text and "training pairs" in text
    assert "epoch 1/2  train_loss" in text and "epoch 2/2  train_loss" in text
    assert "final train loss per token (2 epochs" in text
    ckpt = str(out / "last.ckpt")
    assert main(["translate", ckpt, "I lost.", "go ."]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert main(["translate", ckpt, "i lost .", "--beam", "3"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["eval", str(out / "best.ckpt"), "--limit", "2"]) == 0
    assert "seq2seq-attention on fra-eng (held-out split, 2 pairs, greedy, epoch" in \
        capsys.readouterr().out
    assert main(["train", "--resume", ckpt, "--epochs", "3", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "resuming seq2seq-attention on fra-eng" in text and "epoch 3/3" in text
    hist = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in hist] == [1, 2, 3]


@pytest.mark.parametrize("bucket", [[], ["--bucket"]], ids=["padded", "bucketed"])
def test_validation_split_picks_best_ckpt_by_val_bleu_and_resumes_exactly(bucket, tmp_path,
                                                                         capsys):
    args = ["train", "seq2seq-attention", "--data", "fra-eng", "--val-fraction", "0.2",
            "--embed-size", "16", *FAST, *bucket]
    assert main([*args, "--epochs", "3", "--out", str(tmp_path / "a")]) == 0
    text = capsys.readouterr().out
    assert "pairs held out for validation (val_loss; val_bleu, greedy" in text
    assert "val_bleu" in text and "final validation loss per token (3 epochs" in text
    hist = json.loads((tmp_path / "a" / "history.json").read_text())
    assert all({"val_loss", "val_bleu"} <= set(r) for r in hist)
    best = max(range(3), key=lambda i: (hist[i]["val_bleu"], -i))  # first of the maxima
    from chainrule.train.checkpoint import load_checkpoint
    ckpt = load_checkpoint(str(tmp_path / "a" / "best.ckpt"))
    assert ckpt["epoch"] == best + 1
    assert ckpt["meta"]["validation"]["fraction"] == 0.2
    # resumed from epoch 1 to 3: the same history, validation columns included
    assert main([*args, "--epochs", "1", "--out", str(tmp_path / "b")]) == 0
    assert main(["train", "--resume", str(tmp_path / "b" / "last.ckpt"), "--epochs", "3",
                 "--no-progress"]) == 0
    b = json.loads((tmp_path / "b" / "history.json").read_text())
    assert [(r["train_loss"], r["val_loss"], r["val_bleu"]) for r in b] == \
        [(r["train_loss"], r["val_loss"], r["val_bleu"]) for r in hist]


def test_validation_pairs_are_disjoint_from_training_and_test_pairs(_data):
    from chainrule.train.nmt_recipes import prepare_nmt_data, validation_split
    from chainrule.text.translation import load_pairs, split_pairs
    train_all, test = split_pairs(*load_pairs())
    train, val = validation_split(train_all, 0.25)
    assert len(val) == round(0.25 * len(train_all)) and len(train) + len(val) == \
        len(train_all)
    assert validation_split(train_all, 0.25) == (train, val)      # seeded, not by run
    assert validation_split(train_all, 0.0) == (train_all, [])
    ids = lambda pairs: {id(p) for p in pairs}                   # noqa: E731
    assert not ids(train) & ids(val)
    data = prepare_nmt_data(8, 10, max_examples=-1, val_fraction=0.25)
    assert data.num_pairs == len(train) and data.val_pairs == val
    assert sum(len(b[0][0]) for b in data.val_loader) == len(val)
    assert len(test) and len(train) + len(val) + len(test) == len(load_pairs()[0])
    data = prepare_nmt_data(8, 10, max_examples=5, val_fraction=0.25)  # cut after the split
    assert data.num_pairs == 5 and data.val_pairs == val


@pytest.mark.parametrize("bucket", [[], ["--bucket"]], ids=["padded", "bucketed"])
def test_resume_matches_an_uninterrupted_run_and_transformer_eval(bucket, tmp_path, capsys):
    args = ["train", "transformer", "--data", "fra-eng", "--max-examples", "40",
            "--num-heads", "2", *FAST, *bucket]
    assert main([*args, "--epochs", "2", "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--epochs", "1", "--out", str(tmp_path / "b")]) == 0
    assert main(["train", "--resume", str(tmp_path / "b" / "last.ckpt"), "--epochs", "2",
                 "--no-progress"]) == 0
    a, b = (json.loads((tmp_path / d / "history.json").read_text()) for d in "ab")
    assert [r["train_loss"] for r in a] == [r["train_loss"] for r in b]
    assert ("bucketed" in capsys.readouterr().out) == bool(bucket)
    assert main(["eval", str(tmp_path / "a" / "last.ckpt"), "--beam", "2"]) == 0
    assert "transformer on fra-eng (held-out split, " in capsys.readouterr().out
    assert main(["train", "transformer", "--data", "fra-eng", "--epochs", "1",
                 "--out", str(tmp_path / "a"), *FAST]) == 2  # holds a run
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["train", "seq2seq-atention", "--data", "fra-eng"], "did you mean 'seq2seq-attention'"),
    (["train", "seq2seq", "--data", "fra-en"], "did you mean 'fra-eng'"),
    (["train", "mlp", "--data", "fra-eng"], "'mlp' is a classification model but dataset "
     "'fra-eng' is a translation dataset; models for translation: seq2seq"),
    (["train", "seq2seq", "--data", "digits"], "'seq2seq' is a translation model"),
    (["train", "transformer", "--data", "fra-eng", "--embed-size", "8"],
     "model 'transformer' has no such option"),
    (["train", "seq2seq", "--data", "fra-eng", "--max-examples", "0"],
     "argument --max-examples: must be >= 1 (-1: all training pairs), got 0"),
    (["train", "mlp", "--data", "digits", "--max-examples", "5"],
     "argument --max-examples: does not apply to dataset runs"),
])
def test_errors_name_what_went_wrong(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert message in capsys.readouterr().err


def test_translate_refuses_a_classifier_checkpoint(tmp_path, capsys):
    out = tmp_path / "mlp"
    assert main(["train", "mlp", "--epochs", "1", "--hidden-sizes", "8", "--out", str(out),
                 "--no-progress", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["translate", str(out / "last.ckpt"), "i lost ."]) == 2
    err = capsys.readouterr().err
    assert "holds a classification model ('mlp'), not a translation model" in err
    assert "chainrule train transformer --data fra-eng" in err
    assert main(["translate", str(tmp_path / "missing.ckpt"), "go ."]) == 2
    assert "missing.ckpt" in capsys.readouterr().err
