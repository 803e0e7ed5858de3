"""The Tensor and creation API: names, dtypes, conversions, in-place methods."""
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F


def test_every_tensor_method_resolves():
    missing = []
    for name in dir(cr.Tensor):
        attr = getattr(cr.Tensor, name)
        fwd = getattr(attr, "__doc__", "") or ""
        if callable(attr) and "See :func:`chainrule." in fwd:
            target = fwd.split("chainrule.")[1].split("`")[0]
            if not hasattr(F, target):
                missing.append(target)
    assert not missing, f"Tensor methods forward to missing ops: {sorted(set(missing))}"


@pytest.mark.parametrize("data,dtype", [
    ([1.0, 2.0], cr.float32), ([1, 2], cr.int64), ([True, False], cr.bool),
    (3.5, cr.float32), (np.array([1.0]), cr.float64), (np.array([1], np.int32), cr.int32),
])
def test_tensor_dtype_inference(data, dtype):
    assert cr.tensor(data).dtype == dtype


def test_creation_functions():
    assert cr.zeros(2, 3).shape == (2, 3) and cr.zeros((2, 3)).dtype == cr.float32
    assert cr.ones(2, dtype=cr.int64).dtype == cr.int64
    assert cr.full((2,), 7).dtype == cr.int64 and cr.full((2,), 7.0).dtype == cr.float32
    assert cr.arange(5).dtype == cr.int64 and cr.arange(0, 1, 0.25).shape == (4,)
    assert cr.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert cr.eye(3).numpy().trace() == 3
    assert cr.rand(4).shape == (4,) and cr.randn(2, 2).dtype == cr.float32
    r = cr.randint(0, 10, (100,))
    assert r.dtype == cr.int64 and 0 <= r.numpy().min() and r.numpy().max() < 10
    x = cr.randn(2, 3, dtype=cr.float64)
    for f in (cr.zeros_like, cr.ones_like, cr.randn_like, cr.rand_like, cr.empty_like):
        y = f(x)
        assert y.shape == x.shape and y.dtype == cr.float64
    assert cr.full_like(x, 2.0).numpy().sum() == 12


def test_conversions():
    x = cr.tensor([[1.5, 2.5]])
    assert x.item if x.numel() == 2 else True
    assert cr.tensor([2.5]).item() == 2.5
    assert x.tolist() == [[1.5, 2.5]]
    assert np.asarray(x).shape == (1, 2)
    assert x.to(cr.float64).dtype == cr.float64 and x.double().dtype == cr.float64
    assert x.long().tolist() == [[1, 2]] and x.int().dtype == cr.int32
    assert x.to("cpu") is x and str(x.device) == "cpu"
    assert x.size() == (1, 2) and x.size(1) == 2 and x.size(-1) == 2 and x.dim() == 2
    assert len(cr.ones(4, 2)) == 4
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.ones(2))
    with pytest.raises(RuntimeError, match="requires grad"):
        cr.ones(2, requires_grad=True).numpy()
    with pytest.raises(RuntimeError, match="CuPy|cuda"):
        import chainrule.backend as B
        if not B.cuda_available():
            x.to("cuda")
        else:  # pragma: no cover
            raise RuntimeError("cuda present")


def test_inplace_methods_and_versions():
    x = cr.zeros(3)
    v = x._version[0]
    x.add_(1).mul_(3).sub_(1)
    assert x.tolist() == [2.0, 2.0, 2.0] and x._version[0] == v + 3
    x.zero_()
    assert x.tolist() == [0.0, 0.0, 0.0]
    x.fill_(5)
    x.copy_(cr.tensor([1.0, 2.0, 3.0]))
    assert x.tolist() == [1.0, 2.0, 3.0]
    x += 1
    x *= 2
    assert x.tolist() == [4.0, 6.0, 8.0]
    x.clamp_(5, 7)
    assert x.tolist() == [5.0, 6.0, 7.0]


def test_inplace_through_data_shares_memory():
    p = cr.ones(3, requires_grad=True)
    p.data.mul_(2)
    assert p.tolist() == [2.0, 2.0, 2.0] and p.requires_grad


def test_pickle_roundtrip():
    x = cr.randn(2, 3, requires_grad=True)
    y = pickle.loads(pickle.dumps(x))
    assert np.array_equal(x.detach().numpy(), y.detach().numpy()) and y.requires_grad


def test_comparisons_and_logical():
    a = cr.tensor([1, 2, 3])
    assert (a > 1).tolist() == [False, True, True]
    assert (a == 2).dtype == cr.bool
    assert ((a > 1) & (a < 3)).tolist() == [False, True, False]
    assert (~(a > 1)).tolist() == [True, False, False]
    assert (a // 2).tolist() == [0, 1, 1] and (a % 2).tolist() == [1, 0, 1]
    assert (2 ** cr.tensor([1.0, 2.0])).tolist() == [2.0, 4.0]
    assert (1 - cr.tensor([1.0])).tolist() == [0.0]
    assert (1 / cr.tensor([4.0])).tolist() == [0.25]
