"""Shape ops beyond the op table: view semantics, error messages, Tensor methods."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as CF


def _base():
    return cr.tensor(np.arange(12.0).reshape(3, 4))


# ---------------------------------------------------------------- views share memory
@pytest.mark.parametrize("make", [
    lambda x: x.transpose(0, 1), lambda x: x.permute(1, 0), lambda x: x.t(), lambda x: x.T,
    lambda x: x.unsqueeze(0), lambda x: x.unsqueeze(0).squeeze(0), lambda x: x.view(-1),
    lambda x: x.flatten(), lambda x: x.narrow(1, 1, 2), lambda x: x.diagonal(),
    lambda x: x.diagonal(1), lambda x: x.split(2, dim=1)[1], lambda x: x.chunk(3)[2],
    lambda x: x.unbind(1)[3], lambda x: x.movedim(0, 1), lambda x: x.unflatten(1, (2, 2)),
    lambda x: x.view_as(cr.zeros(2, 6)), lambda x: cr.swapaxes(x, 0, 1),
])
def test_inplace_on_view_updates_base(make):
    x = _base()
    before = x.numpy().copy()
    v = make(x)
    assert v._version is x._version
    v.add_(100.0)
    changed = x.numpy() != before
    assert changed.any() and x._version[0] == 1
    assert int(changed.sum()) == v.numel()


def test_view_values_follow_base():
    x = _base()
    d = x.diagonal()
    x.mul_(2.0)
    np.testing.assert_array_equal(d.numpy(), [0.0, 10.0, 20.0])
    u = x.unbind(0)
    x.zero_()
    assert all(not t.numpy().any() for t in u)


@pytest.mark.parametrize("make", [
    lambda x: x.flip(0), lambda x: x.roll(1, 0), lambda x: x.repeat(1, 1), lambda x: x.tile((1,)),
    lambda x: cr.cat([x]), lambda x: cr.stack([x]), lambda x: x.tril(), lambda x: x.triu(),
    lambda x: x.diag(), lambda x: CF.pad(x, (0, 0)), lambda x: CF.pad(x, (-1, 0), mode="reflect"),
    lambda x: x.t().flatten(),
])
def test_copying_ops_do_not_alias(make):
    x = _base()
    before = x.numpy().copy()
    y = make(x)
    y.add_(1.0)
    np.testing.assert_array_equal(x.numpy(), before)
    assert y._version is not x._version


def test_expanded_view_is_not_writable():
    x = cr.zeros(3, 1)
    e = x.expand(3, 4)
    assert e._version is x._version
    with pytest.raises(RuntimeError, match="expanded"):
        e.add_(1.0)


def test_view_of_grad_tensor_records_and_backprops():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    a, b = x.split([1, 2], dim=1)
    (b * 2).sum().backward()  # a unused: its gradient is materialized as zeros
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 2, 2], [0, 2, 2]])
    x.grad = None
    x.unbind(0)[1].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 0], [1, 1, 1]])


# ---------------------------------------------------------------- Tensor method forms
def test_tensor_method_forms():
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    assert x.permute(1, 0).shape == (3, 2) and x.permute((1, 0)).shape == (3, 2)
    assert x.permute([1, 0]).tolist() == x.numpy().T.tolist()
    assert x.view(-1).shape == (6,) and x.view(3, 2).shape == (3, 2)
    assert x.reshape(-1, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    r = cr.tensor([[1.0, 2.0, 3.0]])
    assert r.expand(2, -1).tolist() == [[1, 2, 3], [1, 2, 3]]
    assert r.expand((4, 2, 3)).shape == (4, 2, 3)
    assert x.repeat(2, 1).shape == (4, 3) and x.repeat(2, 1, 2).shape == (2, 2, 6)
    parts = x.split(2, dim=1)
    assert isinstance(parts, tuple) and [p.shape for p in parts] == [(2, 2), (2, 1)]
    assert [p.shape for p in x.split([1, 2], 1)] == [(2, 1), (2, 2)]
    assert [p.shape for p in x.chunk(2, dim=1)] == [(2, 2), (2, 1)]
    assert [t.tolist() for t in x.unbind()] == [[0, 1, 2], [3, 4, 5]]
    assert [t.tolist() for t in x] == [[0, 1, 2], [3, 4, 5]]
    assert x.T.shape == (3, 2) and x.mT.shape == (3, 2) and x.t().shape == (3, 2)
    assert x.transpose(0, 1).shape == x.swapaxes(0, 1).shape == (3, 2)
    assert x.unsqueeze(-1).shape == (2, 3, 1) and x.unsqueeze(0).squeeze().shape == (2, 3)
    assert x.flatten().shape == (6,) and x.unflatten(1, (3, 1)).shape == (2, 3, 1)
    assert x.movedim(0, -1).shape == (3, 2)
    assert x.flip(1).tolist() == [[2, 1, 0], [5, 4, 3]] and x.flip((0, 1)).shape == (2, 3)
    assert x.roll(1, 1).tolist() == [[2, 0, 1], [5, 3, 4]] and x.roll(1).tolist()[0] == [5, 0, 1]
    assert x.tril().tolist() == [[0, 0, 0], [3, 4, 0]]
    assert x.triu(1).tolist() == [[0, 1, 2], [0, 0, 5]]
    assert x.diagonal().tolist() == [0, 4] and x.diag(1).tolist() == [1, 5]
    assert x.narrow(1, 1, 2).tolist() == [[1, 2], [4, 5]]
    assert x.tile((2,)).shape == (2, 6)
    y = cr.zeros(3, 2)
    assert x.view_as(y).shape == x.reshape_as(y).shape == (3, 2)
    assert cr.zeros(1, 3).expand_as(x).shape == (2, 3)


def test_joins_and_promotion():
    a = cr.ones(2, 3, dtype=cr.float32)
    b = cr.zeros(1, 3, dtype=cr.float64)
    assert cr.cat([a, b]).dtype == cr.float64 and cr.cat((a, b)).shape == (3, 3)
    assert cr.cat([cr.tensor([True]), cr.tensor([2])]).dtype == cr.int64
    assert cr.concat([a, a], dim=1).shape == cr.concatenate([a, a], 1).shape == (2, 6)
    assert cr.stack([a, a], dim=-1).shape == (2, 3, 2)
    assert cr.hstack([a, a]).shape == (2, 6) and cr.vstack([a[0], a]).shape == (3, 3)
    e = cr.zeros(0, requires_grad=True)
    w = cr.ones(2, 3, requires_grad=True)
    cr.cat([e, w], 1).sum().backward()
    assert e.grad.shape == (0,) and w.grad.tolist() == [[1, 1, 1], [1, 1, 1]]


def test_pad_modes():
    x = cr.tensor(np.arange(5.0).reshape(1, 1, 5))
    assert CF.pad(x, (2, 1)).tolist()[0][0] == [0, 0, 0, 1, 2, 3, 4, 0]
    assert CF.pad(x, (1, 1), value=-1.0).tolist()[0][0] == [-1, 0, 1, 2, 3, 4, -1]
    assert CF.pad(x, (2, 2), mode="reflect").tolist()[0][0] == [2, 1, 0, 1, 2, 3, 4, 3, 2]
    assert CF.pad(x, (2, 1), mode="replicate").tolist()[0][0] == [0, 0, 0, 1, 2, 3, 4, 4]
    assert CF.pad(x, (2, 1), mode="circular").tolist()[0][0] == [3, 4, 0, 1, 2, 3, 4, 0]
    assert CF.pad(x, (-1, -2)).tolist()[0][0] == [1, 2]
    assert cr.nn.functional.pad(cr.ones(2, 2, dtype=cr.int64), (1, 0, 0, 1), value=7).tolist() == \
        [[7, 1, 1], [7, 1, 1], [7, 7, 7]]


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("call,exc,msg", [
    (lambda: cr.cat([cr.zeros(2, 3), cr.zeros(2, 4)]), RuntimeError,
     r"cat: expected all tensors to have the same shape except in dim 0, "
     r"got \(2, 3\) and \(2, 4\)"),
    (lambda: cr.cat([cr.zeros(2, 3), cr.zeros(3)]), RuntimeError,
     r"cat: tensors must have the same number of dimensions"),
    (lambda: cr.cat([cr.tensor(1.0)]), RuntimeError, "zero-dimensional tensor"),
    (lambda: cr.cat([]), RuntimeError, "cat: expected a non-empty list"),
    (lambda: cr.cat(cr.zeros(2)), TypeError, "cat: expected a sequence of Tensors"),
    (lambda: cr.cat([cr.zeros(2)], dim=1), IndexError, r"cat: Dimension out of range"),
    (lambda: cr.stack([cr.zeros(2, 3), cr.zeros(3, 2)]), RuntimeError,
     r"stack: expects each tensor to be equal size, but got \(2, 3\) at entry 0 and \(3, 2\)"),
    (lambda: cr.zeros(2, 3).permute(0), RuntimeError, r"permute: .*\(0,\).*\(2, 3\)"),
    (lambda: cr.zeros(2, 3).permute(0, 0), RuntimeError, "permute: dims"),
    (lambda: cr.zeros(2, 3).transpose(0, 2), IndexError, r"transpose: Dimension out of range"),
    (lambda: cr.zeros(2, 3).expand(2, 4), RuntimeError,
     r"expand: the expanded size of the tensor \(4\) must match the existing size \(3\)"),
    (lambda: cr.zeros(2, 3).expand(3), RuntimeError, r"expand: the number of sizes provided"),
    (lambda: cr.zeros(2, 3).repeat(2), RuntimeError, "repeat: number of dimensions"),
    (lambda: cr.zeros(5).narrow(0, 3, 3), RuntimeError,
     r"narrow: start \(3\) \+ length \(3\) exceeds dimension size \(5\)"),
    (lambda: cr.zeros(5).split([2, 2]), RuntimeError, r"split: split sizes \[2, 2\]"),
    (lambda: cr.zeros(5).split(0), RuntimeError, "split: split_size must be positive"),
    (lambda: cr.zeros(5).chunk(0), RuntimeError, "chunk: expects `chunks`"),
    (lambda: cr.zeros(2, 3, 4).t(), RuntimeError, r"t: expects a tensor with <= 2 dimensions"),
    (lambda: cr.zeros(3).tril(), RuntimeError, r"tril: .*at least 2 dimensions.*\(3,\)"),
    (lambda: cr.zeros(2, 2, 2).diag(), RuntimeError, r"diag: expected a 1-D or 2-D tensor"),
    (lambda: cr.zeros(2, 2).diagonal(0, 1, 1), RuntimeError, "diagonal: dim1 and dim2"),
    (lambda: cr.zeros(6).view(4, -1), RuntimeError, r"view: shape \[4, -1\] is invalid"),
    (lambda: cr.zeros(2, 3).flatten(1, 0), RuntimeError, "flatten: start_dim"),
    (lambda: cr.zeros(2, 3).roll((1, 2), 0), RuntimeError, "roll: shifts and dimensions"),
    (lambda: cr.zeros(3).unbind(1), IndexError, "unbind: Dimension out of range"),
    (lambda: CF.pad(cr.zeros(2, 3), (1,)), RuntimeError, "pad: padding length must be divisible"),
    (lambda: CF.pad(cr.zeros(3), (1, 1, 1, 1)), RuntimeError,
     r"pad: padding length \(4\) too large"),
    (lambda: CF.pad(cr.zeros(1, 3), (3, 0), mode="reflect"), RuntimeError,
     r"pad: padding size should be less than .*\(1, 3\)"),
    (lambda: CF.pad(cr.zeros(1, 3), (4, 0), mode="circular"), RuntimeError, "wrap around"),
    (lambda: CF.pad(cr.zeros(1, 3), (1, 0), mode="wrap"), ValueError, "unsupported padding mode"),
    (lambda: CF.pad(cr.zeros(1, 3), (-4, 0)), RuntimeError, "negative size"),
])
def test_error_messages(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_empty_and_edge_cases():
    assert cr.zeros(0, 3).unbind(0) == ()
    assert len(cr.zeros(0, 3).chunk(3)) == 3 and len(cr.zeros(0, 3).split(2)) == 1
    assert cr.tensor(3.0).flatten().shape == (1,) and cr.tensor(3.0).t().shape == ()
    assert cr.tensor(3.0).squeeze(0).shape == () and cr.zeros(3).unbind()[0].shape == ()
    assert cr.zeros(2, 1, 3, 1).squeeze((1, 3)).shape == (2, 3)
