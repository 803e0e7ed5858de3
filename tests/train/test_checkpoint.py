"""Checkpoints: contents, RNG round trip, atomic writes, and clear errors for bad files."""
import os
import random

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend as B, nn, optim
from chainrule.train import CheckpointError, load_checkpoint, save_checkpoint
from chainrule.train.checkpoint import get_rng_states, set_rng_states
from chainrule.utils import serialization


def small():
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(cr.randn(4, 3)).sum().backward()
    opt.step()
    sched = optim.lr_scheduler.StepLR(opt, 2)
    sched.step()
    return model, opt, sched


def test_round_trip_of_everything(tmp_path):
    model, opt, sched = small()
    path = tmp_path / "c.ckpt"
    meta = {"model": "mlp", "model_kwargs": {"hidden_sizes": (4, 2)}, "dataset": "digits"}
    save_checkpoint(path, model, opt, sched, epoch=3, history=[{"epoch": 1, "loss": 0.5}],
                    meta=meta, callbacks_state={"early_stopping": {"best": None}})
    m2, o2, s2 = small()
    ckpt = load_checkpoint(path, m2, o2, s2)
    assert ckpt["epoch"] == 3 and ckpt["history"] == [{"epoch": 1, "loss": 0.5}]
    assert ckpt["meta"] == meta and ckpt["callbacks"] == {"early_stopping": {"best": None}}
    for k, v in model.state_dict().items():
        assert np.array_equal(v.numpy(), m2.state_dict()[k].numpy())
    assert o2.state_dict()["state"][0]["exp_avg"].tolist() == \
        opt.state_dict()["state"][0]["exp_avg"].tolist()
    assert s2.last_epoch == sched.last_epoch


def test_rng_states_round_trip_through_a_file(tmp_path):
    cr.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    save_checkpoint(tmp_path / "r.ckpt", nn.Linear(1, 1))
    want = (B.get_rng().random(3).tolist(), np.random.rand(3).tolist(), random.random())
    B.get_rng().random(10), np.random.rand(10), random.random()  # move on
    load_checkpoint(tmp_path / "r.ckpt", restore_rng=True)
    assert (B.get_rng().random(3).tolist(), np.random.rand(3).tolist(), random.random()) == want
    set_rng_states(get_rng_states())  # in memory too


def test_a_failed_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    model, opt, sched = small()
    path = tmp_path / "last.ckpt"
    save_checkpoint(path, model, opt, sched, epoch=1)
    before = path.read_bytes()

    def crash(fd):
        raise OSError("disk full")
    monkeypatch.setattr(serialization.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, opt, sched, epoch=2)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["last.ckpt"]  # no temp file left behind
    assert load_checkpoint(path)["epoch"] == 1


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage", "header"])
def test_corrupt_or_truncated_files_name_the_file(tmp_path, damage):
    model, opt, sched = small()
    path = tmp_path / "bad.ckpt"
    save_checkpoint(path, model, opt, sched, epoch=1)
    data = path.read_bytes()
    path.write_bytes({"truncate": data[:len(data) - 7], "empty": b"",
                      "garbage": os.urandom(300),
                      "header": data[:8] + b"{nope" + data[13:]}[damage])
    with pytest.raises(CheckpointError, match=f"can't read checkpoint {path}"):
        load_checkpoint(path)


def test_missing_file_and_non_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "nope.ckpt")
    cr.save(nn.Linear(2, 2).state_dict(), tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError, match="not a chainrule training checkpoint"):
        load_checkpoint(tmp_path / "w.safetensors")


def test_state_that_does_not_fit_is_reported(tmp_path):
    model, opt, sched = small()
    save_checkpoint(tmp_path / "c.ckpt", model, opt)
    with pytest.raises(CheckpointError, match="saved model state does not fit"):
        load_checkpoint(tmp_path / "c.ckpt", model=nn.Linear(5, 2))
    with pytest.raises(CheckpointError, match="holds no scheduler state"):
        load_checkpoint(tmp_path / "c.ckpt", scheduler=sched)
