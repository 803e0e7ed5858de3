"""nn.init: gains, fans, and the statistics of each distribution vs its formula."""
import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn import init


@pytest.mark.parametrize("name,param", [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
    ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
    ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu", None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError):
        init.calculate_gain("leaky_relu", "x")


@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5), (16, 4, 3, 3), (2, 3, 2, 2, 2)])
def test_fan_in_fan_out_matches_torch(shape):
    assert init._calculate_fan_in_and_fan_out(cr.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_fan_needs_2d():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(cr.empty(5))


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a, a.mean(), a.std()


def test_uniform_normal_constant():
    t = cr.empty(200, 300)
    assert init.uniform_(t, -2, 3) is t
    a, mu, sd = _stats(t)
    assert a.min() >= -2 and a.max() <= 3
    assert abs(mu - 0.5) < 0.02 and abs(sd - 5 / math.sqrt(12)) < 0.02
    a, mu, sd = _stats(init.normal_(t, 1.0, 0.5))
    assert abs(mu - 1.0) < 0.01 and abs(sd - 0.5) < 0.01
    assert np.all(init.constant_(t, 0.3).numpy() == np.float32(0.3))
    assert np.all(init.ones_(t).numpy() == 1) and np.all(init.zeros_(t).numpy() == 0)
    v = t._version[0]
    init.ones_(t)
    assert t._version[0] == v + 1


def test_init_on_parameter_records_no_graph():
    p = nn.Parameter(cr.empty(10, 10))
    init.kaiming_normal_(p)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_trunc_normal():
    t = init.trunc_normal_(cr.empty(100000), mean=0.5, std=1.0, a=-1.0, b=1.5)
    a, mu, sd = _stats(t)
    assert a.min() >= -1.0 and a.max() <= 1.5
    ref = torch.nn.init.trunc_normal_(torch.empty(200000, dtype=torch.float64), 0.5, 1.0,
                                      -1.0, 1.5).numpy()
    assert abs(mu - ref.mean()) < 0.01 and abs(sd - ref.std()) < 0.01
    a, _, _ = _stats(init.trunc_normal_(cr.empty(1000), std=0.02))  # bounds are absolute
    assert np.abs(a).max() < 0.1 and a.std() > 0.015


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_xavier(shape):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(cr.empty(*shape))
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    a, mu, sd = _stats(init.xavier_uniform_(cr.empty(*shape), gain=2.0))
    assert np.abs(a).max() <= bound and np.abs(a).max() > 0.98 * bound
    assert abs(sd - bound / math.sqrt(3)) / sd < 0.02
    a, mu, sd = _stats(init.xavier_normal_(cr.empty(*shape)))
    assert abs(sd - math.sqrt(2 / (fan_in + fan_out))) / sd < 0.02


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", 0.1), ("tanh", 0)])
def test_kaiming(mode, nonlinearity, a):
    shape = (128, 64, 3, 3)
    fan = init._calculate_correct_fan(cr.empty(*shape), mode)
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    x, mu, sd = _stats(init.kaiming_uniform_(cr.empty(*shape), a, mode, nonlinearity))
    assert np.abs(x).max() <= math.sqrt(3) * std
    assert abs(sd - std) / std < 0.02 and abs(mu) < 0.05 * std
    x, mu, sd = _stats(init.kaiming_normal_(cr.empty(*shape), a, mode, nonlinearity))
    assert abs(sd - std) / std < 0.02
    t = torch.nn.init.kaiming_normal_(torch.empty(*shape), a, mode, nonlinearity)
    assert abs(sd - t.std().item()) / std < 0.03


def test_kaiming_bad_mode():
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(cr.empty(3, 3), mode="fan_avg")


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3)])
def test_orthogonal(shape):
    t = init.orthogonal_(cr.empty(*shape, dtype=cr.float64), gain=2.0)
    m = t.numpy().reshape(shape[0], -1)
    if m.shape[0] >= m.shape[1]:
        np.testing.assert_allclose(m.T @ m, 4 * np.eye(m.shape[1]), atol=1e-10)
    else:
        np.testing.assert_allclose(m @ m.T, 4 * np.eye(m.shape[0]), atol=1e-10)
    with pytest.raises(ValueError):
        init.orthogonal_(cr.empty(3))


def test_eye_dirac_sparse():
    np.testing.assert_array_equal(init.eye_(cr.empty(2, 3)).numpy(),
                                  torch.nn.init.eye_(torch.empty(2, 3)).numpy())
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((2, 2, 1, 3, 3), 1)]:
        np.testing.assert_array_equal(
            init.dirac_(cr.empty(*shape), groups).numpy(),
            torch.nn.init.dirac_(torch.empty(*shape), groups).numpy())
    s = init.sparse_(cr.empty(10, 20), 0.3).numpy()
    assert np.all((s == 0).sum(0) >= 3)


def test_generator_and_manual_seed_reproducible():
    cr.manual_seed(3)
    a = init.normal_(cr.empty(5)).numpy().copy()
    cr.manual_seed(3)
    b = init.normal_(cr.empty(5)).numpy().copy()
    np.testing.assert_array_equal(a, b)
    g1, g2 = np.random.default_rng(1), np.random.default_rng(1)
    np.testing.assert_array_equal(init.uniform_(cr.empty(4), generator=g1).numpy(),
                                  init.uniform_(cr.empty(4), generator=g2).numpy())


def test_deprecated_names_warn_like_torch_and_fill():
    import warnings as _w
    w = cr.empty(3, 4)
    with pytest.warns(FutureWarning, match="`nn.init.xavier_uniform` is now deprecated in "
                      "favor of `nn.init.xavier_uniform_`"):
        out = cr.nn.init.xavier_uniform(w)
    assert out is w and np.abs(w.numpy()).max() <= np.sqrt(6 / 7) + 1e-6
    with _w.catch_warnings():
        _w.simplefilter("ignore", FutureWarning)
        cr.nn.init.constant(w, 0.5)
    assert (w.numpy() == 0.5).all()
