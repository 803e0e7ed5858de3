"""torch's implementation switches on the optimizers (``foreach``, ``fused``,
``capturable``, ``differentiable``): the same signatures as torch (names, order,
positional or keyword-only), the same param-group keys in the same order, the same
values in ``state_dict``; they change nothing in the update, and what chainrule cannot
do (``differentiable=True``) says so."""
import inspect

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
         "RAdam", "ASGD", "Rprop"]


@pytest.mark.parametrize("name", NAMES)
def test_signature_and_param_group_keys_match_torch(name):
    ours, theirs = getattr(cr.optim, name), getattr(torch.optim, name)
    sig = lambda c: [(p.name, p.kind, p.default) for p in  # noqa: E731
                     inspect.signature(c.__init__).parameters.values()][2:]
    assert [(n, k) for n, k, _ in sig(ours)] == [(n, k) for n, k, _ in sig(theirs)]
    for (n, _, a), (_, _, b) in zip(sig(ours), sig(theirs)):
        if n in ("foreach", "fused", "capturable", "differentiable", "maximize"):
            assert a == b, n
    o = ours([cr.zeros(2, requires_grad=True)], lr=0.1)
    t = theirs([torch.zeros(2, requires_grad=True)], lr=0.1)
    go, gt = o.state_dict()["param_groups"][0], t.state_dict()["param_groups"][0]
    assert list(go) == list(gt)
    for k in ("foreach", "fused", "capturable", "differentiable"):
        if k in gt:
            assert go[k] == gt[k], k


@pytest.mark.parametrize("name,flags", [("SGD", dict(foreach=True)), ("SGD", dict(fused=True)),
                                        ("Adam", dict(fused=True)),
                                        ("AdamW", dict(foreach=False, capturable=True)),
                                        ("Adagrad", dict(fused=True)),
                                        ("RMSprop", dict(foreach=True))])
def test_switches_change_nothing_in_the_update(name, flags):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(5).astype(np.float32)
    out = []
    for kw in ({}, flags):
        w = cr.tensor(w0.copy(), requires_grad=True)
        opt = getattr(cr.optim, name)([w], lr=0.05, **kw)
        for _ in range(3):
            opt.zero_grad()
            (w * w * w).sum().backward()
            opt.step()
        assert all(opt.param_groups[0][k] == v for k, v in kw.items())
        out.append(w.detach().numpy())
    np.testing.assert_array_equal(out[0], out[1])


def test_what_chainrule_cannot_do_says_so():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="Adam: differentiable=True"):
        cr.optim.Adam([w], differentiable=True)
    with pytest.raises(NotImplementedError, match="SGD: differentiable=True"):
        cr.optim.SGD([w], lr=0.1, differentiable=True)
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together"):
        cr.optim.Adam([w], fused=True, foreach=True)
    # positional as in torch: RMSprop's capturable, foreach, maximize come after centered
    o = cr.optim.RMSprop([w], 0.01, 0.99, 1e-8, 0, 0, False, False, None, True)
    assert o.param_groups[0]["maximize"] is True
