"""``chainrule train <lm> --data <corpus>`` then ``chainrule generate CHECKPOINT``: the
checkpoint alone (model + vocabulary) is enough to generate, English and Chinese.
Tiny corpora written to a temporary CHAINRULE_DATA; never touches the network."""
import hashlib
import io
import json
import urllib.request
import zipfile

import pytest

from chainrule.cli import main
from chainrule.text import JayChouLyrics, PennTreebank, TimeMachine

TEXT = ("The Time Machine, by H. G. Wells\n\nThe Time Traveller (for so it will be "
        "convenient to speak of him)\nwas expounding a recondite matter to us.\n") * 12
LYRICS = "分开 不分开 想要有直升机 想要和你飞到宇宙去\n我不想就这样分开\n" * 20
PTB = " the cat sat on the mat \n the dog <unk> the cat \n" * 40


def _put(root, folder, name, data):
    (root / folder).mkdir(parents=True, exist_ok=True)
    (root / folder / name).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(autouse=True)
def _data(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setenv("CHAINRULE_DATA", str(root))
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: 1 / 0)
    monkeypatch.setattr(TimeMachine, "resources", {"timemachine.txt": _put(
        root, "timemachine", "timemachine.txt", TEXT.encode())})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("jaychou_lyrics.txt", LYRICS.encode())
    monkeypatch.setattr(JayChouLyrics, "resources", {"jaychou_lyrics.txt.zip": _put(
        root, "jaychou_lyrics", "jaychou_lyrics.txt.zip", buf.getvalue())})
    monkeypatch.setattr(PennTreebank, "resources", {
        f"ptb.{s}.txt": _put(root, "ptb", f"ptb.{s}.txt", PTB.encode())
        for s in ("train", "valid", "test")})
    return root


FAST = ["--epochs", "1", "--hidden-size", "16", "--batch-size", "4", "--num-steps", "8",
        "--no-progress"]


def test_train_then_generate_english(tmp_path, capsys):
    out = tmp_path / "tm"
    assert main(["train", "lstm-lm", "--data", "timemachine", "--out", str(out), *FAST]) == 0
    text = capsys.readouterr().out
    assert "training lstm-lm" in text and "final train perplexity" in text
    hist = json.loads((out / "history.json").read_text())
    assert hist[0]["train_ppl"] > 1
    ckpt = str(out / "last.ckpt")
    assert main(["eval", ckpt]) == 0
    assert "lstm-lm on timemachine (train, " in capsys.readouterr().out
    assert main(["generate", ckpt, "--prefix", "time traveller", "--length", "20",
                 "--seed", "0"]) == 0
    first = capsys.readouterr().out.strip()
    assert first.startswith("time traveller") and len(first) >= 34
    assert main(["generate", ckpt, "--prefix", "time traveller", "--length", "20",
                 "--seed", "0"]) == 0
    assert capsys.readouterr().out.strip() == first       # seeded
    assert main(["generate", ckpt, "--prefix", "the", "--greedy", "--length", "10"]) == 0
    assert main(["generate", ckpt, "--prefix", "the", "--top-k", "3", "--top-p", "0.9",
                 "--temperature", "0.7", "--num-samples", "2", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_train_then_generate_chinese_and_words(tmp_path, capsys):
    out = tmp_path / "jc"
    assert main(["train", "gru-lm", "--data", "jaychou", "--out", str(out), *FAST]) == 0
    assert main(["generate", str(out / "last.ckpt"), "--prefix", "分开", "--length", "8",
                 "--seed", "0"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("分开")
    out = tmp_path / "ptb"
    assert main(["train", "lstm-lm", "--data", "ptb", "--out", str(out), "--num-layers", "1",
                 "--embed-size", "8", *FAST]) == 0
    text = capsys.readouterr().out
    assert "final test perplexity" in text
    assert main(["eval", str(out / "best.ckpt")]) == 0
    assert "(test, " in capsys.readouterr().out
    assert main(["generate", str(out / "best.ckpt"), "--prefix", "the cat", "--length", "5",
                 "--seed", "0"]) == 0
    words = capsys.readouterr().out.split()
    assert words[:2] == ["the", "cat"] and "<eos>" not in words


def test_generate_errors(tmp_path, capsys):
    assert main(["generate", str(tmp_path / "missing.ckpt"), "--prefix", "a"]) == 2
    assert main(["train", "mlp", "--data", "digits", "--hidden-sizes", "8", "--epochs", "1",
                 "--no-progress", "--out", str(tmp_path / "mlp")]) == 0
    assert main(["generate", str(tmp_path / "mlp" / "last.ckpt"), "--prefix", "a"]) == 2
    assert "language model" in capsys.readouterr().err
    assert main(["generate", "x.ckpt", "--top-p", "1.5"]) == 2
    assert main(["train", "lstm-lm", "--data", "digits", "--epochs", "1"]) == 2


def test_zaremba_schedule_halves_after_epoch_4():
    from chainrule import nn, optim
    from chainrule.train.factory import make_scheduler
    opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=20.0)
    sched = make_scheduler("zaremba", opt, 13, 100)
    lrs = []
    for _ in range(7):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == [20, 20, 20, 20, 10, 5, 2.5]
