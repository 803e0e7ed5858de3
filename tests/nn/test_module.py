"""Module: registration, state_dict, load_state_dict, repr, hooks, modes, to()."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn


def _cr_net():
    class Block(nn.Module):
        def __init__(self, n_in):
            super().__init__()
            self.fc = nn.Linear(n_in, 5)
            self.register_buffer("scale", cr.ones(5))
            self.register_buffer("tmp", cr.zeros(2), persistent=False)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.fc(x)) * self.scale

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 6, padding_idx=0)
            self.blocks = nn.ModuleList([Block(6), Block(5)])
            self.head = nn.Sequential(OrderedDict(
                [("drop", nn.Dropout(0.2)), ("out", nn.Linear(5, 3, bias=False))]))
            self.extra = nn.Parameter(cr.zeros(3))

        def forward(self, idx):
            h = self.emb(idx)
            h = self.blocks[0](h)
            h = self.blocks[1](h)
            return self.head(h) + self.extra
    return Net()


def _torch_net():
    tn = torch.nn

    class Block(tn.Module):
        def __init__(self, n_in):
            super().__init__()
            self.fc = tn.Linear(n_in, 5)
            self.register_buffer("scale", torch.ones(5))
            self.register_buffer("tmp", torch.zeros(2), persistent=False)
            self.act = tn.ReLU()

        def forward(self, x):
            return self.act(self.fc(x)) * self.scale

    class Net(tn.Module):
        def __init__(self):
            super().__init__()
            self.emb = tn.Embedding(10, 6, padding_idx=0)
            self.blocks = tn.ModuleList([Block(6), Block(5)])
            self.head = tn.Sequential(OrderedDict(
                [("drop", tn.Dropout(0.2)), ("out", tn.Linear(5, 3, bias=False))]))
            self.extra = tn.Parameter(torch.zeros(3))

        def forward(self, idx):
            h = self.emb(idx)
            h = self.blocks[0](h)
            h = self.blocks[1](h)
            return self.head(h) + self.extra
    return Net()


def test_state_dict_keys_order_and_shapes_match_torch():
    m, t = _cr_net(), _torch_net()
    sd, tsd = m.state_dict(), t.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd.keys()) == list(tsd.keys())
    for k in sd:
        assert tuple(sd[k].shape) == tuple(tsd[k].shape), k
        assert not sd[k].requires_grad and sd[k].grad_fn is None
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in m.named_children()] == [n for n, _ in t.named_children()]
    assert len(list(m.parameters())) == len(list(t.parameters()))
    assert [n for n, _ in m.named_parameters(recurse=False)] == ["extra"]


def test_load_torch_state_dict_gives_identical_outputs():
    m, t = _cr_net(), _torch_net()
    m.eval(), t.eval()
    params_before = {n: p for n, p in m.named_parameters()}
    res = m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    for n, p in m.named_parameters():  # identity kept, values copied
        assert p is params_before[n]
    idx = np.array([[0, 3, 9], [1, 2, 2]])
    out = m(cr.tensor(idx)).detach().numpy()
    ref = t(torch.tensor(idx)).detach().numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    # round trip through chainrule tensors
    m2 = _cr_net().eval()
    m2.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(m2(cr.tensor(idx)).detach().numpy(), out)


def test_state_dict_shares_memory_and_keep_vars():
    lin = nn.Linear(2, 2)
    sd = lin.state_dict()
    with cr.no_grad():
        lin.weight.fill_(3.0)
    assert np.all(sd["weight"].numpy() == 3.0)
    assert lin.state_dict(keep_vars=True)["weight"] is lin.weight
    sd = lin.state_dict(prefix="enc.")
    assert list(sd) == ["enc.weight", "enc.bias"]


def test_load_state_dict_strict_errors():
    m = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    sd = m.state_dict()
    bad = OrderedDict(sd)
    del bad["0.bias"]
    bad["foo"] = cr.zeros(1)
    bad["2.extra"] = cr.zeros(1)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict(bad)
    msg = str(e.value)
    assert msg.startswith("Error(s) in loading state_dict for Sequential:\n\t")
    assert 'Missing key(s) in state_dict: "0.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "2.extra", "foo".' in msg or \
        'Unexpected key(s) in state_dict: "foo", "2.extra".' in msg
    res = m.load_state_dict(bad, strict=False)
    assert res.missing_keys == ["0.bias"]
    assert sorted(res.unexpected_keys) == ["2.extra", "foo"]
    # the same keys torch reports
    t = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    tbad = OrderedDict((k, torch.zeros(v.shape)) for k, v in bad.items())
    tres = t.load_state_dict(tbad, strict=False)
    assert tres.missing_keys == res.missing_keys
    assert tres.unexpected_keys == res.unexpected_keys


def test_size_mismatch_message():
    class M(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.fc = nn.Linear(4, n)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc.weight: copying a param with "
                       r"shape \(3, 4\) from checkpoint, the shape in current model is "
                       r"\(5, 4\)\."):
        M(5).load_state_dict(M(3).state_dict())
    with pytest.raises(RuntimeError, match="size mismatch"):  # even when not strict
        M(5).load_state_dict(M(3).state_dict(), strict=False)


def test_load_state_dict_casts_dtype_and_assign():
    lin = nn.Linear(3, 2)
    w = np.arange(6, dtype=np.float64).reshape(2, 3)
    lin.load_state_dict({"weight": w, "bias": np.zeros(2)})
    assert lin.weight.dtype == cr.float32
    np.testing.assert_array_equal(lin.weight.detach().numpy(), w)
    old = lin.weight
    lin.load_state_dict({"weight": cr.ones(2, 3), "bias": cr.zeros(2)}, assign=True)
    assert lin.weight is not old and isinstance(lin.weight, nn.Parameter)
    assert lin.weight.requires_grad


def test_repr_matches_torch():
    m = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10),
                      nn.LogSoftmax(dim=1))
    t = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                            torch.nn.Linear(128, 10), torch.nn.LogSoftmax(dim=1))
    assert repr(m) == repr(t)
    assert repr(_cr_net()) == repr(_torch_net()).replace("Net(", "Net(", 1)
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    tl = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()])
    assert repr(ml) == repr(tl)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())
    md = nn.ModuleDict({"a": nn.Linear(1, 2), "b": nn.Tanh()})
    td = torch.nn.ModuleDict({"a": torch.nn.Linear(1, 2), "b": torch.nn.Tanh()})
    assert repr(md) == repr(td)


def test_parameter_basics():
    p = nn.Parameter(cr.ones(2, 3))
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert repr(p) == repr(torch.nn.Parameter(torch.ones(2, 3))).replace("torch", "chainrule")
    assert not nn.Parameter(cr.ones(1), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    t = cr.zeros(3)
    p = nn.Parameter(t)
    with cr.no_grad():
        p.add_(1)
    assert t.numpy().tolist() == [1, 1, 1]  # shares memory like torch
    (p * 2).sum().backward()
    assert p.grad.numpy().tolist() == [2, 2, 2]
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad and q._data is not p._data
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and r.numpy(force=True).tolist() == [1, 1, 1]


def test_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(cr.ones(1))
    m.sub = nn.Linear(1, 1)
    m.register_buffer("b", cr.zeros(1))
    m.plain = 3
    assert set(m._parameters) == {"w"} and set(m._modules) == {"sub"}
    assert set(m._buffers) == {"b"} and "plain" in m.__dict__
    with pytest.raises(TypeError, match="cannot assign"):
        m.w = cr.ones(1)
    m.w = None
    assert m.w is None and list(m.state_dict()) == ["b", "sub.weight", "sub.bias"]
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", cr.zeros(1))
    with pytest.raises(KeyError):
        m.register_parameter("a.b", nn.Parameter(cr.ones(1)))
    with pytest.raises(TypeError):
        m.register_parameter("z", cr.ones(1))
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        m.nope
    m.b = cr.ones(1)  # assigning a tensor to a buffer name updates the buffer
    assert m._buffers["b"].numpy().tolist() == [1]
    m.nb = nn.Buffer(cr.ones(2), persistent=False)
    assert "nb" in m._buffers and "nb" not in m.state_dict()
    del m.sub
    assert "sub" not in m._modules
    m.add_module("child", nn.ReLU())
    m.register_module("child2", nn.Tanh())
    assert m.get_submodule("child") is m.child
    assert "child" in dir(m)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cr.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_get_submodule_parameter_and_shared_params():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 3)))
    assert net.get_submodule("1.0") is net[1][0]
    assert net.get_parameter("1.0.bias") is net[1][0].bias
    with pytest.raises(AttributeError):
        net.get_submodule("1.5")
    shared = nn.Linear(2, 2)
    tied = nn.Sequential(shared, shared)
    assert len(list(tied.parameters())) == 2
    assert len(list(tied.named_parameters(remove_duplicate=False))) == 4
    assert list(tied.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_forward_hooks_and_removal():
    lin = nn.Linear(3, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    x = cr.ones(4, 3)
    y = lin(x)  # input zeroed by the pre-hook, output shifted by the hook
    np.testing.assert_allclose(y.detach().numpy(),
                               np.tile(lin.bias.detach().numpy() + 1, (4, 1)), rtol=1e-6)
    assert calls == [(4, 2)]
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(lin(x).detach().numpy(),
                               cr.nn.functional.linear(x, lin.weight, lin.bias).detach()
                               .numpy())
    assert calls == [(4, 2)]
    order = []
    lin.register_forward_hook(lambda m, a, o: order.append("a"))
    lin.register_forward_hook(lambda m, a, o: order.append("b"), prepend=True)
    lin.register_forward_pre_hook(lambda m, a, k: (a, {}), with_kwargs=True)
    with lin.register_forward_hook(lambda m, a, o: order.append("c")):
        lin(x)
    lin(x)
    assert order == ["b", "a", "c", "b", "a"]


def test_train_eval_dropout():
    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    assert net.training and net[1].training
    x = cr.ones(64, 4)
    net.eval()
    assert not net[1].training
    y1, y2 = net(x), net(x)
    np.testing.assert_array_equal(y1.detach().numpy(), y2.detach().numpy())
    net.train()
    d = nn.Dropout(0.5)
    y = d(cr.ones(1000)).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 300 < (y == 0).sum() < 700
    with pytest.raises(ValueError):
        net.train("yes")
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_zero_grad_apply_requires_grad():
    lin = nn.Linear(3, 2)
    lin(cr.ones(2, 3)).sum().backward()
    assert lin.weight.grad is not None
    g = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is g and np.all(g.numpy() == 0)
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None
    seen = []
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]

    def init_fn(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)
    net.apply(init_fn)
    assert np.all(net[0].weight.detach().numpy() == 0)
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_double_and_float():
    net = nn.Sequential(nn.Linear(3, 2), nn.Embedding(4, 2))
    net.register_buffer("count", cr.tensor([1, 2]))
    w = net[0].weight
    out = net.to(cr.float64)
    assert out is net and net[0].weight is w
    assert all(p.dtype == cr.float64 for p in net.parameters())
    assert net.count.dtype == cr.int64  # integer buffers keep their dtype
    y = net[0](cr.ones(2, 3, dtype=cr.float64))
    assert y.dtype == cr.float64
    net.float()
    assert w.dtype == cr.float32
    net.double().cpu()
    assert w.dtype == cr.float64 and w.device.type == "cpu"
    with pytest.raises(TypeError):
        net.to(cr.int64)


def test_state_dict_save_load_round_trip(tmp_path):
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    path = str(tmp_path / "model.safetensors")
    cr.save(net.state_dict(), path)
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    other.load_state_dict(cr.load(path))
    x = cr.randn(5, 3)
    np.testing.assert_array_equal(other(x).detach().numpy(), net(x).detach().numpy())


def test_extra_state_and_none_entries():
    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.step = 0
            self.register_buffer("unused", None)
            self.register_parameter("maybe", None)

        def get_extra_state(self):
            return {"step": self.step}

        def set_extra_state(self, state):
            self.step = state["step"]

    a = WithExtra()
    a.step = 7
    sd = a.state_dict()
    assert list(sd) == ["_extra_state"]
    b = WithExtra()
    b.load_state_dict(sd)
    assert b.step == 7
    with pytest.raises(RuntimeError, match='Missing key.*"_extra_state"'):
        b.load_state_dict({})
