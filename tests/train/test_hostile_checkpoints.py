"""Crafted and damaged checkpoints: each is refused before anything is allocated,
with "can't read checkpoint FILE: reason" (exit 2 in eval, predict and --resume)."""
import json
import struct
import tracemalloc
import urllib.request

import numpy as np
import pytest

import chainrule as cr
from chainrule import models
from chainrule.cli import main
from chainrule.train.checkpoint_schema import SchemaError, check_model_size

from fuzz_checkpoints import MEMORY_BOUND, SLOW, run

FAST = ["--hidden-sizes", "16", "--epochs", "1", "--no-progress", "--quiet"]


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: 1 / 0)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    assert main(["train", "--out", str(out), *FAST]) == 0
    return (out / "last.ckpt").read_bytes()


def split(data):
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def join(header, body):
    hb = json.dumps(header).encode()
    return struct.pack("<Q", len(hb)) + hb + body


def edit_structure(data, fn):
    header, body = split(data)
    s = json.loads(header["__metadata__"]["chainrule.structure"])
    fn(dict(s["__dict__"]), s)
    header["__metadata__"]["chainrule.structure"] = json.dumps(s)
    return join(header, body)


def set_top(key, value):
    def fn(top, s):
        for pair in s["__dict__"]:
            if pair[0] == key:
                pair[1] = value
    return fn


def set_model_kwarg(key, value):
    def fn(top, s):
        for pair in top["meta"]["__dict__"]:
            if pair[0] == "model_kwargs":
                for kv in pair[1]["__dict__"]:
                    if kv[0] == key:
                        kv[1] = value
    return fn


def metadata_string(data):
    header, body = split(data)
    header["__metadata__"] = "a string"
    return join(header, body)


def negative_shape(data):
    header, body = split(data)
    name = next(k for k in header if k != "__metadata__")
    start, end = header[name]["data_offsets"]
    header[name]["shape"] = [-1, -(end - start) // 4]
    header[name]["data_offsets"] = [end, start]
    return join(header, body)


CASES = {
    "__metadata__ a string": (metadata_string, "__metadata__ is not an object"),
    "missing tensor key": (lambda d: edit_structure(d, set_top("model", {"__dict__": [
        ["weight", {"__tensor__": "t999"}]]})), "refers to tensor 't999'"),
    "list as dict key": (lambda d: edit_structure(d, set_top("callbacks", {"__kdict__": [
        [{"__list__": [1]}, 2]]})), "unhashable key"),
    "epoch a string": (lambda d: edit_structure(d, set_top("epoch", "3")),
                       "'epoch' is '3', not a whole number"),
    "negative shape, reversed offsets": (negative_shape, "has shape [-1"),
    "num_classes 10**10": (lambda d: edit_structure(d, set_model_kwarg(
        "num_classes", 10 ** 10)), "num_classes=10000000000 is outside"),
    # found by the 10,000-example fuzz run: a float size slipped past the bound and the
    # builder's int() asked NumPy for 2 EiB
    "num_classes a huge float": (lambda d: edit_structure(d, set_model_kwarg(
        "num_classes", 3.660534555855573e16)), "num_classes=36605345558555728 is outside"),
    "num_classes infinite": (lambda d: edit_structure(d, set_model_kwarg(
        "num_classes", float("inf"))), "is outside"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_crafted_checkpoint_is_refused_everywhere(case, real, tmp_path, capsys):
    craft, reason = CASES[case]
    path = tmp_path / "bad.ckpt"
    path.write_bytes(craft(real))
    np.save(tmp_path / "x.npy", np.zeros((1, 64), np.float32))
    for cmd in (["eval", str(path)], ["predict", str(path), str(tmp_path / "x.npy")],
                ["train", "--resume", str(path), "--out", str(tmp_path / "r")]):
        tracemalloc.start()
        code = main(cmd)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err, (cmd, err)
        assert f"error: can't read checkpoint {path}: " in err and reason in err, err
        assert peak < MEMORY_BOUND
    if case == "negative shape, reversed offsets":
        with pytest.raises(RuntimeError, match="has shape"):
            cr.load(path)


def test_size_bound_admits_real_models():
    cases = [("mlp", dict(in_features=784, num_classes=10, hidden_sizes=(512, 256))),
             ("lenet", dict(input_shape=(1, 28, 28), num_classes=10)),
             ("resnet_small", dict(input_shape=(3, 32, 32), num_classes=10)),
             ("lstm-lm", dict(vocab_size=10000, hidden_size=200, num_layers=2,
                              embed_size=200)),
             ("wavenet-lm", dict(vocab_size=28)),
             # two vocabularies never multiply (fra-eng on all pairs: 9,876 -> 17,512)
             ("transformer", dict(src_vocab_size=9876, tgt_vocab_size=17512,
                                  hidden_size=128, ffn_hidden_size=512, num_heads=4,
                                  num_layers=2, dropout=0.1))]
    for name, kwargs in cases:
        stored = sum(t.numel() for t in models.get_model(name, **kwargs).state_dict()
                     .values())
        check_model_size(kwargs, stored)
    with pytest.raises(SchemaError, match="ask for about"):  # 10000 layers of 512
        check_model_size(dict(in_features=784, num_classes=10,
                              hidden_sizes=(512,) * 10000), 670000)
    with pytest.raises(SchemaError, match="ask for about"):  # a 2**24 x 2**24 table
        check_model_size(dict(vocab_size=2 ** 24, hidden_size=2 ** 24), 10 ** 6)
    with pytest.raises(SchemaError, match="input_shape"):
        check_model_size(dict(input_shape=(3, 100000, 100000), num_classes=10), 10 ** 6)


def test_fuzz_mutated_checkpoints():
    """A few hundred mutated real checkpoints (the full run:
    ``python tests/train/fuzz_checkpoints.py --n 10000``)."""
    counts, kinds, worst = run(300, verbose=False)
    bad = {k: v for k, v in counts.items() if k.startswith(("traceback", "misworded"))}
    assert not bad, bad
    assert counts["refused"] > 200 and counts["accepted"] >= 1
    assert worst["peak"] <= MEMORY_BOUND and worst["seconds"] < SLOW


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_payload_runs_no_code(tmp_path, capsys):
    import pickle
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps(_Payload(str(marker))))
    assert main(["eval", str(path)]) == 2
    assert f"can't read checkpoint {path}" in capsys.readouterr().err
    assert not marker.exists()


def _set_train_model_args(value, in_features):
    def fn(top, s):
        for pair in top["meta"]["__dict__"]:
            if pair[0] == "train_args":
                for kv in pair[1]["__dict__"]:
                    if kv[0] == "model_args":
                        kv[1] = {"__dict__": [["hidden_sizes", {"__tuple__": [value]}]]}
        set_model_kwarg("in_features", in_features)(top, s)
    return fn


@pytest.mark.parametrize("hidden, in_features", [(223277, 64), (80000, 1)])
def test_resume_bounds_the_model_it_builds(real, tmp_path, capsys, hidden, in_features):
    """--resume builds the model from train_args.model_args and the data's sizes: a
    hidden width that the stored weights do not back is refused before building, also
    when model_kwargs lie about in_features (found by the fuzzer: 228 MiB)."""
    path = tmp_path / "bad.ckpt"
    path.write_bytes(edit_structure(real, _set_train_model_args(hidden, in_features)))
    tracemalloc.start()
    code = main(["train", "--resume", str(path), "--out", str(tmp_path / "r")])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    err = capsys.readouterr().err
    assert code == 2 and f"can't read checkpoint {path}: the model options ask for" in err
    assert peak < 16 * 2 ** 20
