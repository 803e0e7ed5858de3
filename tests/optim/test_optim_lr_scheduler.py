"""Every LR scheduler produces torch's learning-rate (and momentum) sequence."""
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.optim  # noqa: F401

N = 40


def _opt(mod, name="SGD", lr=(0.1, 0.01), **kw):
    mk = cr.zeros if mod is cr else torch.zeros
    groups = [{"params": [mk(2, requires_grad=True)], "lr": v} for v in lr]
    if name == "SGD":
        kw.setdefault("momentum", 0.9)
    return getattr(mod.optim, name)(groups, **kw)


def _record(opt, momentum):
    row = [g["lr"] for g in opt.param_groups]
    if momentum == "momentum":
        row += [g["momentum"] for g in opt.param_groups]
    elif momentum == "beta1":
        row += [g["betas"][0] for g in opt.param_groups]
    return row


def _sequence(mod, make, opt_name="SGD", steps=N, momentum=None):
    opt = _opt(mod, opt_name)
    scheds = make(mod.optim.lr_scheduler, opt)
    scheds = scheds if isinstance(scheds, list) else [scheds]
    rows = []
    for i in range(steps + 1):
        if i:
            opt.step()
            for s in scheds:
                s.step()
        rows.append(_record(opt, momentum) + [v for s in scheds for v in s.get_last_lr()])
    return rows


SCHEDULERS = {
    "StepLR": lambda L, o: L.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[5, 10, 10, 20], gamma=0.3),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=30),
    "CosineAnnealingLR-restart": lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=1e-3),
    "LambdaLR": lambda L, o: L.LambdaLR(o, lambda e: 1.0 / (1 + e)),
    "LambdaLR-list": lambda L, o: L.LambdaLR(o, [lambda e: 0.95 ** e,
                                                 lambda e: min(1.0, (e + 1) / 10)]),
    "MultiplicativeLR": lambda L, o: L.MultiplicativeLR(o, lambda e: 0.97),
    "ConstantLR": lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=6),
    "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.25, total_iters=8),
    "LinearLR-decay": lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                              total_iters=30),
    "SequentialLR-warmup-cosine": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=5),
            L.CosineAnnealingLR(o, T_max=30, eta_min=1e-4)], milestones=[5]),
    "SequentialLR-three": lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.1, total_iters=3), L.ExponentialLR(o, gamma=0.9),
            L.StepLR(o, step_size=4, gamma=0.5)], milestones=[4, 15]),
    "chained-Exponential+MultiStep": lambda L, o: [L.ExponentialLR(o, gamma=0.95),
                                                   L.MultiStepLR(o, milestones=[10, 25])],
    "OneCycleLR-cos": lambda L, o: L.OneCycleLR(o, max_lr=[1.0, 0.1], total_steps=N),
    "OneCycleLR-linear": lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=N,
                                                   anneal_strategy="linear", pct_start=0.25),
    "OneCycleLR-three-phase": lambda L, o: L.OneCycleLR(o, max_lr=0.5, epochs=4,
                                                        steps_per_epoch=10, three_phase=True,
                                                        div_factor=10.0),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    ours = _sequence(cr, SCHEDULERS[name])
    ref = _sequence(torch, SCHEDULERS[name])
    np.testing.assert_allclose(np.array(ours), np.array(ref), rtol=1e-13, atol=0)
    assert len({row[0] for row in ours}) >= 2  # the lr really changed


@pytest.mark.parametrize("opt_name,which", [("SGD", "momentum"), ("Adam", "beta1")])
@pytest.mark.parametrize("three_phase", [False, True])
def test_onecycle_momentum_matches_torch(opt_name, which, three_phase):
    def make(L, o):
        return L.OneCycleLR(o, max_lr=0.3, total_steps=N, three_phase=three_phase,
                            base_momentum=[0.8, 0.7], max_momentum=0.95)
    ours = _sequence(cr, make, opt_name, momentum=which)
    ref = _sequence(torch, make, opt_name, momentum=which)
    np.testing.assert_allclose(np.array(ours), np.array(ref), rtol=1e-13, atol=0)


def test_onecycle_past_total_steps_raises():
    opt = _opt(cr)
    s = cr.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        s.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s.step()


LOSSES = [1.0, 0.9, 0.9, 0.91, 0.95, 0.89999, 0.8, 0.8, 0.8, 0.8, 0.8, 0.79, 0.7, 0.7, 0.71,
          0.72, 0.73, 0.74, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
PLATEAU = [
    dict(),
    dict(patience=2, factor=0.5),
    dict(patience=1, factor=0.5, cooldown=2, threshold=0.05),
    dict(patience=1, factor=0.5, threshold_mode="abs", threshold=0.02, min_lr=[0.02, 1e-3]),
    dict(mode="max", patience=0, factor=0.7, min_lr=0.01),
    dict(mode="max", threshold_mode="abs", patience=1, eps=0.05),
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_on_plateau_matches_torch(kwargs):
    seqs = []
    for mod in (cr, torch):
        opt = _opt(mod)
        s = mod.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        rows = []
        for loss in LOSSES:
            opt.step()
            s.step(mod.tensor(loss) if loss == 0.5 else loss)
            rows.append(s.get_last_lr() + [s.num_bad_epochs, s.cooldown_counter, s.best])
        seqs.append(rows)
    assert seqs[0] == seqs[1]


def test_scheduler_state_on_optimizer_groups():
    opt = _opt(cr)
    s = cr.optim.lr_scheduler.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert s.base_lrs == [0.1, 0.01] and s.last_epoch == 0 and s.get_last_lr() == [0.1, 0.01]


def _resume_case(L, o):
    return L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=5),
                              L.CosineAnnealingLR(o, T_max=30, eta_min=1e-4)], milestones=[5])


RESUME = {
    "StepLR": lambda L, o: L.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda L, o: L.MultiStepLR(o, milestones=[3, 12, 12], gamma=0.5),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=12),
    "LambdaLR": lambda L, o: L.LambdaLR(o, lambda e: 0.9 ** e),
    "OneCycleLR": lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=30),
    "SequentialLR": _resume_case,
}


@pytest.mark.parametrize("name", list(RESUME))
def test_scheduler_state_dict_roundtrip_through_file(name, tmp_path):
    L = cr.optim.lr_scheduler
    opt = _opt(cr)
    s = RESUME[name](L, opt)
    for _ in range(8):
        opt.step()
        s.step()
    path = tmp_path / "ck.safetensors"
    cr.save({"optimizer": opt.state_dict(), "scheduler": s.state_dict()}, path)
    ck = cr.load(path)
    opt2 = _opt(cr)
    s2 = RESUME[name](L, opt2)
    s2.load_state_dict(ck["scheduler"])
    opt2.load_state_dict(ck["optimizer"])
    for _ in range(12):
        opt.step()
        s.step()
        opt2.step()
        s2.step()
        assert s2.get_last_lr() == s.get_last_lr()
        assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]


def test_plateau_state_dict_roundtrip_through_file(tmp_path):
    L = cr.optim.lr_scheduler
    opt = _opt(cr)
    s = L.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    for loss in LOSSES[:10]:
        s.step(loss)
    path = tmp_path / "p.safetensors"
    cr.save(s.state_dict(), path)
    opt2 = _opt(cr)
    opt2.load_state_dict(opt.state_dict())
    s2 = L.ReduceLROnPlateau(opt2)
    s2.load_state_dict(cr.load(path))
    assert s2.patience == 1 and s2.best == s.best
    for loss in LOSSES[10:]:
        s.step(loss)
        s2.step(loss)
        assert s2.get_last_lr() == s.get_last_lr()


def test_resume_with_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        cr.optim.lr_scheduler.StepLR(_opt(cr), step_size=3, last_epoch=5)


def test_warns_when_stepped_before_optimizer():
    opt = _opt(cr)
    s = cr.optim.lr_scheduler.StepLR(opt, step_size=3)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
    opt2 = _opt(cr)
    s2 = cr.optim.lr_scheduler.StepLR(opt2, step_size=3)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s2.step()


def test_step_with_epoch_uses_closed_form():
    for mod in (cr, torch):
        opt = _opt(mod)
        s = mod.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        opt.step()
        with pytest.warns(UserWarning, match="epoch parameter"):
            s.step(7)
        assert s.get_last_lr() == pytest.approx([0.025, 0.0025])


@pytest.mark.parametrize("make,exc,msg", [
    (lambda L, o: L.LinearLR(o, start_factor=0), ValueError, "Starting multiplicative factor"),
    (lambda L, o: L.LinearLR(o, end_factor=2.0), ValueError, "Ending multiplicative factor"),
    (lambda L, o: L.ConstantLR(o, factor=2.0), ValueError, "between 0 and 1"),
    (lambda L, o: L.LambdaLR(o, [lambda e: 1.0]), ValueError, "Expected 2 lr_lambdas, but got 1"),
    (lambda L, o: L.OneCycleLR(o, max_lr=0.1), ValueError, "You must define either total_steps"),
    (lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError, "positive integer"),
    (lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5), ValueError,
     "pct_start"),
    (lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="x"), ValueError,
     "anneal_strategy"),
    (lambda L, o: L.OneCycleLR(o, max_lr=[0.1], total_steps=10), ValueError,
     "max_lr must have the same length"),
    (lambda L, o: L.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0"),
    (lambda L, o: L.ReduceLROnPlateau(o, mode="avg"), ValueError, "mode avg is unknown"),
    (lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="x"), ValueError, "threshold mode x"),
    (lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "expected 2 min_lrs"),
    (lambda L, o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3)], milestones=[]), ValueError,
     "one more than the number of milestone"),
    (lambda L, o: L.SequentialLR(o, [L.ReduceLROnPlateau(o)], milestones=[]), ValueError,
     "does not support `ReduceLROnPlateau`"),
    (lambda L, o: L.StepLR(object(), 2), TypeError, "is not an Optimizer"),
])
def test_scheduler_errors_match_torch(make, exc, msg):
    for mod in (torch, cr):
        with pytest.raises(exc, match=msg):
            make(mod.optim.lr_scheduler, _opt(mod))


def test_onecycle_needs_momentum_when_cycling():
    opt = cr.optim.Adagrad([cr.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        cr.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
