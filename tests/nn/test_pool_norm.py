"""Pooling, normalization, channel dropout and upsampling layers vs torch:
running statistics, state_dict keys, reprs, indices, interpolation, errors."""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.functional.normalization import normalize_composed


def _copy(m, t):
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})


def _close(a, b, atol=1e-5, rtol=1e-5, msg=""):
    a = a.detach().numpy() if isinstance(a, cr.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, err_msg=msg)


def _train_steps(m, t, shape, steps=4, lr=0.1):
    """A few forward/backward/SGD steps on the same batches in both frameworks."""
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
        xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, yt = m(xc), t(xt)
        _close(y, yt, atol=1e-4)
        w = rng.standard_normal(y.shape).astype(np.float32)
        (y * cr.tensor(w)).sum().backward()
        (yt * torch.tensor(w)).sum().backward()
        _close(xc.grad, xt.grad, atol=1e-4, msg="input grad")
        with cr.no_grad(), torch.no_grad():
            for (n, p), (_, q) in zip(m.named_parameters(), t.named_parameters()):
                _close(p.grad, q.grad, atol=1e-4, msg=n)
                p -= lr * p.grad
                q -= lr * q.grad
                p.grad = None
                q.grad = None


# ---------------------------------------------------------------- batch norm
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 5, 5))])
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batchnorm_running_stats_match_torch(cls, shape, momentum):
    t = getattr(torch.nn, cls)(3, momentum=momentum)
    m = getattr(nn, cls)(3, momentum=momentum)
    _train_steps(m, t, shape)
    for k in ("running_mean", "running_var", "weight", "bias"):
        _close(getattr(m, k), getattr(t, k), atol=1e-5, msg=k)
    assert int(m.num_batches_tracked) == int(t.num_batches_tracked) == 4
    assert m.num_batches_tracked.dtype == cr.int64
    m.eval(), t.eval()
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = m(xc), t(xt)
    _close(y, yt, atol=1e-5)
    y.sum().backward(), yt.sum().backward()
    _close(xc.grad, xt.grad, atol=1e-5)
    assert int(m.num_batches_tracked) == 4  # eval does not count


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval():
    t = torch.nn.BatchNorm2d(2, track_running_stats=False).eval()
    m = nn.BatchNorm2d(2, track_running_stats=False).eval()
    assert m.running_mean is None and m.num_batches_tracked is None
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4)).astype(np.float32)
    _close(m(cr.tensor(x)), t(torch.tensor(x)))
    assert list(m.state_dict()) == list(t.state_dict()) == ["weight", "bias"]


def test_functional_batch_norm_updates_buffers_in_place():
    rm, rv = cr.zeros(3), cr.ones(3)
    trm, trv = torch.zeros(3), torch.ones(3)
    x = np.random.default_rng(0).standard_normal((6, 3, 2)).astype(np.float32)
    for _ in range(3):
        F.batch_norm(cr.tensor(x), rm, rv, training=True, momentum=0.2)
        torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=0.2)
    _close(rm, trm), _close(rv, trv)


@pytest.mark.parametrize("axes,pshape,bias", [((0, 2, 3), (3, 1, 1), True),
                                             ((2, 3), (3, 1, 1), True), ((3,), (2,), False),
                                             ((2, 3), (5, 2), True)])
def test_fused_normalization_matches_composed_oracle(axes, pshape, bias):
    from chainrule.functional.normalization import _normalize
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((4, 3, 5, 2)), rng.uniform(0.5, 1.5, pshape)]
    if bias:
        arrays.append(rng.standard_normal(pshape))
    args = [cr.tensor(a, requires_grad=True) for a in arrays]
    b = args[2] if bias else None
    y, _ = _normalize(args[0], axes, 1e-5, args[1], b)
    yc = normalize_composed(args[0], axes, 1e-5, args[1], b)
    _close(y, yc, atol=1e-12)
    g = cr.tensor(rng.standard_normal(y.shape))
    for u, v in zip(cr.autograd.grad(y, args, g), cr.autograd.grad(yc, args, g)):
        _close(u, v, atol=1e-10)


def test_batchnorm_float32_stays_float32():
    m = nn.BatchNorm2d(3)
    y = m(cr.randn(2, 3, 4, 4))
    assert y.dtype == cr.float32 and m.running_mean.dtype == cr.float32


# ---------------------------------------------------------------- other norms
def test_instance_norm_running_stats_match_torch():
    t = torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    m = nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    _train_steps(m, t, (2, 3, 4, 4), steps=3)
    _close(m.running_mean, t.running_mean), _close(m.running_var, t.running_var)
    m.eval(), t.eval()
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 4)).astype(np.float32)
    _close(m(cr.tensor(x)), t(torch.tensor(x)), atol=1e-5)
    _close(m(cr.tensor(x[0])), t(torch.tensor(x[0])), atol=1e-5)  # unbatched


@pytest.mark.parametrize("make", [
    lambda M: M.LayerNorm(5), lambda M: M.LayerNorm([4, 5], bias=False),
    lambda M: M.GroupNorm(2, 4), lambda M: M.InstanceNorm1d(4),
    lambda M: M.LocalResponseNorm(3, alpha=0.01), lambda M: M.RMSNorm(5)])
def test_norm_layers_match_torch(make):
    t, m = make(torch.nn), make(nn)
    with torch.no_grad():
        for p in t.parameters():
            p.uniform_(0.5, 1.5)
    _copy(m, t)
    _train_steps(m, t, (3, 4, 4, 5) if not isinstance(m, nn.InstanceNorm1d) else (3, 4, 5),
                 steps=2)


# ---------------------------------------------------------------- state dicts and reprs
_LAYERS = [
    "BatchNorm1d(3)", "BatchNorm2d(4, momentum=None, affine=False)",
    "BatchNorm2d(4, eps=1e-3, track_running_stats=False)", "BatchNorm2d(4, bias=False)",
    "InstanceNorm1d(3)", "InstanceNorm2d(3, affine=True, track_running_stats=True)",
    "LayerNorm(4)", "LayerNorm([3, 4], elementwise_affine=False)", "LayerNorm(4, bias=False)",
    "GroupNorm(2, 4)", "GroupNorm(3, 6, affine=False)", "LocalResponseNorm(2)",
    "MaxPool1d(3)", "MaxPool2d(2)", "MaxPool2d((2, 3), stride=1, padding=1, dilation=2, "
    "ceil_mode=True, return_indices=True)", "AvgPool1d(3)", "AvgPool1d(3, 2, 1)",
    "AvgPool2d(2)", "AvgPool2d(3, 2, 1, True, False, 2)", "AdaptiveAvgPool1d(4)",
    "AdaptiveAvgPool2d((None, 3))", "AdaptiveMaxPool1d(3)", "AdaptiveMaxPool2d(3, True)",
    "MaxUnpool2d(2)", "LPPool2d(2, 3)", "Upsample(scale_factor=2)",
    "Upsample(size=(3, 4), mode='bilinear', align_corners=True)",
    "Upsample(scale_factor=(2, 3))", "UpsamplingNearest2d(scale_factor=2)",
    "UpsamplingBilinear2d(size=4)", "Dropout2d(0.2)", "Dropout1d()",
]


@pytest.mark.parametrize("spec", _LAYERS)
def test_repr_and_state_dict_match_torch(spec):
    m, t = eval("nn." + spec), eval("torch.nn." + spec)
    assert repr(m) == repr(t)
    sd, tsd = m.state_dict(), t.state_dict()
    assert list(sd) == list(tsd)
    for k in sd:
        assert tuple(sd[k].shape) == tuple(tsd[k].shape), k
        _close(sd[k], tsd[k].numpy(), msg=k)   # default initialisation
    _copy(m, t)  # torch's state dict loads


# ---------------------------------------------------------------- pooling indices
def test_maxpool_return_indices_and_unpool_match_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 7)).astype(np.float32)
    m = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True, return_indices=True)
    t = torch.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True, return_indices=True)
    (y, i), (yt, it) = m(cr.tensor(x)), t(torch.tensor(x))
    _close(y, yt)
    assert i.dtype == cr.int64 and np.array_equal(i.numpy(), it.numpy())
    u = nn.MaxUnpool2d(3, stride=2, padding=1)(y, i, output_size=(9, 7))
    ut = torch.nn.MaxUnpool2d(3, stride=2, padding=1)(yt, it, output_size=(9, 7))
    _close(u, ut)
    (a, ai), (at, ait) = (nn.AdaptiveMaxPool2d((4, 3), True)(cr.tensor(x)),
                          torch.nn.AdaptiveMaxPool2d((4, 3), True)(torch.tensor(x)))
    _close(a, at)
    assert np.array_equal(ai.numpy(), ait.numpy())
    (b, bi), (bt, bit) = (F.max_pool1d(cr.tensor(x[0]), 2, return_indices=True),
                          torch.nn.functional.max_pool1d(torch.tensor(x[0]), 2,
                                                         return_indices=True))
    _close(b, bt)
    assert np.array_equal(bi.numpy(), bit.numpy())


def test_maxpool_ties_and_nan_follow_torch():
    x = np.array([[[[1., 1., 0., 2.], [1., 0., 2., 2.], [np.nan, 3., 3., 1.],
                    [0., np.nan, 3., 3.]]]], dtype=np.float32)
    y, i = F.max_pool2d(cr.tensor(x), 2, return_indices=True)
    yt, it = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(y.numpy(), yt.numpy())
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    y, i = F.max_pool2d(cr.tensor(x), 3, stride=1, padding=1, return_indices=True)
    yt, it = torch.nn.functional.max_pool2d(torch.tensor(x), 3, stride=1, padding=1,
                                            return_indices=True)
    np.testing.assert_array_equal(i.numpy(), it.numpy())


@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_pooling_grads_match_torch_float32(k, s, p):
    x = np.random.default_rng(0).standard_normal((4, 5, 12, 10)).astype(np.float32)
    for name in ("max_pool2d", "avg_pool2d"):
        xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y = getattr(F, name)(xc, k, s, p)
        yt = getattr(torch.nn.functional, name)(xt, k, s, p)
        _close(y, yt)
        g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
        y.backward(cr.tensor(g)), yt.backward(torch.tensor(g))
        _close(xc.grad, xt.grad, msg=name)


# ---------------------------------------------------------------- interpolate
@pytest.mark.parametrize("kw", [
    dict(scale_factor=2), dict(scale_factor=3), dict(size=(13, 11)), dict(scale_factor=0.6),
    dict(size=(13, 11), mode="bilinear"), dict(scale_factor=2, mode="bilinear"),
    dict(scale_factor=1.5, mode="bilinear", align_corners=True),
    dict(scale_factor=(0.7, 2.3), mode="bilinear", recompute_scale_factor=True),
    dict(size=(13, 11), mode="nearest-exact"), dict(size=(3, 5), mode="area")])
def test_interpolate_matches_torch(kw):
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 9)).astype(np.float32)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = F.interpolate(xc, **kw)
    yt = torch.nn.functional.interpolate(xt, **kw)
    assert y.dtype == cr.float32
    _close(y, yt)
    y.sum().backward(), yt.sum().backward()
    _close(xc.grad, xt.grad, atol=1e-4)


def test_upsample_module_and_linear_mode():
    x = np.random.default_rng(0).standard_normal((2, 3, 7)).astype(np.float32)
    m = nn.Upsample(scale_factor=2.5, mode="linear")
    t = torch.nn.Upsample(scale_factor=2.5, mode="linear")
    _close(m(cr.tensor(x)), t(torch.tensor(x)))
    x4 = np.random.default_rng(1).standard_normal((1, 2, 3, 4)).astype(np.float32)
    _close(nn.UpsamplingBilinear2d(scale_factor=2)(cr.tensor(x4)),
           torch.nn.UpsamplingBilinear2d(scale_factor=2)(torch.tensor(x4)))


# ---------------------------------------------------------------- channel dropout
def test_dropout2d_zeros_whole_channels():
    x = cr.ones(8, 16, 3, 3, requires_grad=True)
    y = F.dropout2d(x, 0.5)
    a = y.detach().numpy()
    per_channel = a.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0.2 < (per_channel[..., 0] == 0).mean() < 0.8
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), a)
    assert F.dropout2d(x, 0.5, training=False) is x
    z = F.dropout1d(cr.ones(6, 50), 0.5)  # unbatched (C, L)
    assert z.shape == (6, 50) and np.all(np.ptp(z.numpy(), axis=1) == 0)
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        F.dropout1d(cr.ones(2, 3, 4, 5))


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("layer,x,match", [
    (lambda: nn.BatchNorm2d(4), (2, 3, 5, 5),
     r"BatchNorm2d\(4\): expected 4 channels at dim 1 of the input, got \(2, 3, 5, 5\)"),
    (lambda: nn.BatchNorm2d(4), (2, 4, 5),
     r"BatchNorm2d\(4\): expected 4D input \(N, C, H, W\), got 3D input of shape \(2, 4, 5\)"),
    (lambda: nn.BatchNorm1d(3), (1, 3),
     r"BatchNorm1d\(3\): Expected more than 1 value per channel when training, got input "
     r"size \(1, 3\)"),
    (lambda: nn.LayerNorm(5), (2, 4),
     r"LayerNorm\(\(5,\)\): Given normalized_shape=\[5\], expected input with shape \[\*, 5\], "
     r"but got input of size\s?\[2, 4\]"),
    (lambda: nn.GroupNorm(2, 4), (2, 6, 3), r"GroupNorm\(2, 4\): expected input \(N, 4, \*\), "
     r"got \(2, 6, 3\)"),
    (lambda: nn.MaxPool2d(2), (2, 3, 4, 4, 4), r"MaxPool2d\(kernel_size=2.*\): max_pool2d: "
     r"expected 3D \(C, H, W\) or 4D \(N, C, H, W\) input, got \(2, 3, 4, 4, 4\)"),
    (lambda: nn.MaxPool2d(3), (1, 1, 2, 2), r"MaxPool2d\(kernel_size=3.*Given input size: "
     r"\(1x2x2\). Calculated output size: \(1x0x0\). Output size is too small"),
    (lambda: nn.AvgPool2d(2, padding=2), (1, 1, 6, 6),
     r"AvgPool2d\(kernel_size=2, stride=2, padding=2\): avg_pool2d: pad should be smaller "
     r"than or equal to half of kernel size"),
    (lambda: nn.InstanceNorm2d(3, affine=True), (2, 4, 5, 5),
     r"InstanceNorm2d\(3\): expected input's size at dim=1 to match num_features \(3\)"),
    (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 5),
     r"Upsample\(scale_factor=2.0, mode='bilinear'\): Got 3D input, but bilinear mode needs "
     r"4D input"),
])
def test_errors_name_the_layer_and_shapes(layer, x, match):
    with pytest.raises((RuntimeError, ValueError, NotImplementedError), match=match):
        layer()(cr.zeros(*x))


def test_groupnorm_channels_must_divide():
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by num_groups"):
        nn.GroupNorm(2, 5)


# ---------------------------------------------------------------- which axes one draw covers
def _shared_axes(y):
    """Axes along which every dropout decision is constant (from a ones input)."""
    z = (np.asarray(y) == 0)
    return tuple(ax for ax in range(z.ndim) if z.shape[ax] > 1 and
                 np.all(z == z.take([0], axis=ax)))


@pytest.mark.parametrize("kind,shape", [
    ("Dropout1d", (40, 30)), ("Dropout1d", (8, 40, 30)),
    # mnist_rnn applies nn.Dropout2d to an (N, C) batch: torch drops single elements
    ("Dropout2d", (64, 40)), ("Dropout2d", (8, 40, 30)), ("Dropout2d", (4, 30, 5, 5)),
    ("Dropout3d", (30, 4, 5, 5)), ("Dropout3d", (4, 30, 3, 3, 3)), ("Dropout3d", (40, 30, 5)),
])
def test_channel_dropout_modules_draw_over_the_axes_torch_does(kind, shape):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = getattr(nn, kind)(0.5)(cr.ones(*shape)).numpy()
        theirs = getattr(torch.nn, kind)(0.5)(torch.ones(*shape)).numpy()
        functional = getattr(F, kind.lower())(cr.ones(*shape), 0.5).numpy()
    assert _shared_axes(ours) == _shared_axes(theirs) == _shared_axes(functional), kind
    assert 0.3 < (ours == 0).mean() < 0.7 and set(np.unique(ours)) <= {0.0, 2.0}
