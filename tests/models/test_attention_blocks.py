"""d2l's attention blocks: masked scoring, Bahdanau and multi-head attention, the
positional encoding and Nadaraya-Watson pooling, and the heatmap PNG."""
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.models.attention import (AdditiveAttention, DotProductAttention,
                                        MultiHeadAttention, NWKernelRegression,
                                        PositionalEncoding, nadaraya_watson)
from chainrule.train.plots import save_heatmaps


def test_dot_product_attention_equals_sdpa_with_a_length_mask():
    rng = np.random.default_rng(0)
    q, k, v = (cr.tensor(rng.standard_normal(s)) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 6)])
    lens = cr.tensor([2, 5])
    ours = DotProductAttention(0.0)(q, k, v, lens)
    keep = cr.tensor(np.arange(5)[None, None, :] < np.array([2, 5])[:, None, None])
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-10, atol=1e-10)


def test_additive_attention_scores_and_gradients():
    rng = np.random.default_rng(1)
    att = AdditiveAttention(8, 0.0)
    q = cr.tensor(rng.standard_normal((2, 1, 20)), dtype=cr.float32, requires_grad=True)
    k = cr.tensor(rng.standard_normal((2, 10, 2)), dtype=cr.float32)
    v = cr.tensor(rng.standard_normal((2, 10, 4)), dtype=cr.float32)
    out = att(q, k, v, cr.tensor([2, 6]))
    assert out.shape == (2, 1, 4)
    w = att.attention_weights.detach().numpy()
    assert np.allclose(w[0, 0, 2:], 0) and np.allclose(w[1, 0, 6:], 0)
    assert np.allclose(w.sum(-1), 1, atol=1e-6)
    out.sum().backward()
    assert q.grad is not None and att.W_q.weight.grad is not None


def test_d2l_multihead_attention_shapes_and_masking():
    m = MultiHeadAttention(100, 5, 0.0)
    x, y = cr.ones(2, 4, 100), cr.randn(2, 6, 100)
    assert m(x, y, y, cr.tensor([3, 2])).shape == (2, 4, 100)
    w = m.attention_weights.detach().numpy()          # (2 * 5 heads, 4, 6)
    assert w.shape == (10, 4, 6) and np.allclose(w[:5, :, 3:], 0) and np.allclose(w[5:, :, 2:], 0)
    with pytest.raises(ValueError, match="multiple of num_heads"):
        MultiHeadAttention(10, 3, 0.0)


def test_positional_encoding_is_the_sinusoid():
    pe = PositionalEncoding(32, 0.0)
    P = pe(cr.zeros(1, 60, 32)).numpy()[0]
    t, i = 7, 5
    assert math.isclose(P[t, 2 * i], math.sin(t / 10000 ** (2 * i / 32)), rel_tol=1e-5)
    assert math.isclose(P[t, 2 * i + 1], math.cos(t / 10000 ** (2 * i / 32)), rel_tol=1e-5)
    assert "P" not in pe.state_dict()   # a fixed table, not saved
    with pytest.raises(RuntimeError, match="exceed max_len"):
        PositionalEncoding(8, 0.0, max_len=4)(cr.zeros(1, 5, 8))


def test_nadaraya_watson_fits_d2ls_toy_problem():
    rng = np.random.default_rng(2)
    x_train = np.sort(rng.random(50) * 5)
    f = lambda x: 2 * np.sin(x) + x ** 0.8  # noqa: E731
    y_train = f(x_train) + rng.normal(0, 0.5, 50)
    x_test = np.arange(0, 5, 0.1)
    y_hat, w = nadaraya_watson(cr.tensor(x_test), cr.tensor(x_train), cr.tensor(y_train))
    assert w.shape == (50, 50) and np.allclose(w.numpy().sum(1), 1)
    assert np.mean((y_hat.numpy() - f(x_test)) ** 2) < 0.5      # smooth fit of the truth
    net = NWKernelRegression()
    assert net(cr.tensor(x_test, dtype=cr.float32), cr.tensor(x_train, dtype=cr.float32),
               cr.tensor(y_train, dtype=cr.float32)).shape == (50,)


def test_save_heatmaps_writes_a_png(tmp_path):
    att = DotProductAttention(0.0)
    att(cr.randn(1, 3, 4), cr.randn(1, 5, 4), cr.randn(1, 5, 2), cr.tensor([4]))
    path = save_heatmaps(att.attention_weights.reshape(1, 1, 3, 5), tmp_path / "att.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="rows, cols, queries, keys"):
        save_heatmaps(np.zeros(3), tmp_path / "bad.png")
