"""nn.functional behaviour beyond the op table: dropout, stability, errors."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

try:
    import torch
except ImportError:
    torch = None


# ---------------------------------------------------------------- dropout
def test_dropout_statistics():
    cr.manual_seed(0)
    x = cr.ones(200, 500)
    y = F.dropout(x, p=0.3)
    a = y.detach().numpy()
    assert abs((a == 0).mean() - 0.3) < 0.01
    assert abs(a.mean() - 1.0) < 0.02
    np.testing.assert_allclose(a[a != 0], 1 / 0.7, rtol=1e-6)
    assert y.dtype == x.dtype


def test_dropout_reproducible():
    x = cr.randn(50, 40)
    cr.manual_seed(123)
    a = F.dropout(x, 0.5).numpy()
    cr.manual_seed(123)
    b = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    c = F.dropout(x, 0.5).numpy()
    assert not np.array_equal(a, c)


def test_dropout_eval_and_edge_p():
    x = cr.randn(4, 5)
    assert F.dropout(x, 0.5, training=False) is x
    assert np.array_equal(F.dropout(x, 0.0).numpy(), x.detach().numpy())
    assert np.all(F.dropout(x, 1.0).numpy() == 0)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, p)


def test_dropout_gradient_is_mask():
    cr.manual_seed(1)
    x = cr.randn(30, 20, requires_grad=True)
    y = F.dropout(x, 0.4)
    y.sum().backward()
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.6, rtol=1e-6)


def test_dropout_inplace():
    cr.manual_seed(2)
    x = cr.ones(10, 10)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and np.any(x.detach().numpy() == 0)


def test_alpha_dropout_keeps_moments():
    cr.manual_seed(3)
    x = cr.randn(400, 500)
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.03


# ---------------------------------------------------------------- stability
@pytest.mark.parametrize("fn", [F.softplus, F.logsigmoid, F.silu, F.gelu, F.elu, F.mish,
                                lambda x: F.log_softmax(x, 0), lambda x: F.softmax(x, 0),
                                F.sigmoid, F.selu, F.celu])
def test_stable_at_extremes(fn):
    x = cr.tensor([-1000.0, -50.0, 0.5, 50.0, 1000.0], requires_grad=True)
    y = fn(x)
    assert np.all(np.isfinite(y.detach().numpy()))
    (g,) = cr.autograd.grad(y.sum(), [x], create_graph=True)
    assert np.all(np.isfinite(g.detach().numpy()))
    (gg,) = cr.autograd.grad(g.sum(), [x])
    assert np.all(np.isfinite(gg.numpy()))


def test_extreme_values():
    x = cr.tensor([-1000.0, 1000.0])
    np.testing.assert_allclose(F.softplus(x).numpy(), [0.0, 1000.0])
    np.testing.assert_allclose(F.logsigmoid(x).numpy(), [-1000.0, 0.0])
    np.testing.assert_allclose(F.log_softmax(x, 0).numpy(), [-2000.0, 0.0])
    np.testing.assert_allclose(F.softmax(x, 0).numpy(), [0.0, 1.0])


def test_softmax_float32_and_dtype_arg():
    x = cr.randn(3, 4, dtype=cr.float32)
    assert F.softmax(x, 1).dtype == cr.float32
    assert F.softmax(x, 1, dtype=cr.float64).dtype == cr.float64
    np.testing.assert_allclose(F.softmax(x, 1).numpy().sum(1), 1, rtol=1e-6)


# ---------------------------------------------------------------- one_hot
def test_one_hot():
    y = F.one_hot(cr.tensor([0, 2, 1]))
    assert y.dtype == cr.int64 and y.shape == (3, 3)
    np.testing.assert_array_equal(y.detach().numpy(), np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert F.one_hot(cr.tensor([[1], [0]]), 4).shape == (2, 1, 4)


def test_one_hot_errors():
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(cr.tensor([0, -1]), 3)
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(cr.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="index tensor"):
        F.one_hot(cr.tensor([0.0, 1.0]), 3)


# ---------------------------------------------------------------- linalg errors
def test_matmul_error_message():
    with pytest.raises(RuntimeError) as e:
        cr.matmul(cr.randn(3, 4), cr.randn(5, 6))
    assert str(e.value) == "matmul: (3, 4) @ (5, 6): inner dimensions 4 and 5 differ"
    with pytest.raises(RuntimeError, match="batch dimensions"):
        cr.matmul(cr.randn(2, 3, 4), cr.randn(5, 4, 6))
    with pytest.raises(RuntimeError, match="at least 1D"):
        cr.matmul(cr.tensor(1.0), cr.randn(3))


def test_matmul_dtype_mismatch():
    with pytest.raises(RuntimeError, match="same dtype.*float32.*float64"):
        cr.matmul(cr.randn(2, 3, dtype=cr.float32), cr.randn(3, 2, dtype=cr.float64))


def test_linear_error_message():
    w = cr.randn(10, 784)
    with pytest.raises(RuntimeError) as e:
        F.linear(cr.randn(128, 28, 28), w)
    assert str(e.value) == "linear: input (..., 784) expected, got (128, 28, 28)"


def test_linear_grads_3d_input():
    x = cr.randn(2, 3, 4, requires_grad=True)
    w = cr.randn(5, 4, requires_grad=True)
    b = cr.randn(5, requires_grad=True)
    y = F.linear(x, w, b)
    y.sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), np.full(5, 6.0))
    np.testing.assert_allclose(w.grad.numpy(), np.tile(x.detach().numpy().sum((0, 1)), (5, 1)),
                               rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(w.detach().numpy().sum(0), (2, 3, 4)),
                               rtol=1e-6)


def test_einsum_trace_grad_not_implemented():
    x = cr.randn(3, 3, requires_grad=True)
    y = cr.einsum("ii->", x)
    np.testing.assert_allclose(y.item(), np.trace(x.detach().numpy()), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="repeated subscripts"):
        y.backward()


# ---------------------------------------------------------------- embedding
def test_embedding_padding_idx_gradient():
    w = cr.randn(5, 3, requires_grad=True)
    idx = cr.tensor([[0, 2, 2], [4, 2, 1]])
    y = F.embedding(idx, w, padding_idx=2)
    np.testing.assert_array_equal(y.detach().numpy(), w.detach().numpy()[idx.numpy()])
    (y * cr.arange(18.0).reshape(2, 3, 3)).sum().backward()
    g = w.grad.numpy()
    assert np.all(g[2] == 0)
    np.testing.assert_allclose(g[0], [0, 1, 2])
    np.testing.assert_allclose(g[4], [9, 10, 11])
    np.testing.assert_allclose(g[1], [15, 16, 17])
    assert np.all(g[3] == 0)
    if torch is not None:
        tw = torch.from_numpy(w.detach().numpy()).requires_grad_()
        ty = torch.nn.functional.embedding(torch.from_numpy(idx.numpy()), tw, padding_idx=2)
        (ty * torch.arange(18.0, dtype=ty.dtype).reshape(2, 3, 3)).sum().backward()
        np.testing.assert_allclose(g, tw.grad.numpy(), rtol=1e-6)


def test_embedding_index_error():
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(cr.tensor([5]), cr.randn(5, 2))


def test_nn_functional_exports():
    for name in ["relu", "sigmoid", "tanh", "linear", "pad", "embedding", "softmax",
                 "log_softmax", "dropout", "gelu", "cosine_similarity", "one_hot"]:
        assert callable(getattr(F, name)), name
    import chainrule
    assert chainrule.nn.functional is F
