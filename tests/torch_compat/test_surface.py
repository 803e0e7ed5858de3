"""The torch names real scripts reach first: keyword aliases, cuda/backends queries,
__format__, lazy modules, DataParallel, assert_close."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.testing import assert_close


def test_numpy_keyword_aliases():
    x = cr.randn(3, 4)
    assert_close(x.sum(axis=1), x.sum(dim=1))
    assert_close(cr.mean(x, axis=0, keepdims=True), x.mean(0, keepdim=True))
    assert_close(x.argmax(axis=1), x.argmax(1))
    assert_close(x.cumsum(axis=1), x.cumsum(1))
    assert cr.amax(x, axis=(0, 1), keepdims=True).shape == (1, 1)
    with pytest.raises(TypeError, match="both dim= and axis="):
        x.sum(dim=0, axis=1)


def test_size_keyword_and_normal():
    assert cr.rand(size=(2, 3)).shape == (2, 3) and cr.randn(size=[4]).shape == (4,)
    assert cr.zeros(size=(2,)).shape == (2,) and cr.ones(size=3).shape == (3,)
    n = cr.normal(0.0, 1.0, size=(3, 2), requires_grad=True)
    assert n.shape == (3, 2) and n.requires_grad and n.dtype == cr.float32
    assert cr.normal(cr.zeros(5), cr.ones(5)).shape == (5,)
    with pytest.raises(TypeError, match="both"):
        cr.rand(2, size=(2,))


def test_cuda_answers_from_the_backend():
    from chainrule.backend import cuda_available, cuda_device_count
    assert cr.cuda.is_available() == cuda_available()
    assert cr.cuda.device_count() == cuda_device_count()
    cr.cuda.manual_seed_all(0)
    if not cr.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            cr.cuda.current_device()


def test_format_of_0d_tensor():
    x = cr.tensor(3.14159)
    assert f"{x:.2f}" == "3.14" and f"{x:f}" == "3.141590"
    assert f"{cr.ones(2)}" == str(cr.ones(2))
    with pytest.raises(TypeError):
        f"{cr.ones(2):f}"


def test_lazy_modules_become_their_layer():
    m = nn.Sequential(nn.LazyConv2d(4, 3, padding=1), nn.LazyBatchNorm2d(), nn.ReLU(),
                      nn.Flatten(), nn.LazyLinear(2))
    m.eval()
    y = m(cr.randn(2, 3, 5, 5))
    assert y.shape == (2, 2)
    assert type(m[0]) is nn.Conv2d and m[0].in_channels == 3 and m[0].padding == (1, 1)
    assert type(m[1]) is nn.BatchNorm2d and m[1].num_features == 4 and not m[1].training
    bn = nn.LazyBatchNorm1d()
    assert bn(cr.randn(8, 6)).shape == (8, 6) and bn.running_mean.shape == (6,)
    assert len(list(nn.LazyConv1d(3, 2).parameters())) == 0  # until the first call


def test_data_parallel_is_a_pass_through():
    inner = nn.Linear(3, 2)
    m = nn.DataParallel(inner)
    x = cr.randn(4, 3)
    assert_close(m(x), inner(x))
    assert list(m.state_dict()) == ["module.weight", "module.bias"]


def test_assert_close():
    assert_close(cr.ones(3), cr.ones(3) + 1e-7)
    assert_close({"a": [cr.zeros(2), 1.0]}, {"a": [cr.zeros(2), 1.0]})
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 2"):
        assert_close(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.1]))
    with pytest.raises(AssertionError, match="dtypes"):
        assert_close(cr.ones(2), cr.ones(2, dtype=cr.float64))
    with pytest.raises(AssertionError, match="custom"):
        assert_close(cr.ones(2), cr.zeros(2), msg="custom")
    assert_close(np.float64(1.0), 1.0 + 1e-9)


def test_inplace_shape_methods_match_torch():
    torch = pytest.importorskip("torch")
    x = cr.ones(3)
    assert x.unsqueeze_(-1) is x and x.shape == (3, 1) and x.squeeze_().shape == (3,)
    w = cr.ones(2, 3, requires_grad=True)
    tw = torch.ones(2, 3, requires_grad=True)
    y, ty = w * 2, tw * 2
    y.t_().unsqueeze_(0)
    ty.t_().unsqueeze_(0)
    (y * cr.arange(6.0).reshape(1, 3, 2)).sum().backward()
    (ty * torch.arange(6.0).reshape(1, 3, 2)).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), tw.grad.numpy())
    with pytest.raises(RuntimeError, match="leaf"):
        cr.ones(2, requires_grad=True).unsqueeze_(0)


def test_legacy_typed_constructors():
    from chainrule.torch_compat.torch_extras import FloatTensor, LongTensor
    a = LongTensor([1, 2])
    assert a.dtype == cr.int64 and isinstance(a, LongTensor) and not isinstance(a, FloatTensor)
    assert FloatTensor(2, 3).shape == (2, 3) and FloatTensor(a).dtype == cr.float32


def test_new_creation_methods_and_deprecated_add_overload():
    w = nn.Parameter(cr.ones(2, 3, dtype=cr.float64))
    assert w.new_zeros(2, 4).dtype == cr.float64 and w.new_zeros((1, 2)).shape == (1, 2)
    assert w.new_ones(3).tolist() == [1.0, 1.0, 1.0] and w.new_empty(2).shape == (2,)
    assert w.new_full((2,), 3.5).tolist() == [3.5, 3.5]
    assert w.new_zeros(2, dtype=cr.int64).dtype == cr.int64
    p = cr.ones(3)
    with pytest.warns(UserWarning, match="deprecated"):
        p.add_(-0.5, cr.tensor([1.0, 2.0, 3.0]))  # torch's add_(Number alpha, Tensor other)
    assert p.tolist() == [0.5, 0.0, -0.5]
