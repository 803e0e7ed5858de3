"""nn.utils: gradient clipping and parameters <-> vector, vs torch."""
import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn.utils import (clip_grad_norm_, clip_grad_value_, parameters_to_vector,
                                vector_to_parameters)


def _pair(scale):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    grads = [(rng.standard_normal(s) * scale).astype(np.float32) for s in shapes]
    ps = [nn.Parameter(cr.zeros(*s)) for s in shapes]
    ts = [torch.nn.Parameter(torch.zeros(*s)) for s in shapes]
    for p, t, g in zip(ps, ts, grads):
        p.grad = cr.tensor(g)
        t.grad = torch.tensor(g)
    ps.append(nn.Parameter(cr.zeros(2)))  # no grad: skipped
    ts.append(torch.nn.Parameter(torch.zeros(2)))
    return ps, ts


@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ps, ts = _pair(2.0)
    total = clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type=norm_type)
    assert isinstance(total, cr.Tensor) and total.ndim == 0 and total.dtype == cr.float32
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-6)
    for p, t in zip(ps, ts):
        if t.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_single_tensor_generator_and_empty():
    p = nn.Parameter(cr.zeros(2))
    p.grad = cr.tensor([3.0, 4.0])
    g = p.grad
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    assert p.grad is g  # in place
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    lin = nn.Linear(2, 2)
    assert clip_grad_norm_(lin.parameters(), 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite():
    p = nn.Parameter(cr.zeros(2))
    p.grad = cr.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    p.grad = cr.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    total = clip_grad_norm_([p], 1.0)
    assert math.isnan(total.item())


def test_clip_grad_value_matches_torch():
    ps, ts = _pair(2.0)
    clip_grad_value_(ps, 0.7)
    torch.nn.utils.clip_grad_value_(ts, 0.7)
    for p, t in zip(ps, ts):
        if t.grad is not None:
            np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_parameters_to_vector_round_trip():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    params = list(net.parameters())
    v = parameters_to_vector(net.parameters())
    assert v.shape == (sum(p.numel() for p in params),)
    np.testing.assert_array_equal(
        v.detach().numpy(),
        np.concatenate([p.detach().numpy().reshape(-1) for p in params]))
    ids = [id(p._data) for p in params]
    vector_to_parameters(v * 2, net.parameters())
    assert [id(p._data) for p in net.parameters()] == ids
    np.testing.assert_allclose(parameters_to_vector(net.parameters()).detach().numpy(),
                               2 * v.detach().numpy())
    with pytest.raises(TypeError):
        vector_to_parameters(np.zeros(3), net.parameters())


def test_parameters_to_vector_is_differentiable():
    a = nn.Parameter(cr.ones(2, 2))
    b = nn.Parameter(cr.ones(3))
    v = parameters_to_vector([a, b])
    (v * cr.arange(7.0)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[0, 1], [2, 3]])
    np.testing.assert_array_equal(b.grad.numpy(), [4, 5, 6])
