"""Layers vs torch with copied weights: forward, backward, repr, errors."""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn


def _copy_weights(m, t):
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})


def _grads(m):
    return {n: p.grad.numpy() for n, p in m.named_parameters() if p.grad is not None}


def _tgrads(t):
    return {n: p.grad.numpy() for n, p in t.named_parameters() if p.grad is not None}


def _check_grads(m, t, rtol=1e-5, atol=1e-6):
    g, tg = _grads(m), _tgrads(t)
    assert g.keys() == tg.keys()
    for k in g:
        np.testing.assert_allclose(g[k], tg[k], rtol=rtol, atol=atol, err_msg=k)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias):
    t = torch.nn.Linear(5, 3, bias=bias)
    m = nn.Linear(5, 3, bias=bias)
    _copy_weights(m, t)
    x = np.random.randn(2, 4, 5).astype(np.float32)
    xc = cr.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    y, yt = m(xc), t(xt)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
    _check_grads(m, t, atol=1e-5)
    assert repr(m) == repr(t)
    assert (m.bias is None) == (not bias)


def test_linear_shape_error_names_layer():
    with pytest.raises(RuntimeError) as e:
        nn.Linear(784, 10)(cr.zeros(128, 28, 28))
    assert str(e.value) == "Linear(in_features=784): expected input (..., 784), got (128, 28, 28)"


def test_linear_default_init_bounds():
    m = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    np.testing.assert_allclose(w.std(), bound / np.sqrt(3), rtol=0.02)
    cr.manual_seed(7)
    w1 = nn.Linear(4, 4).weight.detach().numpy()
    cr.manual_seed(7)
    w2 = nn.Linear(4, 4).weight.detach().numpy()
    np.testing.assert_array_equal(w1, w2)
    assert nn.Linear(3, 2, dtype=cr.float64).weight.dtype == cr.float64


def test_bilinear_matches_torch():
    t = torch.nn.Bilinear(3, 4, 2)
    m = nn.Bilinear(3, 4, 2)
    assert repr(m) == repr(t)
    bound = 1 / np.sqrt(3)
    assert np.abs(m.weight.detach().numpy()).max() <= bound
    _copy_weights(m, t)
    x1 = np.random.randn(5, 3).astype(np.float32)
    x2 = np.random.randn(5, 4).astype(np.float32)
    a, b = cr.tensor(x1, requires_grad=True), cr.tensor(x2, requires_grad=True)
    ta, tb = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    y, yt = m(a, b), t(ta, tb)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    (y ** 2).sum().backward()
    (yt ** 2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-4, atol=1e-5)
    _check_grads(m, t, rtol=1e-4, atol=1e-5)
    with pytest.raises(RuntimeError, match="Bilinear"):
        m(cr.zeros(5, 4), cr.zeros(5, 4))


def test_embedding_matches_torch_and_padding_gets_no_grad():
    t = torch.nn.Embedding(10, 4, padding_idx=2)
    m = nn.Embedding(10, 4, padding_idx=2)
    assert repr(m) == repr(t)
    assert np.all(m.weight.detach().numpy()[2] == 0)
    _copy_weights(m, t)
    idx = np.array([[1, 2, 3], [2, 2, 9]])
    y, yt = m(cr.tensor(idx)), t(torch.tensor(idx))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy())
    (y * cr.arange(4.0)).sum().backward()
    (yt * torch.arange(4.0)).sum().backward()
    _check_grads(m, t)
    assert np.all(m.weight.grad.numpy()[2] == 0)
    assert nn.Embedding(5, 2, padding_idx=-1).padding_idx == 4
    with pytest.raises(ValueError):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(RuntimeError, match="integer"):
        m(cr.zeros(3))


def test_embedding_init_and_max_norm():
    m = nn.Embedding(2000, 50)
    w = m.weight.detach().numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
    e = nn.Embedding(6, 3, max_norm=1.0)
    t = torch.nn.Embedding(6, 3, max_norm=1.0)
    _copy_weights(e, t)
    idx = [0, 1, 1, 4]
    np.testing.assert_allclose(e(cr.tensor(idx)).detach().numpy(),
                               t(torch.tensor(idx)).detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(e.weight.detach().numpy(), t.weight.detach().numpy(),
                               rtol=1e-5)
    assert repr(e) == repr(t)


def test_embedding_from_pretrained():
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(cr.tensor([2, 0])).numpy(), [[5, 6], [1, 2]])
    e2 = nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    assert e2.weight.requires_grad and e2.padding_idx == 1
    assert e2.weight.numpy(force=True)[1].tolist() == [3, 4]  # padding row not zeroed
    assert repr(e2) == repr(torch.nn.Embedding.from_pretrained(torch.tensor(w.numpy()),
                                                               freeze=False, padding_idx=1))


_ACTS = [
    ("ReLU", (), {}), ("ReLU", (), {"inplace": True}), ("LeakyReLU", (0.2,), {}),
    ("ELU", (), {"alpha": 0.5}), ("SELU", (), {}), ("CELU", (1.5,), {}),
    ("GELU", (), {}), ("GELU", (), {"approximate": "tanh"}), ("SiLU", (), {}),
    ("Sigmoid", (), {}), ("Tanh", (), {}), ("Softmax", (), {"dim": 1}),
    ("LogSoftmax", (), {"dim": -1}), ("Softmin", (), {"dim": 1}),
    ("Softplus", (), {"beta": 2.0, "threshold": 10.0}), ("Hardtanh", (-0.5, 0.5), {}),
    ("ReLU6", (), {}), ("Mish", (), {}), ("Hardsigmoid", (), {}), ("Hardswish", (), {}),
    ("LogSigmoid", (), {}), ("Softsign", (), {}), ("Tanhshrink", (), {}),
    ("Softshrink", (0.3,), {}), ("Hardshrink", (), {}), ("Threshold", (0.1, 20.0), {}),
    ("GLU", (), {}), ("PReLU", (), {}), ("PReLU", (4,), {"init": 0.1}),
]


@pytest.mark.parametrize("name,args,kwargs", _ACTS)
def test_activation_modules_match_torch(name, args, kwargs):
    m = getattr(nn, name)(*args, **kwargs)
    t = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(m) == repr(t)
    x = (np.random.randn(3, 4, 2) * 3).astype(np.float32)
    xc = cr.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    inplace = kwargs.get("inplace", False)
    y = m(xc * 1 if inplace else xc)
    yt = t(xt * 1 if inplace else xt)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    _check_grads(m, t, rtol=1e-4, atol=1e-5)


def test_identity_flatten_unflatten():
    assert repr(nn.Identity(3, foo=1)) == repr(torch.nn.Identity(3, foo=1))
    x = cr.randn(2, 3, 4, 5)
    assert nn.Identity()(x) is x
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert repr(nn.Flatten(0, 2)) == repr(torch.nn.Flatten(0, 2))
    u = nn.Unflatten(1, (3, 20))
    assert repr(u) == repr(torch.nn.Unflatten(1, (3, 20)))
    assert u(nn.Flatten()(x)).shape == (2, 3, 20)
    with pytest.raises(TypeError):
        nn.Unflatten(1, 5)


def test_feature_dropout_and_alpha_dropout():
    d = nn.Dropout2d(0.5)
    assert repr(d) == repr(torch.nn.Dropout2d(0.5))
    y = d(cr.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # whole channels dropped
    assert set(np.unique(y)) <= {0.0, 2.0}
    d.eval()
    x = cr.ones(2, 3, 4, 4)
    assert d(x) is x
    a = nn.AlphaDropout(0.2)
    z = a(cr.randn(20000)).numpy()
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05


def test_lazy_linear():
    m = nn.LazyLinear(3)
    y = m(cr.randn(4, 7))
    assert y.shape == (4, 3) and m.weight.shape == (3, 7) and m.in_features == 7
    assert type(m) is nn.Linear
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / np.sqrt(7)
