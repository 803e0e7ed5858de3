"""Indexing semantics the op table can't express: views, in-place writes, errors."""
import numpy as np
import pytest

import chainrule as cr

try:
    import torch
except ImportError:  # torch is the oracle, not a dependency
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def _x(*shape, grad=False):
    n = int(np.prod(shape))
    return cr.tensor(np.arange(n, dtype=np.float64).reshape(shape), requires_grad=grad)


# ---------------------------------------------------------------- views
@pytest.mark.parametrize("index", [1, (0, 2), slice(1, 3), (Ellipsis, 1), (None, 0),
                                   (slice(None), slice(None, None, 2))])
def test_basic_indexing_is_a_view(index):
    x = _x(3, 4)
    v = x[index]
    assert v._is_view and v._version is x._version
    v.fill_(-1.0)  # writes through to x
    assert np.all(x.numpy()[index] == -1.0)
    assert x._version[0] == 1


@pytest.mark.parametrize("index", [[0, 2], (slice(None), [1, 1]), cr.tensor([True, False, True]),
                                   cr.tensor(1)])
def test_advanced_indexing_copies(index):
    x = _x(3, 4)
    y = x[index]
    assert not y._is_view and y._version is not x._version
    y.fill_(-1.0)
    assert x.numpy().min() == 0.0


def test_full_integer_index_is_a_0d_view():
    x = _x(2, 3)
    v = x[1, 2]
    assert v.shape == () and v._is_view
    v.add_(100)
    assert x[1, 2].item() == 105.0


def test_setitem_through_a_view_writes_the_base():
    x = _x(3, 4)
    row = x[1]
    row[2:] = 0
    assert x.numpy()[1].tolist() == [4.0, 5.0, 0.0, 0.0]
    assert x._version[0] == 1 and row._version[0] == 1


def test_index_semantics_follow_torch_not_numpy():
    x = _x(2, 3, 4)
    assert x[0, :, [0, 1]].shape == (3, 2)        # numpy: (2, 3)
    assert x[[0, 1], :, [1, 1]].shape == (2, 3)   # separated advanced dims go first
    assert x[True].shape == (1, 2, 3, 4) and x[False].shape == (0, 2, 3, 4)
    assert x[[]].shape == (0, 3, 4)


# ---------------------------------------------------------------- setitem and autograd
def test_setitem_rebinds_grad_fn_and_bumps_version():
    w = cr.randn(3, 4, dtype=cr.float64, requires_grad=True)
    y = w * 2
    v0 = y._version[0]
    y[0] = 5.0
    assert y._version[0] == v0 + 1
    assert y.grad_fn.name() == "CopySlices"
    y.sum().backward()
    expect = np.full((3, 4), 2.0)
    expect[0] = 0
    np.testing.assert_allclose(w.grad.numpy(), expect)


@needs_torch
def test_setitem_chain_matches_torch():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((2, 3))
    mask = rng.random((4, 5)) < 0.5

    def run(lib, A, B, M):
        y = A * 1.5
        y[1:3, [0, 2, 4]] = B * B
        y[M] = 0.25
        y[-1] = y[-1] + A[0]
        return (y * y).sum()

    ca, cb = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    cl, tl = run(cr, ca, cb, cr.tensor(mask)), run(torch, ta, tb, torch.tensor(mask))
    cl.backward()
    tl.backward()
    np.testing.assert_allclose(cl.item(), tl.item())
    np.testing.assert_allclose(ca.grad.numpy(), ta.grad.numpy())
    np.testing.assert_allclose(cb.grad.numpy(), tb.grad.numpy())


def test_setitem_value_requiring_grad_into_plain_tensor():
    w = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    buf = cr.zeros(3, 2, dtype=cr.float64)
    buf[1] = w * 3
    assert buf.requires_grad and not buf.is_leaf
    buf.sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]


def test_setitem_on_leaf_requiring_grad_raises():
    w = cr.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w[0] = 1.0
    with cr.no_grad():
        w[0] = 1.0
    assert w.tolist() == [1.0, 0.0, 0.0] and w.is_leaf and w.requires_grad


def test_mask_assignment_under_no_grad():
    w = cr.tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    with cr.no_grad():
        w[w < 0] = 0
    assert w.tolist() == [[0.0, 2.0], [3.0, 0.0]]
    assert w.grad_fn is None and w._version[0] == 1


def test_inplace_on_view_of_grad_tensor_rebases_the_base():
    x = cr.randn(3, 4, requires_grad=True)
    y = x * 2
    y[0][1] = 5.0      # like torch: the base's history is rebased (copy-slices)
    y[0] += 1.0        # Python runs y[0].__iadd__(1) on the view first
    y.sum().backward()
    expect = np.full((3, 4), 2.0)
    expect[0, 1] = 0.0
    np.testing.assert_allclose(x.grad.numpy(), expect)


def test_writing_grad_value_into_view_reaches_the_value():
    buf = cr.zeros(3, 2)
    w = cr.ones(2, requires_grad=True)
    buf[1][:] = w      # like torch: buf becomes a non-leaf with a copy-slices history
    (buf * 3).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 3.0])


def test_saved_tensor_modified_by_setitem_is_detected():
    a = cr.randn(3, dtype=cr.float64, requires_grad=True)
    y = a * 1
    z = y * y  # saves y
    y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_setitem_casts_to_the_tensor_dtype():
    x = cr.zeros(3, dtype=cr.int64)
    x[0] = 1.7
    x[1:] = cr.tensor([2.9, 3.1])
    assert x.dtype == cr.int64 and x.tolist() == [1, 2, 3]


def test_setitem_errors():
    x = cr.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"setitem: shape mismatch: value tensor of shape "
                                           r"\(3,\) cannot be broadcast to indexing result "
                                           r"of shape \(2, 4\)"):
        x[:2] = cr.ones(3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to"):
        cr.zeros(4).expand(3, 4)[:, 0] = 1.0
    z = cr.zeros(4)
    z.expand(3, 4)[0] = 1.0  # one row of an expanded view: no overlap, torch writes it
    assert z.tolist() == [1.0] * 4


# ---------------------------------------------------------------- in-place methods
def test_inplace_methods_work_and_are_differentiable():
    x = cr.zeros(3)
    x.masked_fill_(cr.tensor([True, False, True]), 2)
    x.index_add_(0, cr.tensor([0, 0]), cr.ones(2))
    x.scatter_(0, cr.tensor([1]), cr.tensor([9.0]))
    x.scatter_add_(0, cr.tensor([2, 2]), cr.ones(2))
    assert x.tolist() == [4.0, 9.0, 4.0] and x._version[0] == 4

    w = cr.randn(3, dtype=cr.float64, requires_grad=True)
    y = w * 1
    y.masked_fill_(cr.tensor([True, False, False]), 0.0)
    y.index_add_(0, cr.tensor([1, 1]), w[:2] * 2)
    y.sum().backward()
    assert w.grad.tolist() == [2.0, 3.0, 1.0]


def test_masked_fill_inplace_shape_must_match():
    with pytest.raises(RuntimeError, match="masked_fill_"):
        cr.zeros(3).masked_fill_(cr.ones(2, 3).bool(), 1.0)


# ---------------------------------------------------------------- error messages
@pytest.mark.parametrize("fn,exc,msg", [
    (lambda x: x[::-1], ValueError, "step must be greater than zero"),
    (lambda x: x[3], IndexError, "getitem: index 3 is out of bounds for dimension 0 with size 3"),
    (lambda x: x[:, -5], IndexError, "index -5 is out of bounds for dimension 1 with size 4"),
    (lambda x: x[[0, 7]], IndexError, "index 7 is out of bounds for dimension 0 with size 3"),
    (lambda x: x[0, 0, 0], IndexError, "too many indices for tensor of dimension 2"),
    (lambda x: x[..., ...], IndexError, "single ellipsis"),
    (lambda x: x[1.0], IndexError, "only integers, slices"),
    (lambda x: x[cr.tensor([1.0])], IndexError, "must be long, int, byte or bool"),
    (lambda x: x[cr.tensor([True, False])], IndexError,
     r"shape of the mask \[2\] at index 0 does not match the shape of the indexed tensor "
     r"\[3, 4\]"),
    (lambda x: cr.gather(x, 0, cr.zeros(3, 5, dtype=cr.int64)), RuntimeError,
     r"gather: index \(3, 5\) has more entries than input \(3, 4\) in dimension 1"),
    (lambda x: cr.gather(x, 0, cr.zeros(3, dtype=cr.int64)), RuntimeError,
     "gather: index .* must have the same number of dimensions as input"),
    (lambda x: cr.gather(x, 1, cr.tensor([[4]])), IndexError,
     "gather: index 4 is out of bounds for dimension 1 with size 4"),
    (lambda x: cr.gather(x, 0, cr.tensor([[-1]])), IndexError, "gather: index -1 is out of"),
    (lambda x: cr.gather(x, 0, cr.tensor([[0]], dtype=cr.int32)), RuntimeError,
     "gather: expected dtype int64 for index"),
    (lambda x: cr.gather(x, 2, cr.tensor([[0]])), IndexError, "gather: Dimension out of range"),
    (lambda x: cr.scatter(x, 0, cr.tensor([[0]]), cr.ones(1, 1)),
     RuntimeError, "scatter: expected input.dtype to be equal to src.dtype"),
    (lambda x: cr.scatter_add(x.float(), 0, cr.tensor([[0, 1]]), cr.ones(1, 1)), RuntimeError,
     r"scatter_add: index \(1, 2\) has more entries than src \(1, 1\)"),
    (lambda x: cr.scatter(x, 0, cr.tensor([[5]]), 1.0), IndexError,
     "scatter: index 5 is out of bounds"),
    (lambda x: cr.index_select(x, 0, cr.tensor([[0]])), IndexError, "supposed to be a vector"),
    (lambda x: cr.index_select(x, 1, cr.tensor([4])), IndexError,
     "index_select: index 4 is out of bounds for dimension 1 with size 4"),
    (lambda x: cr.index_add(x, 0, cr.tensor([0, 1]), cr.ones(2, 3, dtype=x.dtype)),
     RuntimeError, r"index_add: source \(2, 3\) must match input \(3, 4\) except in dim=0"),
    (lambda x: cr.masked_fill(x, cr.tensor([1, 0, 1, 0]), 0.0), RuntimeError,
     "masked_fill: only supports boolean masks"),
    (lambda x: cr.masked_fill(x, cr.tensor([True, False]), 0.0), RuntimeError,
     r"masked_fill: mask \(2,\) is not broadcastable with input \(3, 4\)"),
    (lambda x: cr.masked_fill(x, x > 1, cr.ones(2)), RuntimeError, "0-dimensional value"),
    (lambda x: cr.take(x, cr.tensor([12])), IndexError,
     "take: out of range: tried to access index 12 on a tensor of 12 elements"),
    (lambda x: cr.take_along_dim(x, cr.zeros(2, 4, dtype=cr.int64), 1), RuntimeError,
     "take_along_dim: input .* and indices .* are not broadcastable in dimension 0"),
])
def test_error_messages(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(_x(3, 4))


# ---------------------------------------------------------------- misc
def test_nonzero_and_where_single_argument():
    x = cr.tensor([[0.0, 1.0], [2.0, 0.0]], requires_grad=True)
    nz = cr.nonzero(x)
    assert nz.dtype == cr.int64 and nz.tolist() == [[0, 1], [1, 0]] and not nz.requires_grad
    rows, cols = cr.where(x != 0)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    assert x.nonzero().shape == (2, 2) and cr.argwhere(x).tolist() == nz.tolist()


def test_scatter_multiply_has_no_derivative():
    x = cr.ones(3, dtype=cr.float64, requires_grad=True)
    y = cr.scatter(x, 0, cr.tensor([0, 0]), cr.tensor([2.0, 3.0], dtype=cr.float64),
                   reduce="multiply")
    assert y.tolist() == [6.0, 1.0, 1.0]
    with pytest.raises(RuntimeError, match="reduce='multiply'"):
        y.sum().backward()


def test_gather_scatter_add_third_derivative():
    x = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    idx = cr.tensor([2, 2, 0])
    y = (cr.gather(x, 0, idx) ** 3).sum()
    (g,) = cr.autograd.grad(y, x, create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), x, create_graph=True)
    (ggg,) = cr.autograd.grad(gg.sum(), x)
    assert g.tolist() == [3.0, 0.0, 54.0]      # 3 x^2, counted twice for x[2]
    assert gg.tolist() == [6.0, 0.0, 36.0]
    assert ggg.tolist() == [6.0, 0.0, 12.0]
