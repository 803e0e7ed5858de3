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


# ---------------------------------------------------------------- whole modules
class _TiedLM(cr.nn.Module):
    """A user-defined module (not chainrule's): trusted only when allowed."""

    def __init__(self):
        super().__init__()
        self.enc = cr.nn.Embedding(10, 4)
        self.rnn = cr.nn.LSTM(4, 4, 2)
        self.att = cr.nn.TransformerEncoderLayer(4, 2, 8)  # holds F.relu
        self.dec = cr.nn.Linear(4, 10)
        self.dec.weight = self.enc.weight  # tied: stored once, loaded shared
        self.register_buffer("steps", cr.tensor([3]))

    def forward(self, x):
        return self.dec(self.att(self.rnn(self.enc(x))[0]))


def test_whole_module_round_trip_keeps_values_types_and_ties(tmp_path):
    from chainrule.utils.serialization import safe_globals
    m = _TiedLM().eval()
    p = tmp_path / "model.pt"
    cr.save(m, p)
    with safe_globals([_TiedLM]):
        m2 = cr.load(p)
    x = cr.tensor([[1, 2], [3, 4]])
    np.testing.assert_array_equal(m2(x).detach().numpy(), m(x).detach().numpy())
    assert type(m2) is _TiedLM and not m2.training
    assert m2.dec.weight is m2.enc.weight and isinstance(m2.dec.weight, cr.nn.Parameter)
    assert m2.enc.weight.requires_grad and m2.steps.tolist() == [3]
    assert list(m2.state_dict()) == list(m.state_dict())
    assert m2.att.activation is m.att.activation  # a function, by its name


def test_whole_module_load_trusts_only_allowed_classes(tmp_path):
    from chainrule.utils.serialization import UntrustedGlobal, add_safe_globals, _SAFE
    p = tmp_path / "model.pt"
    cr.save(_TiedLM(), p)
    with pytest.raises(UntrustedGlobal, match=r"model.pt: it holds .*_TiedLM, which load\(\) "
                       r"does not trust.*add_safe_globals\(\[_TiedLM\]\)"):
        cr.load(p)
    assert type(cr.load(p, weights_only=False)) is _TiedLM  # an imported module's class
    cr.save(cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.ReLU()), p)  # chainrule's own
    assert isinstance(cr.load(p)[1], cr.nn.ReLU)
    add_safe_globals([_TiedLM])
    try:
        cr.save(_TiedLM(), p)
        assert type(cr.load(p)) is _TiedLM
    finally:
        del _SAFE[f"{__name__}:_TiedLM"]


def test_whole_object_files_name_nothing_untrusted(tmp_path):
    # a crafted header naming os.system is refused before anything is looked up
    import json
    import struct
    meta = {"chainrule.structure": json.dumps({"__global__": "os:system"})}
    hb = json.dumps({"__metadata__": meta}).encode()
    (tmp_path / "evil.pt").write_bytes(struct.pack("<Q", len(hb)) + hb)
    with pytest.raises(RuntimeError, match="evil.pt: it holds .*os.system"):
        cr.load(tmp_path / "evil.pt")
    meta = {"chainrule.structure": json.dumps({"__object__": ["os:PathLike", {"__dict__": []}]})}
    hb = json.dumps({"__metadata__": meta}).encode()
    (tmp_path / "evil2.pt").write_bytes(struct.pack("<Q", len(hb)) + hb)
    with pytest.raises(RuntimeError, match="os.PathLike"):
        cr.load(tmp_path / "evil2.pt", weights_only=False)
