"""Engine behaviour: accumulation, graph shapes, retain_graph, modes, hooks,
in-place safety, long chains, custom Functions and higher-order gradients."""
import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr


def leaf(*vals, dtype=cr.float64):
    return cr.tensor(list(vals) if len(vals) > 1 else vals[0], dtype=dtype, requires_grad=True)


def test_accumulates_across_backward_calls():
    x = leaf(1.0, 2.0)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_diamond_and_reuse():
    x = leaf(1.5)
    a = x * 2
    b = x.exp()
    y = a * b + a  # x used through two paths, a used twice
    y.backward()
    expected = 2 * np.exp(1.5) + 2 * 1.5 * np.exp(1.5) + 2
    assert x.grad.item() == pytest.approx(expected)


def test_same_tensor_twice_in_one_op():
    x = leaf(3.0)
    (x * x).backward()
    assert x.grad.item() == 6.0


def test_graph_freed_after_backward_and_retain_graph():
    x = leaf(2.0)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * 3 * np.exp(2.0))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_nonscalar_backward_needs_gradient():
    x = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(cr.tensor([1.0, 10.0], dtype=cr.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2, 20])


def test_backward_on_tensor_without_grad_errors():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(1.0).backward()


def test_no_grad_context_and_decorator():
    x = leaf(1.0)
    with cr.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @cr.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad
    assert cr.is_grad_enabled()
    with cr.no_grad():
        with cr.enable_grad():
            assert (x * 2).requires_grad
    with cr.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert cr.is_grad_enabled()


def test_set_grad_enabled_as_decorator_does_not_leak():
    @cr.set_grad_enabled(False)
    def f(t):
        return t * 2
    assert cr.is_grad_enabled()
    assert not f(leaf(1.0)).requires_grad
    assert cr.is_grad_enabled()


def test_detach_cuts_graph_and_shares_memory():
    x = leaf(1.0, 2.0)
    d = (x * 1).detach()
    assert not d.requires_grad and d.is_leaf
    y = (x * 2).detach()
    z = (y * x).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), y.numpy())
    a = cr.tensor([1.0, 2.0])
    b = a.detach()
    b.add_(1)
    np.testing.assert_allclose(a.numpy(), [2.0, 3.0])


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match="floating point"):
        cr.tensor([1, 2], requires_grad=True)


def test_tensor_hooks_leaf_and_nonleaf():
    x = leaf(1.0, 2.0)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 3
    h = y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [30, 30])
    np.testing.assert_allclose(x.grad.numpy(), [30, 30])
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])


def test_retain_grad_nonleaf():
    x = leaf(1.0, 2.0)
    y = x * x
    y.retain_grad()
    z = y.sum() * 2
    z.backward()
    np.testing.assert_allclose(y.grad.numpy(), [2, 2])
    assert y.retains_grad


def test_leaf_grads_do_not_alias():
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    (a + b).sum().backward()
    a.grad.mul_(5)
    np.testing.assert_allclose(b.grad.numpy(), [1, 1])


def test_inplace_on_leaf_requiring_grad_errors():
    x = leaf(1.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with cr.no_grad():
        x.add_(1)
    assert x.item() == 2.0


def test_inplace_modifying_saved_value_errors_at_backward():
    x = leaf(1.0, 2.0)
    y = x * 1
    z = y.exp()          # Exp saves its output
    w = (y * y).sum()    # Mul saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        w.backward()
    z2 = z * 1
    z.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (z2.sum() + (x.exp().sum())).backward()
        z.sum().backward()


def test_inplace_stays_correct_when_allowed():
    x = leaf(1.0, 2.0)
    y = x * 2
    y.mul_(3)            # y = 6x
    y.add_(x)            # y = 7x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [7, 7])
    a = leaf(0.5, -1.0)
    h = a + 1
    h.mul_(a)            # mul_ needs the old h: it must be saved, not overwritten
    h.sum().backward()   # d/da (a + 1) a = 2a + 1
    np.testing.assert_allclose(a.grad.numpy(), [2.0, -1.0])
    s = a.sigmoid()      # sigmoid saves its output: torch raises here too
    s.mul_(2)
    with pytest.raises(RuntimeError, match="output 0 of Sigmoid"):
        s.sum().backward()


def test_inplace_dtype_error():
    x = cr.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        x.add_(1.5)


def test_long_chain_is_not_recursive():
    x = leaf(1.0)
    y = x
    for _ in range(10000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10000)


def test_unrolled_recurrence_1000_steps():
    w = leaf(0.5)
    h = cr.tensor(0.0, dtype=cr.float64)
    xs = np.sin(np.arange(1000) / 10.0)
    for t in range(1000):
        h = (h * w + xs[t]).tanh()
    h.backward()
    # reference by forward-mode differentiation
    hv, dh = 0.0, 0.0
    for t in range(1000):
        pre = hv * 0.5 + xs[t]
        new = np.tanh(pre)
        dh = (1 - new ** 2) * (dh * 0.5 + hv)
        hv = new
    assert w.grad.item() == pytest.approx(dh, rel=1e-9)


def test_graph_is_collectable():
    x = leaf(1.0)
    y = x.exp() * 2
    ref = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert ref() is None


def test_autograd_grad_and_allow_unused():
    x, z = leaf(2.0), leaf(5.0)
    y = x ** 3
    (g,) = cr.autograd.grad(y, x, create_graph=True)
    assert g.item() == 12.0 and x.grad is None
    (gg,) = cr.autograd.grad(g, x)
    assert gg.item() == 12.0
    with pytest.raises(RuntimeError, match="not have been used"):
        cr.autograd.grad(x * 2, [x, z])
    gx, gz = cr.autograd.grad(x * 2, [x, z], allow_unused=True)
    assert gx.item() == 2.0 and gz is None


def test_grad_of_nonleaf_input():
    x = leaf(1.0, 2.0)
    y = x * 2
    z = (y * y).sum()
    (gy,) = cr.autograd.grad(z, y)
    np.testing.assert_allclose(gy.numpy(), 2 * y.detach().numpy())


def test_hessian_vector_product():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 3))
    A = A + A.T
    x = cr.tensor(rng.standard_normal(3), requires_grad=True)
    v = cr.tensor(rng.standard_normal(3))
    At = cr.tensor(A)
    f = (x * (At * x).sum(1)).sum() * 0.5 + x.sin().sum()   # 0.5 x^T A x + sum sin x
    (g,) = cr.autograd.grad(f, x, create_graph=True)
    (hv,) = cr.autograd.grad((g * v).sum(), x)
    H = A - np.diag(np.sin(x.detach().numpy()))
    np.testing.assert_allclose(hv.numpy(), H @ v.numpy(), rtol=1e-10)


def test_third_derivative():
    x = leaf(0.7)
    y = x.sin()
    g1, = cr.autograd.grad(y, x, create_graph=True)
    g2, = cr.autograd.grad(g1, x, create_graph=True)
    g3, = cr.autograd.grad(g2, x)
    assert g3.item() == pytest.approx(-np.cos(0.7))


def test_custom_function_and_gradcheck():
    class Cube(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x ** 3 * k

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return gy * 3 * x ** 2 * ctx.k, None

    x = cr.randn(4, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: Cube.apply(t, 2.0), (x,))
    assert cr.autograd.gradgradcheck(lambda t: Cube.apply(t, 2.0), (x,))
    assert "CubeBackward" in repr(Cube.apply(x, 1.0).grad_fn)


def test_custom_function_multiple_outputs_and_non_differentiable():
    class SplitMax(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = cr.tensor(np.argmax(x.detach().numpy()))
            ctx.mark_non_differentiable(idx)
            return x * 2, idx

        @staticmethod
        def backward(ctx, g, gidx):
            return g * 2

    x = leaf(1.0, 3.0)
    y, idx = SplitMax.apply(x)
    assert not idx.requires_grad and idx.item() == 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 2])


def test_gradcheck_reports_the_worst_element():
    class Wrong(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, gy):
            return gy  # wrong on purpose

    x = cr.randn(3, dtype=cr.float64, requires_grad=True)
    with pytest.raises(cr.autograd.GradcheckError, match="input 0"):
        cr.autograd.gradcheck(Wrong.apply, (x,))
    assert cr.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False) is False


def test_broadcast_gradients_sum_to_input_shape():
    a = cr.randn(3, 1, dtype=cr.float64, requires_grad=True)
    b = cr.randn(1, 4, dtype=cr.float64, requires_grad=True)
    c = cr.randn(4, dtype=cr.float64, requires_grad=True)
    (a * b + c).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4) and c.grad.shape == (4,)
    np.testing.assert_allclose(c.grad.numpy(), np.full(4, 3.0))
    np.testing.assert_allclose(a.grad.numpy()[:, 0], np.full(3, b.detach().numpy().sum()))


def test_gradient_dtype_follows_input_dtype():
    a = cr.randn(3, requires_grad=True)                       # float32
    s = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)  # 0-d float64
    y = a * s
    assert y.dtype == cr.float32
    y.sum().backward()
    assert a.grad.dtype == cr.float32 and s.grad.dtype == cr.float64


@pytest.mark.parametrize("a,b,expected", [
    (cr.int64, 2.5, cr.float32), (cr.int32, 2, cr.int32), (cr.float32, 2.0, cr.float32),
    (cr.bool, 1, cr.int64), (cr.float16, 1.0, cr.float16),
])
def test_promotion_with_python_scalars(a, b, expected):
    x = cr.ones(3, dtype=a)
    assert (x + b).dtype == expected
    assert (b * x).dtype == expected


def test_promotion_between_tensors():
    f32, f64 = cr.ones(2), cr.ones(2, dtype=cr.float64)
    assert (f32 + f64).dtype == cr.float64
    assert (f32 + cr.tensor(1.0, dtype=cr.float64)).dtype == cr.float32   # 0-d is weaker
    assert (cr.ones(2, dtype=cr.int32) + cr.tensor(1.0, dtype=cr.float64)).dtype == cr.float64
    assert (cr.ones(2, dtype=cr.int32) / 2).dtype == cr.float32
    assert (cr.ones(2, dtype=cr.uint8) + cr.ones(2, dtype=cr.int8)).dtype == cr.int16


def test_error_messages_name_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        cr.ones(2, 3) + cr.ones(4)
    with pytest.raises(RuntimeError, match="reshape: shape"):
        cr.ones(6).reshape(4, 2)


def test_repr_like_torch():
    assert repr(cr.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(cr.tensor([1.5, 2.0])) == "tensor([1.5000, 2.0000])"
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(cr.tensor(3.0, requires_grad=True)) == "tensor(3., requires_grad=True)"
    assert repr(cr.tensor([1.0], dtype=cr.float64)) == "tensor([1.], dtype=chainrule.float64)"
    assert "grad_fn=<MulBackward>" in repr(cr.tensor(3.0, requires_grad=True) * 2)


def test_manual_seed_reproducible():
    cr.manual_seed(123)
    a = cr.randn(5)
    cr.manual_seed(123)
    assert np.array_equal(a.numpy(), cr.randn(5).numpy())


shape_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


@settings(max_examples=40, deadline=None)
@given(shape_pairs)
def test_broadcast_grads_hypothesis(shapes):
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(0)
    an, bn = rng.standard_normal(sa), rng.standard_normal(sb)
    a = cr.tensor(an, requires_grad=True)
    b = cr.tensor(bn, requires_grad=True)
    y = a * b + a
    assert y.shape == shapes.result_shape
    y.sum().backward()
    ones = np.ones(shapes.result_shape)
    ga = (ones * bn + ones)
    gb = ones * an
    np.testing.assert_allclose(a.grad.numpy(), _sum_to(ga, sa))
    np.testing.assert_allclose(b.grad.numpy(), _sum_to(gb, sb))


def _sum_to(g, shape):
    while g.ndim > len(shape):
        g = g.sum(0)
    for i, s in enumerate(shape):
        if s == 1 and g.shape[i] != 1:
            g = g.sum(i, keepdims=True)
    return g
