"""Batch norm of channels-last (N, C, H, W) arrays (what convolutions return) takes
a rows fast path in ``Normalize``: it must equal torch (forward, gradients,
running statistics) and the generic path, for every parameter combination and
for row counts that do not divide into the path's long runs."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.functional import normalization as N
from chainrule.testing import gradcheck

torch = pytest.importorskip("torch")


def _channels_last(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("shape", [(4, 3, 5, 7), (2, 32, 6, 6), (3, 600, 1, 1), (1, 5, 1, 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_matches_torch(shape, affine):
    rng = np.random.default_rng(0)
    x = _channels_last(rng.standard_normal(shape) * 3 + 1)
    assert N._channel_rows(x, (0, 2, 3), ()) is not None  # the fast path is taken
    c = shape[1]
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    gy = rng.standard_normal(shape)
    rm, rv = np.zeros(c), np.ones(c)
    xc = cr.tensor(x, requires_grad=True)
    wc, bc = (cr.tensor(w, requires_grad=True), cr.tensor(b, requires_grad=True)) if affine \
        else (None, None)
    rmc, rvc = cr.tensor(rm.copy()), cr.tensor(rv.copy())
    y = F.batch_norm(xc, rmc, rvc, wc, bc, training=True, momentum=0.3)
    y.backward(cr.tensor(gy))
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    wt, bt = (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) \
        if affine else (None, None)
    rmt, rvt = torch.tensor(rm.copy()), torch.tensor(rv.copy())
    yt = torch.nn.functional.batch_norm(xt, rmt, rvt, wt, bt, training=True, momentum=0.3)
    yt.backward(torch.tensor(gy))
    close = lambda a, t: np.testing.assert_allclose(a, t.detach().numpy(), rtol=1e-9,  # noqa
                                                    atol=1e-10)
    close(y.detach().numpy(), yt)
    close(xc.grad.numpy(), xt.grad)
    close(rmc.numpy(), rmt)
    close(rvc.numpy(), rvt)
    if affine:
        close(wc.grad.numpy(), wt.grad)
        close(bc.grad.numpy(), bt.grad)


def test_gradcheck_channels_last():
    rng = np.random.default_rng(1)
    x = cr.tensor(_channels_last(rng.standard_normal((3, 4, 3, 2))), requires_grad=True)
    w = cr.tensor(rng.standard_normal(4), requires_grad=True)
    b = cr.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                     (x, w, b))


def test_float32_channels_last_equals_generic_path():
    rng = np.random.default_rng(2)
    a = (rng.standard_normal((8, 16, 9, 9)) * 2).astype(np.float32)
    g = rng.standard_normal(a.shape).astype(np.float32)
    outs = []
    for arr in (_channels_last(a), np.ascontiguousarray(a)):
        x = cr.tensor(arr, requires_grad=True)
        w = cr.ones(16, requires_grad=True)
        y = F.batch_norm(x, None, None, w, None, training=True)
        y.backward(cr.tensor(g))
        assert y.dtype == cr.float32 and x.grad.dtype == cr.float32
        outs.append((y.detach().numpy(), x.grad.numpy(), w.grad.numpy()))
    for p, q in zip(*outs):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-5)
