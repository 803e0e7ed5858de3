"""Every optimizer follows torch's trajectory on the same problem (float64, 25 steps)."""
import numpy as np
import pytest
import torch

import chainrule as cr
from optim_problem import Run

# (optimizer, constructor kwargs, per-group kwargs or None)
CASES = [
    ("SGD", dict(lr=0.05), None),
    ("SGD", dict(lr=0.05, momentum=0.9), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), None),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3), None),
    ("SGD", dict(lr=0.03, momentum=0.8, maximize=True), None),
    ("SGD", dict(lr=0.05, momentum=0.9), ({"lr": 0.02}, {"lr": 0.1, "weight_decay": 0.1})),
    ("Adagrad", dict(lr=0.1), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1,
                     initial_accumulator_value=0.1), None),
    ("Adagrad", dict(lr=0.1, eps=1e-5, maximize=True), ({"lr": 0.05}, {})),
    ("RMSprop", dict(lr=0.01), None),
    ("RMSprop", dict(lr=0.01, momentum=0.9), None),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.01), None),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, maximize=True),
     ({"lr": 0.005}, {"alpha": 0.95})),
    ("Adadelta", dict(), None),
    ("Adadelta", dict(lr=0.5, rho=0.95, weight_decay=0.1), None),
    ("Adadelta", dict(maximize=True, eps=1e-4), ({"lr": 2.0}, {"rho": 0.8})),
    ("Adam", dict(lr=0.05), None),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1), None),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), maximize=True), None),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), None),
    ("Adam", dict(lr=0.05), ({"lr": 0.01, "betas": (0.5, 0.9)}, {"amsgrad": True})),
    ("AdamW", dict(lr=0.05), None),
    ("AdamW", dict(lr=0.05, amsgrad=True, weight_decay=0.05), None),
    ("AdamW", dict(lr=0.05, maximize=True), ({"lr": 0.1}, {"weight_decay": 0.0})),
    ("Adamax", dict(lr=0.05), None),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, maximize=True),
     ({"lr": 0.02}, {"eps": 1e-4})),
    ("NAdam", dict(lr=0.05), None),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01), None),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True),
     ({"lr": 0.02}, {"betas": (0.8, 0.9)})),
    ("RAdam", dict(lr=0.05), None),  # 25 steps: rho_t passes 5 at step 6
    ("RAdam", dict(lr=0.05, weight_decay=0.1, betas=(0.8, 0.95)), None),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True),
     ({"lr": 0.02}, {})),
    ("Rprop", dict(lr=0.01), None),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.1)), None),
    ("Rprop", dict(lr=0.01, maximize=True), ({"lr": 0.02}, {"etas": (0.4, 1.1)})),
    ("ASGD", dict(lr=0.05), None),
    ("ASGD", dict(lr=0.05, lambd=1e-2, alpha=0.5, t0=10, weight_decay=0.1), None),
    ("ASGD", dict(lr=0.05, t0=3, maximize=True), ({"lr": 0.02}, {"lambd": 0.1})),
]


def _id(case):
    name, kw, groups = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items()) + ("-groups" if groups else "")


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_trajectory_matches_torch(case):
    name, kwargs, groups = case
    ours = Run(cr, name, kwargs, groups).train()
    ref = Run(torch, name, kwargs, groups).train()
    assert np.all(np.isfinite(ours))
    assert not np.allclose(ours[0], ours[-1])  # the parameters really moved
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_state_matches_torch(case):
    """Same state keys per parameter, same values, same ``step``."""
    name, kwargs, groups = case
    ours, ref = Run(cr, name, kwargs, groups), Run(torch, name, kwargs, groups)
    ours.train(5)
    ref.train(5)
    for p, q in zip((ours.W, ours.b, ours.c), (ref.W, ref.b, ref.c)):
        s, r = ours.opt.state[p], ref.opt.state[q]
        assert sorted(s) == sorted(r)
        for k in r:
            np.testing.assert_allclose(np.asarray(s[k]), r[k].detach().numpy(),
                                       rtol=1e-6, atol=1e-12, err_msg=k)
            if k == "step":
                assert s[k].shape == () and np.asarray(s[k]).dtype == r[k].numpy().dtype


def test_default_hyperparameters_match_torch():
    for name in ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam",
                 "RAdam", "Rprop", "ASGD"):
        ours = getattr(cr.optim, name)([cr.zeros(2, requires_grad=True)]).defaults
        ref = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)]).defaults
        for k, v in ours.items():
            assert ref[k] == v, (name, k)
