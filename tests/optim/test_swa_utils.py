"""``chainrule.optim.swa_utils`` against ``torch.optim.swa_utils``: the same averages of
the same weight sequences, the same recomputed batch-norm statistics, the same SWALR
learning rates, the same state_dict keys."""
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import swa_utils as S


def _pair(seed=0, bn=True):
    """A chainrule model and a torch model with the same weights."""
    cr.manual_seed(seed)
    layers = [cr.nn.Linear(4, 6), cr.nn.BatchNorm1d(6), cr.nn.ReLU(), cr.nn.Linear(6, 3)]
    tl = [torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(), torch.nn.Linear(6, 3)]
    if not bn:
        layers, tl = [layers[0], layers[2], layers[3]], [tl[0], tl[2], tl[3]]
    ours, theirs = cr.nn.Sequential(*layers), torch.nn.Sequential(*tl)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs


def _train_and_average(make_avg, steps=6, bn=True, seed=0):
    """SGD steps on both models; each step folded into the averaged copy."""
    ours, theirs = _pair(seed, bn)
    a_ours, a_theirs = make_avg(S, ours), make_avg(torch.optim.swa_utils, theirs)
    o1 = cr.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    o2 = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = rng.normal(size=(8, 4)).astype(np.float32)
        for m, opt, mk in ((ours, o1, cr.tensor), (theirs, o2, torch.tensor)):
            opt.zero_grad()
            (m(mk(x)) ** 2).mean().backward()
            opt.step()
        a_ours.update_parameters(ours)
        a_theirs.update_parameters(theirs)
    return a_ours, a_theirs


def _assert_same(a_ours, a_theirs, rtol=1e-5):
    s1, s2 = a_ours.state_dict(), a_theirs.state_dict()
    assert list(s1) == list(s2)                 # module.0.weight ..., n_averaged
    for k in s1:
        np.testing.assert_allclose(np.asarray(s1[k].numpy(), np.float64),
                                   s2[k].numpy().astype(np.float64), rtol=rtol, atol=1e-7,
                                   err_msg=k)


@pytest.mark.parametrize("kind", ["swa", "ema_multi", "ema_avg", "swa_avg"])
@pytest.mark.parametrize("use_buffers", [False, True])
def test_averages_match_torch(kind, use_buffers):
    def make(mod, model):
        kw = {"use_buffers": use_buffers}
        if kind == "ema_multi":
            kw["multi_avg_fn"] = mod.get_ema_multi_avg_fn(0.9)
        elif kind == "ema_avg":
            kw["avg_fn"] = mod.get_ema_avg_fn(0.9)
        elif kind == "swa_avg":
            kw["avg_fn"] = mod.get_swa_avg_fn()
        return mod.AveragedModel(model, **kw)
    a_ours, a_theirs = _train_and_average(make)
    assert int(a_ours.n_averaged) == 6
    _assert_same(a_ours, a_theirs)
    x = np.random.default_rng(5).normal(size=(5, 4)).astype(np.float32)
    a_ours.eval()
    a_theirs.eval()
    np.testing.assert_allclose(a_ours(cr.tensor(x)).detach().numpy(),
                               a_theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-6)


def test_swa_is_the_plain_mean_and_ema_the_geometric_weighting():
    """By hand: SWA over weights w_1..w_k is their mean; EMA(d) is
    d^(k-1) w_1 + sum_{i>=2} (1-d) d^(k-i) w_i."""
    lin = cr.nn.Linear(1, 1, bias=False)
    ws = [1.0, 2.0, 6.0, -3.0]
    swa, ema = S.AveragedModel(lin), S.AveragedModel(lin, multi_avg_fn=S.get_ema_multi_avg_fn(0.5))
    for w in ws:
        with cr.no_grad():
            lin.weight.fill_(w)
        swa.update_parameters(lin)
        ema.update_parameters(lin)
    assert float(swa.module.weight) == pytest.approx(np.mean(ws))
    want = ws[0] * 0.5 ** 3 + sum(0.5 * 0.5 ** (len(ws) - 1 - i) * w for i, w in enumerate(ws) if i)
    assert float(ema.module.weight) == pytest.approx(want)
    assert lin.weight is not swa.module.weight  # a copy, not the model's tensors


def test_update_bn_matches_torch_and_restores_mode_and_momentum():
    ours, theirs = _pair(1)
    ours.eval()
    theirs.eval()
    rng = np.random.default_rng(2)
    batches = [rng.normal(size=(10, 4)).astype(np.float32) * 3 + 1 for _ in range(4)]
    S.update_bn([(cr.tensor(b), 0) for b in batches], ours)
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], theirs)
    assert not ours.training and ours[1].momentum == 0.1
    for k in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        np.testing.assert_allclose(ours.state_dict()[k].numpy(),
                                   theirs.state_dict()[k].numpy(), rtol=1e-5, err_msg=k)
    # the cumulative average over the batches: the mean of the batch means
    first = ours[0]
    means = [(b @ first.weight.detach().numpy().T + first.bias.detach().numpy()).mean(0)
             for b in batches]
    np.testing.assert_allclose(ours[1].running_mean.numpy(), np.mean(means, 0), rtol=1e-5)
    S.update_bn([], cr.nn.Linear(2, 2))  # no batch norm: nothing to do


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 5])
def test_swalr_matches_torch(strategy, anneal_epochs):
    def run(mod, mk):
        groups = [{"params": [mk(2, requires_grad=True)], "lr": v} for v in (0.5, 0.05)]
        opt = mod.optim.SGD(groups)
        sched = mod.optim.swa_utils.SWALR(opt, swa_lr=[0.01, 0.02], anneal_epochs=anneal_epochs,
                                          anneal_strategy=strategy)
        rows = [[g["lr"] for g in opt.param_groups]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(9):
                opt.step()
                sched.step()
                rows.append([g["lr"] for g in opt.param_groups])
        return rows
    np.testing.assert_allclose(run(cr, cr.zeros), run(torch, torch.zeros), rtol=1e-12)


def test_errors_name_the_problem():
    lin = cr.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="only one of avg_fn and multi_avg_fn"):
        S.AveragedModel(lin, avg_fn=S.get_swa_avg_fn(), multi_avg_fn=S.get_swa_multi_avg_fn())
    with pytest.raises(ValueError, match="Invalid decay value 1.5"):
        S.get_ema_multi_avg_fn(1.5)
    with pytest.raises(ValueError, match="anneal_strategy must by one of"):
        S.SWALR(cr.optim.SGD(lin.parameters(), lr=0.1), 0.01, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        S.SWALR(cr.optim.SGD(lin.parameters(), lr=0.1), 0.01, anneal_epochs=-1)
    avg = S.AveragedModel(lin)
    with pytest.raises(ValueError, match="the model has 4 tensors to average, the averaged "
                                         "copy 2"):
        avg.update_parameters(cr.nn.Sequential(cr.nn.Linear(2, 2), cr.nn.Linear(2, 2)))
