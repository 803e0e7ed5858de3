"""Reproductions the differential fuzzer found (issue #18), each against torch."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as CF

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _both(src, **inputs):
    """Run ``src`` (defining ``out`` and maybe ``g``) in chainrule and in torch."""
    res = []
    for lib, F in ((cr, CF), (torch, TF)):
        env = {"torch": lib, "F": F, "np": np}
        exec(src, env)
        res.append(env)
    return res


def _close(a, b):
    if a is None or b is None:
        assert a is None and b is None
        return
    assert tuple(a.shape) == tuple(b.shape)
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    np.testing.assert_allclose(a.detach().numpy(force=True), b.detach().numpy(force=True),
                               rtol=1e-6, atol=1e-9, equal_nan=True)


CASES = {
    "cast_to_int_detaches": """
x = torch.tensor([3., 1.], requires_grad=True)
out = torch.where(x.long() > 2, x.long(), x)
assert not x.long().requires_grad and not x.bool().requires_grad
g, = torch.autograd.grad(out.sum(), x)""",
    "floor_divide_requires_grad": """
x = torch.tensor([3., 1.5], requires_grad=True)
out = x // 2
assert out.requires_grad""",
    "std_zero_variance": """
x = torch.tensor([[1., 1., 1.]], dtype=torch.float64, requires_grad=True)
out = x.std(dim=1, unbiased=False) + x.var(dim=1, unbiased=False) + x.var() + x.std()
g, = torch.autograd.grad(out.sum(), x)""",
    "pow_zero_at_zero": """
x = torch.tensor([0., 2.], dtype=torch.float64, requires_grad=True)
out = x.pow(0)
g, = torch.autograd.grad(out.sum(), x)""",
    "pow_second_derivative_exponent": """
b = torch.tensor([1.5, 2.0], dtype=torch.float64, requires_grad=True)
e = torch.tensor([0.7, -1.2], dtype=torch.float64, requires_grad=True)
out = b ** e
gb, ge = torch.autograd.grad(out.sum(), (b, e), create_graph=True)
g = torch.autograd.grad((gb * gb).sum() + (ge * ge).sum(), (b, e))[1]""",
    "int_pow_negative": """
out = 2 ** torch.tensor([-2, 0, 3])
out2 = torch.tensor([2, 1, -1]) ** torch.tensor([-1, -2, -3])
assert out2.tolist() == [0, 1, -1], out2""",
    "zero_dim_promotion_with_alpha": """
out = torch.add(torch.tensor(1.5, dtype=torch.float64), torch.tensor([1, 2]), alpha=0.5)""",
    "hardtanh_keeps_int": """
out = F.hardtanh(torch.tensor([-3, 0, 2]))""",
    "addcmul_int": """
i = torch.tensor([1, 2])
out = torch.addcmul(i, i, i, value=2)""",
    "bce_logits_promotes": """
out = F.binary_cross_entropy_with_logits(torch.ones(2), torch.ones(2, dtype=torch.float64))""",
    "sign_nan": """
out = torch.tensor([float('nan'), -2., 0.]).sign()""",
    "linear_in_features_0": """
x = torch.ones(3, 0, requires_grad=True)
w = torch.ones(2, 0, requires_grad=True)
out = F.linear(x, w)
g, = torch.autograd.grad(out.sum(), w)""",
    "layer_norm_size_0": """
x = torch.ones(2, 0, requires_grad=True)
out = F.layer_norm(x, (0,))
g = torch.autograd.grad(out.sum(), x, allow_unused=True)[0]""",
    "embedding_width_0": """
w = torch.ones(2, 0, requires_grad=True)
out = F.embedding(torch.tensor([1, 0, 1]), w)
g, = torch.autograd.grad(out.sum(), w)""",
    "nll_loss_unbatched": """
x = torch.tensor([0.2, 0.5, -1.], requires_grad=True)
out = F.nll_loss(x.log_softmax(-1), torch.tensor(1))
g, = torch.autograd.grad(out, x)""",
    "contiguous_returns_self": """
x = torch.ones(2, 3)
out = x.contiguous()
assert out is x""",
    "flip_varargs_and_select": """
x = torch.arange(24.).reshape(2, 3, 4)
out = x.flip(2, 0, 1).select(1, -1) + torch.select(x, 1, 0)""",
    "relu_inplace": """
x = torch.tensor([-1., 2.], requires_grad=True)
y = x * 1
out = F.relu(y, inplace=True)
assert out is y
g, = torch.autograd.grad(out.sum(), x)""",
    "mT_of_0d_is_identity": """
x = torch.tensor(2., requires_grad=True)
h = x * 1
h.mT.mul_(3)
out = h + x.mT
g, = torch.autograd.grad(out, x)""",
    "write_into_expanded_view": """
a = torch.tensor([[1., 2.]])
e = a.expand(3, 2)
e[0] += 1                     # one row: no two written elements share memory
e[:, 1:].zero_()              # fill_ writes even where elements overlap
z = torch.zeros(1, 0).expand(4, 0)
z += 1                        # nothing written
out = a * 1
try:
    e.mul_(2)                 # overlapping elements: refused
    raise AssertionError("mul_ on an expanded view should raise")
except RuntimeError as err:
    assert "more than one element" in str(err)""",
    "int_copy_from_grad_tensor_detaches": """
x = torch.tensor([1.7, -2.2], requires_grad=True)
i = torch.tensor([3, 4])
out = i.copy_(x)
v = torch.zeros(2, 2, dtype=torch.int64)
v[0].copy_(x)
assert not out.requires_grad and not v.requires_grad and out.grad_fn is None""",
    "loss_result_dtypes": """
x = torch.tensor([[0.2, -1.], [0.7, 0.1]], requires_grad=True)
y = torch.tensor([[0.3, 0.6], [0.5, 0.2]], dtype=torch.float64, requires_grad=True)
e = torch.zeros(0, 2, requires_grad=True)
p = torch.zeros(0, 2, dtype=torch.float64)
out = torch.stack([F.huber_loss(x, y).double(), F.soft_margin_loss(x, y.detach()).double(),
                   F.binary_cross_entropy_with_logits(y, x).double(), F.cross_entropy(x, y)])
assert F.huber_loss(x, y).dtype == torch.float32            # the input's dtype
assert F.binary_cross_entropy_with_logits(y, x).dtype == torch.float32   # the target's
assert F.cross_entropy(e, p).dtype == torch.float64          # promoted, also size 0
g, = torch.autograd.grad(F.cross_entropy(x, y), x)  # torch refuses the others' mixed backward""",
    "fill_and_copy_backward_zeros": """
a = torch.tensor([1., 2.], requires_grad=True)
h = a * 1
h.zero_()
h2 = a * 1
h2.copy_(torch.zeros(2))
out = h ** 0.5 + h2 ** 0.5       # infinite gradient into the overwritten values
g, = torch.autograd.grad(out.sum(), a)""",
    "pow_exponent_gradient_at_zero_base": """
b = torch.tensor([0., 0., 0., 2.], dtype=torch.float64, requires_grad=True)
e = torch.tensor([-1., 0., 2., 0.5], dtype=torch.float64, requires_grad=True)
out = b ** e
g, = torch.autograd.grad(out.sum(), e)""",
    "hardtanh_gradient_at_bounds": """
x = torch.tensor([-1., 1., 0., 6., 0.5, -2.], dtype=torch.float64, requires_grad=True)
out = F.hardtanh(x) + F.relu6(x)
g, = torch.autograd.grad(out.sum(), x)""",
    "softmax_0d_nonfinite": """
x = torch.tensor([float('nan'), float('inf'), -float('inf'), 1.5], dtype=torch.float64)
out = torch.stack([v.softmax(0) for v in x] + [v.log_softmax(0) for v in x])
xs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in x.tolist()]
g = torch.stack([torch.autograd.grad(f(v, 0) * w, v)[0] for v in xs for w in (1.5, float('inf'))
                 for f in (torch.softmax, torch.log_softmax)])""",
    "masked_backward_is_zero_not_nan": """
x = torch.tensor([0., -1., 2., 4.], dtype=torch.float64, requires_grad=True)
h = x * 1
h.masked_fill_(h > 3, 0.0)
out = (torch.where(x > 0, x, x * 0).rsqrt() + x.clamp(max=0).rsqrt() + x.relu().rsqrt()
       + h.rsqrt() + F.huber_loss(x.clamp(min=1).rsqrt(), x, reduction='none'))
g, = torch.autograd.grad(out.sum(), x, create_graph=True)
g = torch.autograd.grad(g[2:].sum(), x)[0]    # second derivative through the masks""",
    "maximum_minimum_nan_and_ties": """
a = torch.tensor([float('nan'), 1., 2., 3.], requires_grad=True)
b = torch.tensor([0., 1., 3., float('nan')], requires_grad=True)
w = torch.tensor([1., 2., 3., 4.])
out = torch.maximum(a, b) * w + torch.minimum(a, b) * w * w
g = torch.cat(torch.autograd.grad(out.sum(), [a, b]))""",
    "nll_loss_unbatched_target_of_size_1": """
x = torch.tensor([0.2, 0.5, -1.])
out = F.nll_loss(x.log_softmax(-1), torch.tensor([1])) + F.cross_entropy(x, torch.tensor([2]))
# (torch's backward refuses this target shape, so no gradient here)""",
    "atan2_gradient_at_origin": """
a = torch.tensor([0., 0., 1.], dtype=torch.float64, requires_grad=True)
b = torch.tensor([0., 1., 0.], dtype=torch.float64, requires_grad=True)
out = torch.atan2(a, b)
g = torch.cat(torch.autograd.grad(out.sum(), [a, b]))""",
    "bce_target_gradient_is_minus_logit": """
x = torch.tensor([0., 0.25, 1.], dtype=torch.float64)
y = torch.tensor([0.5, 0.5, 0.5], dtype=torch.float64, requires_grad=True)
out = F.binary_cross_entropy(x, y, reduction='none')
g, = torch.autograd.grad(out.sum(), y)""",
    "hardtanh_relu6_gradient_at_nan": """
x = torch.tensor([float('nan'), 0.5, 7., -2.], dtype=torch.float64, requires_grad=True)
out = F.hardtanh(x) + F.relu6(x)
g, = torch.autograd.grad(out.sum(), x)""",
    "amax_nan_slice_vs_max_of_all": """
x = torch.tensor([[1., float('nan')], [2., 2.]], dtype=torch.float64, requires_grad=True)
out = x.amax(1)
g = torch.cat([torch.autograd.grad(out.sum(), x)[0], torch.autograd.grad(x.max(), x)[0],
               torch.autograd.grad(x.amin(0).sum(), x)[0]])""",
    "pow_0_second_derivative": """
x = torch.tensor([0., 2.], dtype=torch.float64, requires_grad=True)
out = x.pow(0)
g, = torch.autograd.grad((out * torch.tensor([1., 2.], dtype=torch.float64)).sum(), x,
                         create_graph=True)
assert not g.requires_grad     # a constant: no NaN second derivative through 0 * 0^-1""",
    "cumprod_zeros_and_inf": """
x = torch.tensor([[2., 0., 3., float('inf')], [1., 2., 0., 0.]], dtype=torch.float64,
                 requires_grad=True)
w = torch.tensor([1., 2., 3., 4.], dtype=torch.float64)
out = x.cumprod(1)
g, = torch.autograd.grad((out * w).sum(), x, retain_graph=True)   # first-zero formula
g1, = torch.autograd.grad((out * w).sum(), x, create_graph=True)    # torch's O(n^2) one
g = torch.cat([g, g1, torch.autograd.grad(g1[1].sum(), x)[0][1:]])   # row 0: NaN, placed differently""",
    "norms_of_empty_inputs": """
x = torch.zeros(0, 4, requires_grad=True)
out = torch.cat([F.batch_norm(x, None, None, training=True).flatten(),
                 F.batch_norm(torch.zeros(0), None, None, training=True),
                 F.group_norm(torch.zeros(3, 0), 1).flatten(),
                 F.group_norm(x, 2).flatten(),
                 F.instance_norm(torch.zeros(2, 3, 0, 3)).flatten()])""",
    "masked_fill_into_expanded_view": """
a = torch.tensor([[1., -1.]])
x = a.expand(3, 2)
x.masked_fill_(x > 0, 0.0)
out = a * 1""",
    "sign_square_of_bool": """
b = torch.tensor([True, False])
out = torch.stack([b.sign().long(), b.square()])
assert b.sign().dtype == torch.bool""",
    "piecewise_constant_backward_is_zeros": """
x = torch.tensor([-1., 0., 2.], dtype=torch.float64, requires_grad=True)
inf = torch.tensor([float('nan'), float('inf'), -float('inf')], dtype=torch.float64)
out = (x.sign() * inf).nansum() + (x.floor() * inf).nansum() + (x.round() * inf).nansum()
g, = torch.autograd.grad(out, x)""",
    "huber_smooth_l1_nonfinite_differences": """
x = torch.tensor([1., 0.5, float('inf'), float('nan'), 3.], dtype=torch.float64, requires_grad=True)
y = torch.tensor([float('inf'), float('inf'), float('inf'), 0., 0.], dtype=torch.float64, requires_grad=True)
out = F.huber_loss(x, y, reduction='none') + F.smooth_l1_loss(x, y, reduction='none', beta=0.5)
g = torch.cat(torch.autograd.grad(out.sum(), [x, y]))""",
    "var_of_one_element": """
x = torch.tensor([[0.17]], requires_grad=True)
out = x.var()
g, = torch.autograd.grad(out * 2, x, create_graph=True)
assert not g.requires_grad      # torch: grad * (nan where x == mean else inf), a constant""",
    "elu_family_second_derivative_at_0": """
x = torch.tensor([0., -1., 1., -2.], dtype=torch.float64, requires_grad=True)
out = F.selu(x) + F.celu(x, 0.5) + F.elu(x)
g1, = torch.autograd.grad(out.sum(), x, create_graph=True)
g, = torch.autograd.grad(g1.sum(), x)""",
    "median_of_empty_is_attached": """
x = torch.zeros(0, 3, requires_grad=True)
out = x.median()
assert out.requires_grad
g, = torch.autograd.grad(out, x)""",
    "pow_second_derivatives_at_special_values": """
v = [-1., 0., 0.5, 1., 2., float('inf'), -float('inf'), float('nan')]
a = torch.tensor([p for p in v for q in v], dtype=torch.float64, requires_grad=True)
b = torch.tensor([q for p in v for q in v], dtype=torch.float64, requires_grad=True)
ga, gb = torch.autograd.grad((a ** b).sum(), [a, b], create_graph=True)
out = torch.cat([ga, gb])
g = torch.cat(torch.autograd.grad((ga * ga).sum() + (gb * gb).sum(), [a, b]))""",
    "empty_classes_and_windows": """
x = torch.zeros(2, 0, requires_grad=True)
out = torch.stack([F.cross_entropy(x, torch.zeros(2, 0)),
                   F.adaptive_avg_pool1d(torch.zeros(2, 1, 0), 1).sum()])
g, = torch.autograd.grad(F.cross_entropy(x, torch.zeros(2, 0)), x)
assert F.adaptive_avg_pool1d(torch.zeros(2, 0, 0), 1).shape == (2, 0, 1)""",
    "empty_integer_median_and_softmax": """
e = torch.zeros(0, 3, dtype=torch.int64)
out = torch.stack([e.median(), torch.zeros(0, dtype=torch.int32).median().long(),
                   torch.zeros(0, dtype=torch.bool).median().long()])
assert e.softmax(1).dtype == torch.int64 and e.log_softmax(0).shape == (0, 3)
assert torch.zeros(0, dtype=torch.bool).softmax(0).dtype == torch.bool""",
    "var_std_with_inf_and_0d": """
x = torch.tensor([[0.5, float('inf'), float('inf')], [0., 0., 0.], [-1., 2., 0.]],
                 requires_grad=True)
w = torch.tensor([1., 2., 3.])
out = torch.cat([x.var(-1, unbiased=False) * w, x.std(0) * w, x.max().var(0).reshape(1)])
g1, = torch.autograd.grad((x.var(-1, unbiased=False) * w).sum(), x)
g2, = torch.autograd.grad(x.max().var(0), x)          # 0-d: torch's constant nan/inf factor
g = torch.cat([g1, g2])""",
    "var_second_derivative": """
x = torch.tensor([[0.5, 1.5, -2.], [0.3, 0.1, 4.]], dtype=torch.float64, requires_grad=True)
g1, = torch.autograd.grad((x.var(1) * torch.tensor([1., 3.], dtype=torch.float64)).sum()
                          + x.std(), x, create_graph=True)
out = g1
g, = torch.autograd.grad((g1 * g1).sum(), x)""",
    "prod_of_0d_and_of_two_zeros": """
x = torch.tensor(-float('inf'), requires_grad=True)
y = torch.tensor([[0., float('inf')], [0., 2.]], requires_grad=True)
out = torch.stack([x.prod(), y.prod()])
g = torch.cat([torch.autograd.grad(x.prod(), x)[0].reshape(1),
               torch.autograd.grad(y.prod(), y)[0].flatten()])""",
    "unary_derivatives_at_special_values": """
v = [-4., -3., -1., 0., 0.5, 3., 6., float('inf'), -float('inf'), float('nan')]
x = torch.tensor(v, dtype=torch.float64, requires_grad=True)
w = torch.arange(len(v), dtype=torch.float64).cos()
out = torch.stack([x.relu(), F.selu(x), F.elu(x), F.hardswish(x), 2 / x, 1.5 / x])
g = [torch.autograd.grad((x.relu() * w).sum(), x)[0]]
for f in (F.selu, F.elu, F.hardswish, lambda t: 2 / t):    # each on its own
    g1, = torch.autograd.grad((f(x) * w).sum(), x, create_graph=True)
    g += [g1, torch.autograd.grad((g1 * g1).sum(), x)[0]]
g = torch.cat(g)""",
    "div_second_derivative": """
v = [-1., 0., 0.5, 2., float('inf'), float('nan')]
a = torch.tensor([p for p in v for q in v], dtype=torch.float64, requires_grad=True)
b = torch.tensor([q for p in v for q in v], dtype=torch.float64, requires_grad=True)
ga, gb = torch.autograd.grad((a / b).sum(), [a, b], create_graph=True)
out = torch.cat([ga, gb])
g = torch.cat(torch.autograd.grad((ga * ga).sum() + (gb * gb).sum(), [a, b]))""",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_agrees_with_torch(name):
    c, t = _both(CASES[name])
    _close(c["out"], t["out"])
    _close(c.get("g"), t.get("g"))


VIEW_CASES = {
    "slice_iadd": "h = x * 1\nh[:, 0] += y\nout = h",
    "mT_mul_": "h = x * 1\nh.mT.mul_(2)\nout = h",
    "narrow_mul_": "h = x * 1\nh.narrow(0, 1, 1).mul_(x[0])\nout = h",
    "view_squeeze_unsqueeze": "h = x * 1\nh.view(-1).add_(1)\nh.unsqueeze(0).squeeze().mul_(y)\nout = h",
    "leaf_without_grad": "h = torch.zeros(2, 2)\nh[0] += y\nh[:, 1].mul_(y)\nout = h",
    "stale_view_regenerated": "h = x * 1\nv = h[1]\nh.mul_(3)\nout = v * 1 + h.sum()",
    "view_of_view": "h = x * 1\nh.t()[0].sub_(y)\nout = h.exp()",
}


@pytest.mark.parametrize("name", sorted(VIEW_CASES))
def test_inplace_on_views_agrees_with_torch(name):
    head = ("x = torch.tensor([[1., 2.], [3., 4.]], dtype=torch.float64, requires_grad=True)\n"
            "y = torch.tensor([0.5, -1.5], dtype=torch.float64, requires_grad=True)\n")
    tail = ("\ngx, gy = torch.autograd.grad((out * out).sum(), (x, y), create_graph=True, "
            "allow_unused=True)\ng = torch.autograd.grad(gx.sum(), x, allow_unused=True)[0] "
            "if gx is not None and gx.requires_grad else None")
    c, t = _both(head + VIEW_CASES[name] + tail)
    for k in ("out", "gx", "gy", "g"):
        _close(c[k], t[k])


def test_inplace_on_view_of_saved_tensor_raises_at_backward():
    x = cr.tensor([1., 2.], requires_grad=True)
    y = x.exp()
    y[0] *= 2          # ExpBackward saved y
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_view_of_leaf_raises():
    x = cr.tensor([1., 2.], requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf"):
        x[0].mul_(2)
