"""Optimizer base behaviour: groups, state, zero_grad, closure, versions, errors, repr."""
import re

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import SGD, Adadelta, Adagrad, Adam, AdamW, Optimizer, RMSprop
from optim_problem import Run

ALL = [SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW]


def _p(*shape):
    return cr.randn(*shape, dtype=cr.float64, requires_grad=True)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_step_updates_in_place_and_bumps_version(cls):
    p = _p(3)
    data, view = p._data, p.detach()
    before, v0 = p._data.copy(), p._version[0]
    opt = cls([p], lr=0.1, **({"momentum": 0.9} if cls is SGD else {}))
    (p * p).sum().backward()
    opt.step()
    assert p._data is data and not np.array_equal(p._data, before)
    assert np.array_equal(view._data, p._data)  # views see the update
    assert p._version[0] > v0 and view._version[0] == p._version[0]
    assert p.grad_fn is None and p.requires_grad


def test_backward_through_stale_graph_is_detected():
    p = _p(3)
    opt = SGD([p], lr=0.1)
    loss = (p * p).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError):
        loss.backward()


def test_step_does_not_record_graph():
    p = _p(3)
    opt = Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    assert p.grad_fn is None and all(not t.requires_grad for t in opt.state[p].values())


def test_params_without_grad_are_skipped():
    p, q = _p(2), _p(2)
    q_before = q._data.copy()
    opt = Adam([p, q], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    assert np.array_equal(q._data, q_before) and q not in opt.state
    assert set(opt.state_dict()["state"]) == {0}


def test_state_is_keyed_by_tensor():
    p = _p(2)
    opt = SGD([p], lr=0.1, momentum=0.9)
    (p * p).sum().backward()
    opt.step()
    (key,) = list(opt.state)
    assert key is p
    assert isinstance(opt.state[p]["momentum_buffer"], cr.Tensor)


def test_sgd_without_momentum_keeps_no_state():
    p = _p(2)
    opt = SGD([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    assert opt.state_dict()["state"] == {}


def test_adagrad_state_exists_before_first_step():
    p = _p(2)
    opt = Adagrad([p], initial_accumulator_value=0.5)
    assert float(opt.state[p]["step"]) == 0.0
    assert np.all(opt.state[p]["sum"].numpy() == 0.5)


def test_zero_grad():
    p = _p(3)
    opt = SGD([p], lr=0.1)
    (p * p).sum().backward()
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and np.all(g.numpy() == 0)
    opt.zero_grad()
    assert p.grad is None


def test_closure_is_evaluated_with_grad_and_returned():
    r = Run(cr, "SGD", dict(lr=0.05))
    opt = r.opt

    def closure():
        opt.zero_grad()
        loss = r.loss()
        loss.backward()
        return loss
    with cr.no_grad():
        loss = opt.step(closure)
    assert isinstance(loss, cr.Tensor) and r.W.grad is not None


def test_param_groups_and_add_param_group():
    w, b, extra = _p(2, 2), _p(2), _p(3)
    opt = SGD([{"params": [w]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] == [b] or opt.param_groups[1]["params"][0] is b
    opt.add_param_group({"params": [extra], "momentum": 0.0})
    g = opt.param_groups[2]
    assert g["lr"] == 0.1 and g["momentum"] == 0.0 and g["params"][0] is extra
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    with pytest.raises(ValueError, match="duplicate"):
        opt.add_param_group({"params": [_p(1)] * 2})


def test_named_params():
    w = _p(2)
    opt = Adam([("w", w)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w"]


def test_construction_errors():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        SGD(_p(2), lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([_p(2) * 2], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        SGD({_p(2)}, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        SGD([{"params": {_p(2)}}], lr=0.1)
    with pytest.raises(TypeError, match="must be a dict"):
        SGD([_p(2)], lr=0.1).add_param_group([_p(2)])


BAD = [
    (SGD, dict(lr=-1)), (SGD, dict(lr=0.1, momentum=-0.5)), (SGD, dict(lr=0.1, weight_decay=-1)),
    (SGD, dict(lr=0.1, nesterov=True)), (SGD, dict(lr=0.1, momentum=0.9, dampening=0.1,
                                                   nesterov=True)),
    (Adagrad, dict(lr=-0.01)), (Adagrad, dict(lr_decay=-1)), (Adagrad, dict(weight_decay=-1)),
    (Adagrad, dict(initial_accumulator_value=-1)), (Adagrad, dict(eps=-1)),
    (RMSprop, dict(lr=-1)), (RMSprop, dict(eps=-1)), (RMSprop, dict(momentum=-1)),
    (RMSprop, dict(weight_decay=-1)), (RMSprop, dict(alpha=-1)),
    (Adadelta, dict(lr=-1)), (Adadelta, dict(rho=1.5)), (Adadelta, dict(eps=-1)),
    (Adadelta, dict(weight_decay=-1)),
    (Adam, dict(lr=-1)), (Adam, dict(eps=-1)), (Adam, dict(betas=(1.0, 0.999))),
    (Adam, dict(betas=(0.9, -0.1))), (Adam, dict(weight_decay=-1)),
    (AdamW, dict(lr=-1e-3)), (AdamW, dict(betas=(0.9, 1.0))), (AdamW, dict(weight_decay=-1)),
]


@pytest.mark.parametrize("cls,kwargs", BAD, ids=[f"{c.__name__}-{k}" for c, k in BAD])
def test_invalid_hyperparameters_match_torch_messages(cls, kwargs):
    with pytest.raises(ValueError) as ref:
        getattr(torch.optim, cls.__name__)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=re.escape(str(ref.value))):
        cls([_p(2)], **kwargs)


def test_invalid_learning_rate_message():
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -1$"):
        Adam([_p(2)], lr=-1)


def test_required_hyperparameter():
    from chainrule.optim.optimizer import required

    class Opt(Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, dict(lr=lr))
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        Opt([_p(2)])
    assert Opt([{"params": [_p(2)], "lr": 0.1}]).param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_repr_matches_torch(cls):
    ours = repr(cls([{"params": [_p(2)]}, {"params": [_p(2)], "lr": 0.5}]))
    ref = repr(getattr(torch.optim, cls.__name__)(
        [{"params": [torch.zeros(2, requires_grad=True)]},
         {"params": [torch.zeros(2, requires_grad=True)], "lr": 0.5}]))
    assert ours == ref   # foreach, fused, capturable, differentiable included


def test_step_hooks():
    p = _p(2)
    opt = SGD([p], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.step()
    assert calls == ["pre", "post"]
    h1.remove()
    opt.step()
    assert calls == ["pre", "post", "post"]


def test_custom_optimizer_subclass():
    class SignSGD(Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            loss = self._eval_closure(closure)
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p._data -= group["lr"] * np.sign(p.grad._data)
            return loss
    p = cr.tensor([1.0, -1.0], requires_grad=True)
    opt = SignSGD([p])
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), [0.9, -0.9])
    assert opt._opt_called


def test_float32_params_stay_float32():
    p = cr.randn(3, requires_grad=True)
    opt = Adam([p], lr=0.1, amsgrad=True)
    (p * p).sum().backward()
    opt.step()
    assert p._data.dtype == np.float32
    assert all(opt.state[p][k]._data.dtype == np.float32
               for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"))


def test_docstring_examples():
    import doctest

    import chainrule.optim as optim
    from chainrule.optim import adam, plateau, sgd
    from chainrule.optim import lr_scheduler
    for mod in (optim, sgd, adam, lr_scheduler, plateau):
        res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert res.failed == 0 and res.attempted > 0, mod.__name__
