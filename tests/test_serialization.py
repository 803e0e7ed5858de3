"""save/load: safetensors format, nested checkpoints, atomic writes, clear errors."""
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.serialization import atomic_write_bytes


def test_state_dict_roundtrip(tmp_path):
    sd = {"fc.weight": cr.randn(4, 3), "fc.bias": cr.zeros(4, dtype=cr.float64),
          "steps": cr.tensor([3]), "mask": cr.tensor([True, False]), "half": cr.ones(2).half()}
    p = tmp_path / "m.safetensors"
    cr.save(sd, p)
    out = cr.load(p)
    assert list(out) == list(sd)
    for k in sd:
        assert out[k].dtype == sd[k].dtype and np.array_equal(out[k].numpy(), sd[k].numpy())


def test_nested_checkpoint_roundtrip(tmp_path):
    ck = {"model": {"w": cr.randn(2, 2)}, "optimizer": {"state": {0: {"step": 3,
          "exp_avg": cr.ones(2)}}, "param_groups": [{"lr": 0.1, "params": [0]}]},
          "epoch": 7, "history": [1.5, float("inf")], "rng": ("PCG64", 12345678901234567890),
          "note": None, "arr": np.arange(3)}
    p = tmp_path / "ck.safetensors"
    cr.save(ck, p)
    out = cr.load(p)
    assert out["epoch"] == 7 and out["history"][1] == float("inf") and out["note"] is None
    assert out["optimizer"]["state"][0]["step"] == 3
    assert out["rng"] == ("PCG64", 12345678901234567890)
    assert np.array_equal(out["model"]["w"].numpy(), ck["model"]["w"].numpy())
    assert isinstance(out["arr"], np.ndarray)


def test_refuses_arbitrary_objects(tmp_path):
    with pytest.raises(TypeError, match="no pickle"):
        cr.save({"f": object()}, tmp_path / "x")


def test_truncated_and_corrupt_files_name_the_file(tmp_path):
    p = tmp_path / "m.safetensors"
    cr.save({"w": cr.randn(100)}, p)
    data = p.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[:-50])
    with pytest.raises(RuntimeError, match="trunc.safetensors.*truncated"):
        cr.load(tmp_path / "trunc.safetensors")
    (tmp_path / "junk.bin").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(RuntimeError, match="junk.bin"):
        cr.load(tmp_path / "junk.bin")
    (tmp_path / "tiny").write_bytes(b"abc")
    with pytest.raises(RuntimeError, match="tiny"):
        cr.load(tmp_path / "tiny")
    with pytest.raises(FileNotFoundError, match="missing"):
        cr.load(tmp_path / "missing")


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    p = tmp_path / "ck"
    cr.save({"w": cr.ones(3)}, p)

    def chunks():
        yield b"partial"
        raise KeyboardInterrupt  # interrupted mid-write

    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(p, chunks())
    assert cr.load(p)["w"].tolist() == [1.0, 1.0, 1.0]
    assert os.listdir(tmp_path) == ["ck"]


def test_interop_with_torch_safetensors(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    p = tmp_path / "t.safetensors"
    w = torch.randn(3, 2)
    st.save_file({"weight": w, "idx": torch.arange(4)}, str(p))
    out = cr.load(p)
    assert np.array_equal(out["weight"].numpy(), w.numpy()) and out["idx"].dtype == cr.int64
    cr.save({"weight": cr.tensor(w.numpy())}, p)
    back = st.load_file(str(p))
    assert torch.equal(back["weight"], w)
