"""Optimizer state_dict: torch's format, exact resumption, save/load through a file."""
import copy

import numpy as np
import pytest
import torch

import chainrule as cr
from optim_problem import Run

# one configuration per optimizer that fills every state buffer
FULL = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adadelta", dict(lr=0.5, weight_decay=0.01)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
]
GROUPS = ({"lr": 0.02}, {})
IDS = [c[0] for c in FULL]


def _resume(name, kwargs, transport, tmp_path):
    """Train 10 steps, checkpoint, continue 15 steps in the original and in a
    fresh optimizer loaded from the checkpoint; return both trajectories."""
    run = Run(cr, name, kwargs, GROUPS)
    run.train(10)
    params, sd = run.params(), transport(run.opt.state_dict(), tmp_path)
    fresh = Run(cr, name, kwargs, GROUPS, params=params)
    fresh.opt.load_state_dict(sd)
    return run.train(15), fresh.train(15)


def _deepcopy(sd, tmp_path):
    return copy.deepcopy(sd)


def _through_file(sd, tmp_path):
    path = tmp_path / "optim.safetensors"
    cr.save({"optimizer": sd, "epoch": 3}, path)
    return cr.load(path)["optimizer"]


@pytest.mark.parametrize("name,kwargs", FULL, ids=IDS)
@pytest.mark.parametrize("transport", [_deepcopy, _through_file], ids=["copy", "file"])
def test_resume_gives_identical_trajectory(name, kwargs, transport, tmp_path):
    a, b = _resume(name, kwargs, transport, tmp_path)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("name,kwargs", FULL, ids=IDS)
def test_resume_without_state_differs(name, kwargs):
    """Guard for the test above: a fresh optimizer without the state diverges."""
    run = Run(cr, name, kwargs, GROUPS)
    run.train(10)
    fresh = Run(cr, name, kwargs, GROUPS, params=run.params())
    assert not np.allclose(run.train(5), fresh.train(5))


@pytest.mark.parametrize("name,kwargs", FULL, ids=IDS)
def test_state_dict_format_matches_torch(name, kwargs):
    ours, ref = Run(cr, name, kwargs, GROUPS), Run(torch, name, kwargs, GROUPS)
    ours.train(3)
    ref.train(3)
    s, r = ours.opt.state_dict(), ref.opt.state_dict()
    assert set(s) == {"state", "param_groups"}
    assert list(s["state"]) == list(r["state"])
    for i in r["state"]:
        assert sorted(s["state"][i]) == sorted(r["state"][i])
        for k, v in r["state"][i].items():
            np.testing.assert_allclose(np.asarray(s["state"][i][k]), v.numpy(), rtol=1e-9)
    for g, rg in zip(s["param_groups"], r["param_groups"]):
        assert g == rg and list(g) == list(rg)   # torch's switches and key order too


def test_state_dict_is_serializable_and_plain(tmp_path):
    run = Run(cr, "Adam", dict(lr=0.05, amsgrad=True), GROUPS)
    run.train(2)
    sd = run.opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0, 1] and sd["param_groups"][1]["params"] == [2]
    assert all(isinstance(v, cr.Tensor) for st in sd["state"].values() for v in st.values())
    out = _through_file(sd, tmp_path)
    assert out["param_groups"] == sd["param_groups"]
    assert float(out["state"][2]["step"]) == 2.0


def test_loaded_state_is_not_aliased():
    run = Run(cr, "SGD", dict(lr=0.05, momentum=0.9))
    run.train(2)
    sd = run.opt.state_dict()
    saved = sd["state"][0]["momentum_buffer"].numpy().copy()
    fresh = Run(cr, "SGD", dict(lr=0.05, momentum=0.9), params=run.params())
    fresh.opt.load_state_dict(sd)
    fresh.train(3)
    assert np.array_equal(sd["state"][0]["momentum_buffer"].numpy(), saved)


def test_load_restores_hyperparameters():
    run = Run(cr, "Adam", dict(lr=0.05), GROUPS)
    run.opt.param_groups[1]["lr"] = 0.123
    fresh = Run(cr, "Adam", dict(lr=0.9))
    with pytest.raises(ValueError, match="different number of parameter groups"):
        fresh.opt.load_state_dict(run.opt.state_dict())
    fresh = Run(cr, "Adam", dict(lr=0.9), GROUPS)
    fresh.opt.load_state_dict(run.opt.state_dict())
    assert [g["lr"] for g in fresh.opt.param_groups] == [0.02, 0.123]
    assert fresh.opt.param_groups[0]["params"][0] is fresh.W


def test_load_rejects_mismatched_group_sizes():
    run = Run(cr, "SGD", dict(lr=0.05, momentum=0.9), GROUPS)
    run.train(1)
    sd = run.opt.state_dict()
    other = cr.optim.SGD([{"params": [run.W]}, {"params": [run.b, run.c]}], lr=0.1)
    with pytest.raises(ValueError, match=r"doesn't match the size of optimizer's group: "
                                         r"group 0 has 1 parameters in the optimizer but 2"):
        other.load_state_dict(sd)


def test_load_casts_state_to_param_dtype():
    w64 = cr.ones(3, dtype=cr.float64, requires_grad=True)
    opt = cr.optim.Adam([w64], lr=0.1)
    (w64 * w64).sum().backward()
    opt.step()
    w32 = cr.ones(3, requires_grad=True)
    opt32 = cr.optim.Adam([w32], lr=0.1)
    opt32.load_state_dict(opt.state_dict())
    assert opt32.state[w32]["exp_avg"]._data.dtype == np.float32
    assert opt32.state[w32]["step"]._data.dtype == opt.state[w64]["step"]._data.dtype


def test_adamw_keeps_decoupled_after_load():
    w = cr.ones(2, requires_grad=True)
    adam = cr.optim.Adam([w], lr=0.1)
    adamw = cr.optim.AdamW([cr.ones(2, requires_grad=True)])
    adamw.load_state_dict(adam.state_dict())
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True


def test_load_accepts_plain_number_step():
    w = cr.ones(2, dtype=cr.float64, requires_grad=True)
    opt = cr.optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["step"] = 1
    opt2 = cr.optim.Adam([cr.ones(2, dtype=cr.float64, requires_grad=True)], lr=0.1)
    opt2.load_state_dict(sd)
    assert isinstance(opt2.state[opt2.param_groups[0]["params"][0]]["step"], cr.Tensor)
