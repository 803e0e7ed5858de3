"""chainrule.compile: compiled and eager agree (values, gradients, training), guards
recompile, what cannot be captured falls back to eager with its reason logged once,
and each pass does its job and only that (the pass tests compare with the pass off)."""
import copy
import logging

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.compile import program as _program
from chainrule.models.lenet import lenet
from chainrule.models.mlp import mlp
from chainrule.models.resnet import resnet_small
from chainrule.models.rnn_lm import RNNLM

F = nn.functional
RTOL = 1e-5


def _t(a, grad=False):
    return cr.tensor(np.asarray(a), requires_grad=grad)


def _entry(compiled):
    (e,) = compiled._cache.values()
    return e


# ---------------------------------------------------------------- the zoo
def _zoo(name, rng):
    if name == "mlp":
        m = mlp(in_features=64, hidden_sizes=(32, 16))
        def batch():
            return (_t(rng.standard_normal((8, 64)).astype(np.float32)),
                    _t(rng.integers(0, 10, 8)))
    elif name == "lenet":
        m = lenet()
        def batch():
            return (_t(rng.standard_normal((4, 1, 28, 28)).astype(np.float32)),
                    _t(rng.integers(0, 10, 4)))
    elif name == "resnet":
        m = resnet_small(layers=(1, 1, 1), width=8)
        def batch():
            return (_t(rng.standard_normal((4, 1, 28, 28)).astype(np.float32)),
                    _t(rng.integers(0, 10, 4)))
    elif name == "lstm":
        m = RNNLM(20, hidden_size=16, embed_size=8)
        def batch():
            return _t(rng.integers(0, 20, (3, 7))), _t(rng.integers(0, 20, (3, 7)))
    else:
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
        m = nn.Sequential(nn.TransformerEncoder(layer, 2), nn.Flatten(), nn.Linear(16 * 5, 4))
        def batch():
            return (_t(rng.standard_normal((3, 5, 16)).astype(np.float32)),
                    _t(rng.integers(0, 4, 3)))
    return m, batch


def _loss(out, y):
    if isinstance(out, tuple):   # the language model: (logits, state)
        out = out[0]
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
    return F.cross_entropy(out, y)


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / (np.abs(a).max() + 1e-30)) if a.size else 0.0


@pytest.mark.parametrize("name", ["mlp", "lenet", "resnet", "lstm", "transformer"])
def test_zoo_trains_like_eager(name):
    """6 SGD-momentum steps (2 traced, 4 planned): losses, parameters and buffers
    (batch norm's running statistics) equal to 1e-5 relative in float32."""
    rng = np.random.default_rng(0)
    m, batch = _zoo(name, rng)
    m2 = copy.deepcopy(m)
    cm = cr.compile(m2)
    o1 = cr.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    o2 = cr.optim.SGD(cm.parameters(), lr=0.05, momentum=0.9)
    for _ in range(6):
        x, y = batch()
        l1 = _loss(m(x), y)
        o1.zero_grad()
        l1.backward()
        o1.step()
        l2 = _loss(cm(x), y)
        o2.zero_grad()
        l2.backward()
        o2.step()
        assert _rel(l1.item(), l2.item()) <= RTOL
    assert _entry(cm).program is not None, _entry(cm).reason
    assert type(l2.grad_fn).__name__ != "PlanFunction"   # the loss is eager, outside
    sd1, sd2 = m.state_dict(), cm.state_dict()
    assert list(sd1) == list(sd2)
    for k in sd1:
        assert _rel(sd1[k].numpy(), sd2[k].numpy()) <= RTOL, k


def test_shares_parameters_and_state_dict():
    m = nn.Linear(3, 2)
    cm = cr.compile(m)
    assert list(cm.parameters())[0] is m.weight
    assert cm.state_dict()["weight"] is m.state_dict()["weight"] or \
        np.array_equal(cm.state_dict()["weight"].numpy(), m.weight.detach().numpy())
    assert cm._orig_mod is m


# ---------------------------------------------------------------- functions, grads
def _chain(x):
    y = x
    for _ in range(5):
        y = (y * 1.001 + 0.01).tanh()
    return y.sum()


def test_function_values_and_grads_bitwise():
    """Where the op order is unchanged the compiled gradient equals eager bitwise."""
    a = np.random.default_rng(1).standard_normal((4, 6)).astype(np.float32)
    cc = cr.compile(_chain)
    for k in range(4):
        x1, x2 = _t(a + k, True), _t(a + k, True)
        v1 = _chain(x1)
        v1.backward()
        v2 = cc(x2)
        v2.backward()
        assert np.array_equal(v1.numpy(force=True), v2.numpy(force=True))
        assert np.array_equal(x1.grad.numpy(), x2.grad.numpy())
    assert _entry(cc).program is not None


def test_rules_agree_with_the_ops_own_backward():
    """The array-level backward rules give the ops' own backward, bitwise."""
    rng = np.random.default_rng(2)

    def f(x, w, b):
        h = F.linear(x, w, b)
        return ((h.relu() * 2 - h.sigmoid() / 3).exp().tanh() - h.neg()).mean(0).sum()

    args = [rng.standard_normal(s).astype(np.float32) for s in ((5, 4), (3, 4), (3,))]
    grads = {}
    for use in (True, False):
        _program._use_rules[0] = use
        try:
            cf = cr.compile(f)
            for _ in range(3):
                ts = [_t(a, True) for a in args]
                cf(*ts).backward()
        finally:
            _program._use_rules[0] = True
        grads[use] = [t.grad.numpy() for t in ts]
    for g1, g0 in zip(grads[True], grads[False]):
        assert np.array_equal(g1, g0)


def test_two_calls_before_backward():
    """The ops hold the last call's state: an earlier call's backward recomputes."""
    m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.LayerNorm(8), nn.Linear(8, 2))
    m2 = copy.deepcopy(m)
    cm = cr.compile(m2)
    rng = np.random.default_rng(3)
    for _ in range(4):
        xa, xb = (_t(rng.standard_normal((3, 4)).astype(np.float32)) for _ in range(2))
        (m(xa).square().sum() + m(xb).sum()).backward()
        oa = cm(xa)
        ob = cm(xb)
        (oa.square().sum() + ob.sum()).backward()
    for p1, p2 in zip(m.parameters(), m2.parameters()):
        assert _rel(p1.grad.numpy(), p2.grad.numpy()) <= RTOL


def test_create_graph_is_refused_clearly():
    cc = cr.compile(lambda x: (x * x).tanh().sum())
    for _ in range(3):
        x = _t(np.ones(3, np.float32), True)
        y = cc(x)
    with pytest.raises(RuntimeError, match="create_graph"):
        cr.autograd.grad(y, x, create_graph=True)


def test_inference_under_no_grad():
    m = mlp(in_features=10, hidden_sizes=(8,)).eval()
    cm = cr.compile(m)
    x = _t(np.random.default_rng(4).standard_normal((2, 10)).astype(np.float32))
    with cr.no_grad():
        for _ in range(3):
            out = cm(x)
        assert np.array_equal(out.numpy(), m(x).numpy())
    assert out.grad_fn is None



# ---------------------------------------------------------------- random ops
def test_dropout_is_drawn_afresh_each_call_and_matches_eager_bitwise():
    """Dropout's masks are recorded as random draws: every compiled call draws new
    masks from the global generator in eager mode's order, so with the same seed the
    outputs, the gradients and 8 training steps equal eager mode's bit for bit."""
    def make():
        cr.manual_seed(0)
        return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 16),
                             nn.Tanh(), nn.Dropout(0.5), nn.Linear(16, 3))
    m, m2 = make(), make()
    cm = cr.compile(m2)
    o1 = cr.optim.SGD(m.parameters(), lr=0.1)
    o2 = cr.optim.SGD(cm.parameters(), lr=0.1)
    rng = np.random.default_rng(7)
    outs = []
    for k in range(8):
        x = _t(rng.standard_normal((5, 6)).astype(np.float32))
        y = _t(rng.integers(0, 3, 5))
        cr.manual_seed(100 + k)
        l1 = F.cross_entropy(m(x), y)
        cr.manual_seed(100 + k)
        out = cm(x)
        l2 = F.cross_entropy(out, y)
        outs.append(out.detach().numpy())
        for loss, opt in ((l1, o1), (l2, o2)):
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert l1.item() == l2.item()
        for p1, p2 in zip(m.parameters(), m2.parameters()):
            assert np.array_equal(p1.grad.numpy(), p2.grad.numpy())
    assert _entry(cm).program is not None, _entry(cm).reason
    assert sum(n.kind == "random" for n in _entry(cm).program.nodes) == 2
    x = _t(np.ones((5, 6), np.float32))
    a, b = cm(x).detach().numpy(), cm(x).detach().numpy()
    assert not np.array_equal(a, b)                 # a new mask at every call
    assert "random: drawn afresh" in cm.explain()


def test_dropout_masks_survive_a_recompute_and_passes_keep_them():
    """Two calls before a backward: the first call's backward recomputes its forward
    with its own masks (not new ones).  DCE keeps a draw whose result is unused and CSE
    does not merge two draws of the same shape, so later draws stay in eager's order."""
    def f(x):
        unused = F.dropout(x, 0.5, True)        # noqa: F841  (dead, but it draws)
        a = F.dropout(x, 0.5, True)
        b = F.dropout(x, 0.5, True)             # same shape and p as a: not merged
        return (a * b).tanh()
    cf = cr.compile(f)
    rng = np.random.default_rng(8)
    for k in range(4):
        xa, xb = (_t(rng.standard_normal((4, 5)).astype(np.float32), True) for _ in range(2))
        cr.manual_seed(k)
        want = f(xa)
        wantb = f(xb)
        (want.square().sum() + wantb.sum()).backward()
        ga, gb = xa.grad.numpy().copy(), xb.grad.numpy().copy()
        xa.grad = xb.grad = None
        cr.manual_seed(k)
        got, gotb = cf(xa), cf(xb)
        (got.square().sum() + gotb.sum()).backward()
        assert np.array_equal(want.detach().numpy(), got.detach().numpy())
        assert np.array_equal(ga, xa.grad.numpy()) and np.array_equal(gb, xb.grad.numpy())
    assert sum(n.kind == "random" for n in _entry(cf).program.nodes) == 3


def test_transformer_with_dropout_compiles_and_trains_like_eager():
    """The common case the plan could not run before: a Transformer encoder with its
    default dropout 0.1 (masks in attention, feed-forward and residual paths)."""
    def make():
        cr.manual_seed(1)
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1, batch_first=True)
        return nn.Sequential(nn.TransformerEncoder(layer, 2), nn.Flatten(), nn.Linear(80, 4))
    m, m2 = make(), make()
    cm = cr.compile(m2)
    # SGD: Adam's g / sqrt(v) would turn rounding-level differences of near-zero
    # gradients into whole steps
    o1 = cr.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    o2 = cr.optim.SGD(cm.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(9)
    for k in range(6):
        x = _t(rng.standard_normal((3, 5, 16)).astype(np.float32))
        y = _t(rng.integers(0, 4, 3))
        losses = []
        for model, opt in ((m, o1), (cm, o2)):
            cr.manual_seed(k)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert _rel(*losses) <= RTOL
    assert _entry(cm).program is not None, _entry(cm).reason
    assert sum(n.kind == "random" for n in _entry(cm).program.nodes) == 2 * 4  # attention, ff, 2 residual
    for p1, p2 in zip(m.parameters(), m2.parameters()):
        assert _rel(p1.detach().numpy(), p2.detach().numpy()) <= RTOL

# ---------------------------------------------------------------- guards
def test_guards_recompile_on_shape_and_mode(caplog):
    m = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.0), nn.ReLU())
    cm = cr.compile(m, cache_size=3)
    for n in (2, 3):
        for _ in range(3):
            cm(_t(np.ones((n, 4), np.float32)))
    m.eval()
    for _ in range(3):
        cm(_t(np.ones((2, 4), np.float32)))
    assert len(cm._cache) == 3
    assert all(e.program is not None for e in cm._cache.values())
    with caplog.at_level(logging.WARNING, logger="chainrule.compile"):
        for _ in range(2):
            out = cm(_t(np.ones((5, 4), np.float32)))
    assert out.shape == (5, 4)
    assert len(cm._cache) == 3
    assert sum("cache_size=3" in r.message for r in caplog.records) == 1


# ---------------------------------------------------------------- fallback
def _uses_item(x):
    s = x.sum()
    if s.item() > 0:
        return x * 2
    return x * 3


@pytest.mark.parametrize("fn, reason", [
    (_uses_item, "item"),
    (lambda x: F.alpha_dropout(x, 0.5, True), "random or data-dependent"),
    (lambda x: x[x > 0].sum(), ""),
])
def test_uncapturable_falls_back_to_eager(fn, reason, caplog):
    rng = np.random.default_rng(5)
    cf = cr.compile(fn)
    with caplog.at_level(logging.WARNING, logger="chainrule.compile"):
        for k in range(4):
            a = rng.standard_normal(6).astype(np.float32) * (1 if k % 2 else -1)
            cr.manual_seed(k)
            want = fn(_t(a))
            cr.manual_seed(k)
            got = cf(_t(a))
            assert np.array_equal(want.numpy(), got.numpy())
    e = _entry(cf)
    assert e.program is None and e.reason and reason in e.reason
    assert len([r for r in caplog.records if "eagerly" in r.message]) == 1


def test_fullgraph_raises():
    cf = cr.compile(_uses_item, fullgraph=True)
    with pytest.raises(RuntimeError, match="fullgraph"):
        cf(_t(np.ones(3, np.float32)))


def test_backward_inside_the_call_falls_back():
    def step(x, w):
        loss = (x * w).sum()
        loss.backward()
        return loss.detach()
    cf = cr.compile(step)
    w = _t(np.ones(3, np.float32), True)
    for _ in range(3):
        cf(_t(np.ones(3, np.float32)), w)
    assert "backward" in _entry(cf).reason
    assert np.array_equal(w.grad.numpy(), np.full(3, 3.0, np.float32))


# ---------------------------------------------------------------- passes
def _nodes(cf):
    return [n for n in _entry(cf).program.nodes]


def _run(f, passes, args, calls=3):
    cf = cr.compile(f, passes=passes)
    for _ in range(calls):
        ts = [_t(a, True) for a in args]
        out = cf(*ts)
        out.backward()
    return cf, out.numpy(force=True), [t.grad.numpy() for t in ts]


def test_dce_removes_dead_ops_only():
    def f(x):
        dead = (x * 5).exp().sum(0)   # computed, never used  # noqa: F841
        return (x * 2).tanh().sum()
    a = np.random.default_rng(6).standard_normal((3, 4)).astype(np.float32)
    on, v1, g1 = _run(f, ("dce",), [a])
    off, v0, g0 = _run(f, (), [a])
    assert len(_nodes(off)) - len(_nodes(on)) == 3
    assert {n.name for n in _nodes(on)} == {"Mul", "Tanh", "Sum"}
    assert np.array_equal(v1, v0) and np.array_equal(g1[0], g0[0])
    assert np.array_equal(g1[0], (1 - np.tanh(2 * a) ** 2) * 2)


def test_cse_merges_repeats_and_keeps_different_attributes():
    def f(x):
        s = x.exp() + x.exp()                                # one exp
        r = x.sum(0, keepdim=True) + x.sum(1, keepdim=True)   # two different sums
        return (s * r).sum()
    a = np.random.default_rng(7).standard_normal((4, 4)).astype(np.float32)
    on, v1, g1 = _run(f, ("cse",), [a])
    off, v0, g0 = _run(f, (), [a])
    names = [n.name for n in _nodes(on)]
    assert names.count("Exp") == 1 and names.count("Sum") == 3
    assert [n.name for n in _nodes(off)].count("Exp") == 2
    assert _rel(v1, v0) <= 1e-6
    assert _rel(g1[0], g0[0]) <= 1e-6
    x = _t(a, True)
    f(x).backward()
    assert _rel(g1[0], x.grad.numpy()) <= 1e-6


def test_fusion_groups_chains_and_matches_bitwise():
    def f(x, b):
        a = x * 2           # read twice: ends no group but may head one
        c = ((a + b).tanh() - 1).relu()
        return (c + a).sum()
    rng = np.random.default_rng(8)
    args = [rng.standard_normal((5, 3)).astype(np.float32),
            rng.standard_normal(3).astype(np.float32)]
    on, v1, g1 = _run(f, ("fuse",), args)
    off, v0, g0 = _run(f, (), args)
    groups = [n.fused.describe() for n in _nodes(on) if n.fused is not None]
    assert groups and all(len(g) >= 2 for g in groups)
    members = [n for n in _nodes(on) if n.kind == "fused-member"]
    assert members and not any(n.kind != "op" for n in _nodes(off))
    assert np.array_equal(v1, v0)
    for x, y in zip(g1, g0):
        assert np.array_equal(x, y)


def test_fusion_in_inference_fuses_whole_chain():
    def f(x):
        return ((x * 3 + 1).tanh() * 2 - 0.5).exp()
    a = np.random.default_rng(9).standard_normal((4, 4)).astype(np.float32)
    cf = cr.compile(f)
    with cr.no_grad():
        for _ in range(3):
            out = cf(_t(a))
    (g,) = [n.fused.describe() for n in _nodes(cf) if n.fused is not None]
    assert g == ["Mul", "Add", "Tanh", "Mul", "Sub", "Exp"]
    assert np.array_equal(out.numpy(), f(_t(a)).numpy())


@pytest.mark.parametrize("pool", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=2, ceil_mode=True)])
def test_pool_first_moves_relu_after_max_pool_bitwise(pool):
    """relu -> max pool runs as max pool -> relu: the same values and gradients bit for
    bit (ties at 0 included: windows with all-negative or zero inputs), on a quarter
    of the elements; a ReLU read by anything else, or a pool whose indices the caller
    gets, stays where it is."""
    def f(x, w):
        y = F.conv2d(x, w)
        return (F.max_pool2d(F.relu(y), **pool) * 1.5).sum()
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    x[0, :, :4, :4] = 0.0                                   # windows of zeros (ties)
    w = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    on, v1, g1 = _run(f, ("pool_first",), [x, w])
    off, v0, g0 = _run(f, (), [x, w])
    assert [n.name for n in _nodes(on)][:3] == ["Conv2d", "MaxPool", "Relu"]
    assert [n.name for n in _nodes(off)][:3] == ["Conv2d", "Relu", "MaxPool"]
    assert np.array_equal(v1, v0)
    for a, b in zip(g1, g0):
        assert np.array_equal(a, b)

    def g(x, w):   # the ReLU's output is read twice: not moved
        r = F.relu(F.conv2d(x, w))
        return F.max_pool2d(r, 2).sum() + r.sum()

    def h(x, w):   # the pool's indices go to the caller: not moved
        y, i = F.max_pool2d(F.relu(F.conv2d(x, w)), 2, return_indices=True)
        return y.sum()
    for fn in (g, h):
        cf, _, _ = _run(fn, ("pool_first",), [x, w])
        if _entry(cf).program is not None:
            names = [n.name for n in _nodes(cf)]
            assert names.index("Relu") < names.index("MaxPool")


def test_max_pool_gradient_keeps_a_channels_last_layout():
    """The gradient of a max pool over a channels-last view (a convolution's output)
    is written channels-last, with torch's values (overlapping windows too)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    a = rng.standard_normal((2, 7, 7, 5)).astype(np.float32)         # NHWC memory
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)):
        leaf = cr.tensor(a, requires_grad=True)
        x = leaf.permute(0, 3, 1, 2)                          # an NCHW view
        y = F.max_pool2d(x, **kw)
        gy = rng.standard_normal(tuple(y.shape)).astype(np.float32)
        (gx,) = cr.autograd.grad(y, x, cr.tensor(gy), retain_graph=True)
        y.backward(cr.tensor(gy))
        xt = torch.tensor(a.transpose(0, 3, 1, 2).copy(), requires_grad=True)
        torch.nn.functional.max_pool2d(xt, **kw).backward(torch.tensor(gy))
        # (overlapping windows sum in another order than torch's: to an ulp)
        np.testing.assert_allclose(leaf.grad.numpy(), xt.grad.numpy().transpose(0, 2, 3, 1),
                                   rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(gx.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-7)
        assert gx.numpy().transpose(0, 2, 3, 1).flags.c_contiguous


def test_unknown_pass_is_an_error():
    with pytest.raises(ValueError, match="unknown pass"):
        cr.compile(_chain, passes=("dce", "nope"))


# ---------------------------------------------------------------- explain
def test_explain_reads_like_a_program():
    cm = cr.compile(nn.Sequential(nn.Linear(4, 3), nn.ReLU()))
    for _ in range(3):
        cm(_t(np.ones((2, 4), np.float32))).sum().backward()
    text = cm.explain()
    for part in ("signature 0", "pass dce", "pass cse", "pass fuse", "fusion groups",
                 "memory plan", "Linear(", "Relu(", "parameter", "input 0", "(backward)"):
        assert part in text, part
    cf = cr.compile(_uses_item)
    cf(_t(np.ones(2, np.float32)))
    assert "runs eagerly" in cf.explain() and "item" in cf.explain()


def test_fusion_gemm_epilogue():
    """Linear -> ReLU: the activation runs in place on the GEMM's output; values and
    gradients equal the unfused program's bitwise."""
    rng = np.random.default_rng(10)
    w1, b1, w2 = (rng.standard_normal(s).astype(np.float32) for s in ((6, 5), (6,), (2, 6)))

    def f(x, w1, b1, w2):
        return F.linear(F.linear(x, w1, b1).relu(), w2).square().sum()
    args = [rng.standard_normal((4, 5)).astype(np.float32), w1, b1, w2]
    on, v1, g1 = _run(f, ("fuse",), args)
    off, v0, g0 = _run(f, (), args)
    groups = [n.fused.describe() for n in _nodes(on) if n.fused is not None]
    assert ["Linear", "Relu"] in groups
    assert np.array_equal(v1, v0)
    for x, y in zip(g1, g0):
        assert np.array_equal(x, y)


# ---------------------------------------------------------------- the trainer
def test_trainer_compile_matches_eager():
    from chainrule.data import DataLoader, TensorDataset
    from chainrule.train import Trainer
    rng = np.random.default_rng(11)
    x = rng.standard_normal((40, 12)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    hist = {}
    for compile_ in (False, True):
        cr.manual_seed(0)
        model = mlp(in_features=12, num_classes=3, hidden_sizes=(16,))
        loader = DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=16)
        tr = Trainer(model, nn.CrossEntropyLoss(), cr.optim.SGD(model.parameters(), lr=0.1),
                     compile=compile_, log=lambda line: None)
        tr.fit(loader, loader, epochs=3)
        hist[compile_] = [(h["train_loss"], h["val_loss"]) for h in tr.history]
        if compile_:
            assert any(e.program is not None for e in tr.forward._cache.values())
    assert np.allclose(hist[True], hist[False], rtol=RTOL, atol=0)


def test_cli_compile_flag():
    import argparse
    from chainrule.cli import train as cli_train
    p = argparse.ArgumentParser()
    cli_train.add_parser(p.add_subparsers())
    args = p.parse_args(["train", "mlp", "--compile"])
    assert cli_train.config_from_args(args).compile is True


def test_explain_says_where_time_goes():
    cm = cr.compile(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1)),
                    options={"profile": True})
    for _ in range(4):
        cm(_t(np.ones((2, 4), np.float32))).sum().backward()
    text = cm.explain()
    assert "where time goes" in text and "forward  Linear -> Relu" in text
    assert "backward Linear" in text


def test_compiled_submodule_inside_a_compiled_model_is_inlined():
    # the outer capture records the inner module's ops; a nested capture used to wait on
    # the capture lock forever (run in a thread so a regression fails instead of hanging)
    import threading

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = cr.compile(nn.Linear(4, 3))
            self.head = nn.Linear(3, 2)

        def forward(self, x):
            return self.head(self.inner(x).relu())

    m = Outer()
    cm = cr.compile(m)
    x = cr.randn(5, 4)
    got = []
    t = threading.Thread(target=lambda: got.extend(cm(x) for _ in range(4)), daemon=True)
    t.start()
    t.join(60)
    assert not t.is_alive(), "compiling a model with a compiled submodule hung"
    want = m(x).detach().numpy()
    for y in got:
        np.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-6)
    assert cm._cache and all(e.program is not None for e in cm._cache.values())


def test_compiled_module_is_a_module_sharing_the_originals_state():
    # torch.compile(module) returns an nn.Module (OptimizedModule): assigned into another
    # model, its parameters must be that model's too, or an optimizer would skip them
    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = cr.compile(nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5)))
            self.head = nn.Linear(3, 2)

        def forward(self, x):
            return self.head(self.inner(x))

    m = Outer()
    assert isinstance(m.inner, nn.Module)
    assert list(m.state_dict()) == ["inner.0.weight", "inner.0.bias", "head.weight", "head.bias"]
    assert len(list(m.parameters())) == 4
    m.eval()
    assert not m.inner.training and not m.inner._orig_mod[1].training
    w0 = m.inner._orig_mod[0].weight.detach().numpy().copy()
    opt = cr.optim.SGD(m.parameters(), lr=0.1)
    x = cr.randn(5, 4)
    for _ in range(3):   # traced twice, then run from the plan
        opt.zero_grad()
        m(x).sum().backward()
        opt.step()
    assert not np.allclose(m.inner._orig_mod[0].weight.detach().numpy(), w0)
    plain = Outer.__new__(Outer)
    nn.Module.__init__(plain)
    plain.inner, plain.head = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5)), nn.Linear(3, 2)
    plain.load_state_dict(m.state_dict())   # no _orig_mod. prefix: loads uncompiled
    plain.eval()
    np.testing.assert_allclose(plain(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-6)
    assert "OptimizedModule(Sequential(" in repr(m)
