"""Convolution ops and layers.

* the fused ops against a straightforward composed reference (padding,
  strided slicing and einsum per kernel offset; the transposed convolution as
  a stride-1 convolution of the zero-dilated input), forward, gradients and
  double backward, with each algorithm of the kernels forced in turn;
* the layers against torch with copied weights (outputs, gradients, repr,
  state_dict, default initialisation, padding modes, output_size);
* error messages.
"""
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.backend.kernels import conv as K
from chainrule.backend.kernels import rows as R

torch = pytest.importorskip("torch")


# ---------------------------------------------------------------- reference
def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def ref_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Composed 2-D convolution: one einsum per kernel offset on strided slices."""
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    o, cg, kh, kw = w.shape
    if padding == "same":
        pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                for k, d in ((kh, dh), (kw, dw))]
    else:
        pads = [(p, p) for p in _pair(padding)]
    x = F.pad(x, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    n, _, hp, wp = x.shape
    ho, wo = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    wg = w.reshape(groups, o // groups, cg, kh, kw)
    y = None
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                      j * dw:j * dw + sw * (wo - 1) + 1:sw]
            t = cr.einsum("ngchw,goc->ngohw", patch.reshape(n, groups, cg, ho, wo),
                          wg[:, :, :, i, j])
            y = t if y is None else y + t
    y = y.reshape(n, o, ho, wo)
    return y if b is None else y + b.reshape(1, o, 1, 1)


def _dilate(z, s, dim):
    """Insert s-1 zeros between the entries of ``z`` along ``dim`` (2 or 3)."""
    if s == 1:
        return z
    parts = [z] + [cr.zeros_like(z)] * (s - 1)
    y = cr.stack(parts, dim + 1)
    shape = list(z.shape)
    shape[dim] *= s
    return cr.narrow(y.reshape(shape), dim, 0, (z.shape[dim] - 1) * s + 1)


def ref_conv_transpose2d(z, w, b=None, stride=1, padding=0, output_padding=0, groups=1,
                         dilation=1):
    """Composed transposed convolution: a stride-1 convolution of the zero-dilated
    input with the flipped, in/out-swapped kernel."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    (oph, opw), (dh, dw) = _pair(output_padding), _pair(dilation)
    cin, og, kh, kw = w.shape
    zd = _dilate(_dilate(z, sh, 2), sw, 3)
    qh, qw = dh * (kh - 1) - ph, dw * (kw - 1) - pw
    zd = F.pad(zd, (qw, qw + opw, qh, qh + oph))  # negative amounts crop
    wt = w.reshape(groups, cin // groups, og, kh, kw).permute(0, 2, 1, 3, 4)
    wt = cr.flip(wt.reshape(groups * og, cin // groups, kh, kw), (2, 3))
    return ref_conv2d(zd, wt, b, 1, 0, (dh, dw), groups)


# ---------------------------------------------------------------- algorithm forcing
ALGOS = ["default", "small_blocks", "serial", "no_full_grid", "full_grid", "winograd"]


@pytest.fixture(params=ALGOS)
def algo(request, monkeypatch):
    from chainrule.backend.cpu import threads as _parallel
    from chainrule.backend.kernels import winograd as _winograd
    if request.param in ("small_blocks", "serial"):  # many blocks with a ragged last one
        monkeypatch.setattr(R, "_BLOCK_BYTES", 1)
        monkeypatch.setattr(R, "_MIN_BLOCK_COLS", 7)
        monkeypatch.setattr(_winograd, "_BLOCK_BYTES", 1)
        monkeypatch.setattr(_winograd, "_MIN_BLOCK_TILES", 3)
        # blocks shared out to 3 threads, or all run in this one
        monkeypatch.setattr(_parallel._State, "threads", 3 if request.param == "small_blocks"
                            else 1)
        if request.param == "small_blocks":  # the kernels spread blocks under BLAS control
            monkeypatch.setattr(_parallel._State, "blas", _parallel._find_openblas())
    elif request.param == "no_full_grid":
        monkeypatch.setattr(K, "_FULL_GRID_WASTE", 0.0)
    elif request.param == "full_grid":
        monkeypatch.setattr(K, "_FULL_GRID_WASTE", 1e9)
    if request.param in ("small_blocks", "serial", "winograd"):  # Winograd wherever it applies
        monkeypatch.setattr(K, "_WINOGRAD_MIN_CHANNELS", 0)
    return request.param


def _t(rng, *shape):
    return cr.tensor(rng.standard_normal(shape), requires_grad=True)


def _check_against(fused, ref, inputs, rng):
    """Forward, first and second derivatives of ``fused`` equal ``ref``'s."""
    y, yr = fused(*inputs), ref(*inputs)
    assert y.shape == yr.shape
    np.testing.assert_allclose(y.detach().numpy(), yr.detach().numpy(), rtol=1e-10,
                               atol=1e-10)
    gy = cr.tensor(rng.standard_normal(y.shape))
    g = cr.autograd.grad([y], inputs, [gy], create_graph=True)
    gr = cr.autograd.grad([yr], inputs, [gy], create_graph=True)
    for a, b in zip(g, gr):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10,
                                   atol=1e-10)
    # double backward: gradient of a weighted sum of the first gradients
    vs = [cr.tensor(rng.standard_normal(a.shape)) for a in g]
    s = sum((a * v).sum() for a, v in zip(g, vs))
    sr = sum((a * v).sum() for a, v in zip(gr, vs))
    gg = cr.autograd.grad([s], inputs, allow_unused=True)
    ggr = cr.autograd.grad([sr], inputs, allow_unused=True)
    for a, b in zip(gg, ggr):
        if b is None:
            assert a is None or not np.any(a.numpy())
            continue
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-9)


CONV_CASES = [
    # x shape, w shape, kwargs
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(padding=1)),
    ((2, 4, 16, 12), (5, 4, 3, 3), dict(padding=1)),
    ((3, 2, 13, 11), (3, 2, 3, 3), dict(padding=0)),
    ((2, 3, 9, 8), (4, 3, 3, 2), dict(stride=2, padding=(1, 0))),
    ((2, 3, 12, 10), (4, 3, 5, 5), dict(padding=2)),
    ((2, 4, 10, 9), (6, 2, 3, 3), dict(padding=2, dilation=2, groups=2)),
    ((2, 4, 10, 9), (8, 1, 3, 3), dict(padding=1, groups=4)),
    ((2, 3, 11, 7), (4, 3, 2, 4), dict(padding="same")),
    ((2, 3, 11, 7), (4, 3, 1, 1), dict(stride=(2, 3))),
    ((1, 1, 28, 28), (6, 1, 5, 5), dict(padding=2)),
    ((3, 6, 14, 13), (4, 3, 5, 5), dict(groups=2, dilation=(1, 2))),
    ((2, 8, 9, 8), (4, 8, 3, 3), dict(stride=2, padding=1)),
    ((2, 8, 10, 9), (8, 4, 3, 2), dict(stride=(1, 2), padding=1, groups=2)),
    ((2, 16, 6, 7), (16, 16, 3, 3), dict(padding=1)),
]


@pytest.mark.parametrize("xs,ws,kw", CONV_CASES)
def test_conv2d_matches_composed_reference(xs, ws, kw, algo):
    rng = np.random.default_rng(0)
    x, w, b = _t(rng, *xs), _t(rng, *ws), _t(rng, ws[0])
    _check_against(lambda x, w, b: F.conv2d(x, w, b, **kw),
                   lambda x, w, b: ref_conv2d(x, w, b, **kw), (x, w, b), rng)


TRANSPOSE_CASES = [
    ((2, 4, 5, 6), (4, 3, 3, 3), dict(padding=1)),
    ((2, 4, 5, 6), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 5, 4), (4, 2, 4, 3), dict(stride=(2, 3), padding=(1, 0), output_padding=(0, 2))),
    ((2, 4, 6, 5), (4, 1, 3, 3), dict(dilation=2, output_padding=1, groups=2, padding=1)),
    ((1, 3, 8, 8), (3, 2, 2, 2), dict(stride=2)),
    ((2, 4, 4, 5), (4, 8, 3, 3), dict(stride=2, output_padding=1)),
    ((2, 16, 5, 4), (16, 16, 3, 3), dict(padding=1)),
]


@pytest.mark.parametrize("xs,ws,kw", TRANSPOSE_CASES)
def test_conv_transpose2d_matches_composed_reference(xs, ws, kw, algo):
    rng = np.random.default_rng(1)
    groups = kw.get("groups", 1)
    x, w, b = _t(rng, *xs), _t(rng, *ws), _t(rng, ws[1] * groups)
    _check_against(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
                   lambda x, w, b: ref_conv_transpose2d(x, w, b, **kw), (x, w, b), rng)


def test_reference_matches_torch():
    """The oracle itself, checked once against torch."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2))
    kw = dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    np.testing.assert_allclose(
        ref_conv2d(cr.tensor(x), cr.tensor(w), **kw).numpy(),
        torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), **kw).numpy(), atol=1e-12)
    z, wt = rng.standard_normal((2, 4, 4, 3)), rng.standard_normal((4, 3, 3, 2))
    kw = dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2))
    np.testing.assert_allclose(
        ref_conv_transpose2d(cr.tensor(z), cr.tensor(wt), **kw).numpy(),
        torch.nn.functional.conv_transpose2d(torch.tensor(z), torch.tensor(wt), **kw).numpy(),
        atol=1e-12)


def test_noncontiguous_and_float32_inputs():
    rng = np.random.default_rng(3)
    xa = rng.standard_normal((3, 10, 9, 2)).astype(np.float32)
    wa = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    x = cr.tensor(xa).permute(3, 0, 1, 2)  # a non-contiguous (2, 3, 10, 9) view
    y = F.conv2d(x, cr.tensor(wa), padding=1)
    assert y.dtype == cr.float32
    ref = torch.nn.functional.conv2d(torch.tensor(xa).permute(3, 0, 1, 2), torch.tensor(wa),
                                     padding=1)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-4, atol=1e-4)
    # the result chains through flatten/view like torch's contiguous output
    assert y.flatten(1).shape == (2, 4 * 10 * 9)
    np.testing.assert_allclose(y.reshape(2, -1).numpy(), ref.reshape(2, -1).numpy(),
                               rtol=1e-4, atol=1e-4)


def test_empty_batch():
    y = F.conv2d(cr.zeros(0, 3, 8, 8, requires_grad=True), cr.ones(2, 3, 3, 3), padding=1)
    assert y.shape == (0, 2, 8, 8)


# ---------------------------------------------------------------- layers vs torch
LAYERS = [
    ("Conv2d", (1, 6, 5), dict(padding=2), (2, 1, 12, 12)),
    ("Conv2d", (4, 6, 3), dict(stride=2, padding=1, groups=2, bias=False), (2, 4, 9, 9)),
    ("Conv2d", (3, 4, (2, 3)), dict(padding="same", dilation=2), (2, 3, 7, 8)),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="reflect"), (2, 3, 6, 7)),
    ("Conv2d", (3, 4, 3), dict(padding=(2, 1), padding_mode="replicate"), (2, 3, 6, 7)),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="circular"), (3, 6, 7)),
    ("Conv2d", (3, 4, 4), dict(padding="same", padding_mode="reflect"), (2, 3, 6, 7)),
    ("Conv2d", (3, 3, 3), dict(padding="valid", groups=3), (2, 3, 6, 7)),
    ("Conv1d", (16, 8, 3), dict(stride=2), (4, 16, 20)),
    ("Conv1d", (4, 4, 5), dict(padding="same", padding_mode="circular", groups=4), (2, 4, 9)),
    ("Conv1d", (4, 6, 3), dict(padding=1, dilation=2), (4, 11)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1), (2, 4, 5, 5)),
    ("ConvTranspose2d", (4, 2, (3, 2)), dict(groups=2, dilation=(1, 2), bias=False),
     (2, 4, 5, 4)),
    ("ConvTranspose1d", (4, 3, 4), dict(stride=3, padding=1, output_padding=2), (2, 4, 6)),
    ("ConvTranspose1d", (4, 3, 3), dict(), (4, 6)),
]


def _pair_modules(cls, args, kw):
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(*args, **kw).double()
    cm = getattr(nn, cls)(*args, **kw).double()
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return cm, tm


@pytest.mark.parametrize("cls,args,kw,xs", LAYERS)
def test_layer_matches_torch(cls, args, kw, xs):
    cm, tm = _pair_modules(cls, args, kw)
    assert repr(cm) == repr(tm)
    assert list(cm.state_dict()) == list(tm.state_dict())
    rng = np.random.default_rng(4)
    xa = rng.standard_normal(xs)
    x, tx = cr.tensor(xa, requires_grad=True), torch.tensor(xa, requires_grad=True)
    y, ty = cm(x), tm(tx)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-12)
    ga = rng.standard_normal(y.shape)
    y.backward(cr.tensor(ga))
    ty.backward(torch.tensor(ga))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-11)
    for (name, p), tp in zip(cm.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=1e-10, err_msg=name)


def test_gradient_penalty_matches_torch():
    """Double backward through a layer (d/dw of |dy/dx|^2), as in WGAN-GP."""
    cm, tm = _pair_modules("Conv2d", (2, 3, 3), dict(stride=2, padding=1))
    rng = np.random.default_rng(5)
    xa = rng.standard_normal((2, 2, 7, 6))
    res = []
    for m, lib, x in ((cm, cr, cr.tensor(xa, requires_grad=True)),
                      (tm, torch, torch.tensor(xa, requires_grad=True))):
        y = (m(x) ** 2).sum()
        (gx,) = lib.autograd.grad(y, x, create_graph=True)
        (gx ** 2).sum().backward()
        res.append(m.weight.grad.detach().numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-10)


def test_conv_transpose_output_size():
    cm, tm = _pair_modules("ConvTranspose2d", (3, 2, 3), dict(stride=2, padding=1))
    x = np.random.default_rng(6).standard_normal((1, 3, 5, 5))
    for size in [(9, 9), (10, 10), (1, 2, 10, 9)]:
        y = cm(cr.tensor(x), output_size=size)
        ty = tm(torch.tensor(x), output_size=size)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="valid sizes range from"):
        cm(cr.tensor(x), output_size=(11, 11))


@pytest.mark.parametrize("cls,args,kw", [
    ("Conv2d", (1, 6, 5), {}), ("Conv2d", (3, 64, 3), dict(stride=2, padding=(1, 1))),
    ("Conv1d", (16, 33, 3), dict(bias=False, padding=1)),
    ("Conv2d", (4, 8, 3), dict(padding="same", padding_mode="zeros", dilation=(2, 1))),
    ("ConvTranspose2d", (16, 33, (3, 5)), dict(stride=(2, 1), padding=(4, 2))),
    ("ConvTranspose1d", (8, 4, 2), dict(groups=4, output_padding=0, dilation=3)),
])
def test_repr_matches_torch(cls, args, kw):
    assert repr(getattr(nn, cls)(*args, **kw)) == repr(getattr(torch.nn, cls)(*args, **kw))


@pytest.mark.parametrize("cls,args,fan_in", [
    ("Conv2d", (4, 32, 3), 36), ("Conv2d", (4, 32, 3, 1, 0, 1, 2), 18),
    ("ConvTranspose2d", (8, 32, 3), 288), ("Conv1d", (5, 40, 4), 20)])
def test_default_init_bounds(cls, args, fan_in):
    cr.manual_seed(0)
    m = getattr(nn, cls)(*args)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) and torch's bias rule
    for p in (m.weight, m.bias):
        a = np.abs(p.detach().numpy())
        assert a.max() <= bound and a.max() > 0.8 * bound
    assert m.weight.dtype == cr.float32 and m.weight.requires_grad


def test_layer_dtype_and_device_args():
    m = nn.Conv2d(2, 3, 3, dtype=cr.float64, device="cpu")
    assert m.weight.dtype == cr.float64 and m.bias.dtype == cr.float64


# ---------------------------------------------------------------- errors
def _raises(exc, match, fn, *args, **kw):
    with pytest.raises(exc, match=match):
        fn(*args, **kw)


def test_functional_errors():
    x = cr.randn(128, 1, 28, 28)
    w = cr.randn(16, 3, 5, 5)
    _raises(RuntimeError, r"conv2d: expected input \(N, 3, H, W\) for weight \(16, 3, 5, 5\), "
            r"got \(128, 1, 28, 28\)", F.conv2d, x, w)
    _raises(RuntimeError, r"conv2d: expected input \(N, 4, H, W\) for weight "
            r"\(8, 2, 3, 3\) with groups=2", F.conv2d, cr.randn(1, 3, 5, 5),
            cr.randn(8, 2, 3, 3), groups=2)
    _raises(RuntimeError, "divisible by 3", F.conv2d, cr.randn(1, 3, 5, 5),
            cr.randn(4, 1, 3, 3), groups=3)
    _raises(RuntimeError, "4-D weight", F.conv2d, cr.randn(1, 3, 5, 5), cr.randn(4, 3, 3))
    _raises(RuntimeError, r"3-D \(unbatched\) or 4-D", F.conv2d, cr.randn(128, 784), w)
    _raises(RuntimeError, r"bias of shape \(16,\)", F.conv2d, cr.randn(1, 3, 8, 8), w,
            cr.randn(3))
    _raises(RuntimeError, "smaller than the kernel", F.conv2d, cr.randn(1, 3, 4, 4), w)
    _raises(ValueError, "not supported for strided", F.conv2d, cr.randn(1, 3, 8, 8), w,
            stride=2, padding="same")
    _raises(ValueError, "invalid padding string", F.conv2d, cr.randn(1, 3, 8, 8), w,
            padding="full")
    _raises(RuntimeError, "negative padding", F.conv2d, cr.randn(1, 3, 8, 8), w, padding=-1)
    _raises(RuntimeError, "non-positive stride", F.conv2d, cr.randn(1, 3, 8, 8), w, stride=0)
    _raises(RuntimeError, "list of 2 values", F.conv2d, cr.randn(1, 3, 8, 8), w,
            stride=(1, 1, 1))
    _raises(RuntimeError, "same dtype", F.conv2d, cr.randn(1, 3, 8, 8),
            w.to(cr.float64))
    _raises(RuntimeError, r"conv1d: expected input \(N, 2, L\)", F.conv1d, cr.randn(1, 3, 8),
            cr.randn(4, 2, 3))
    _raises(RuntimeError, "output padding must be smaller", F.conv_transpose2d,
            cr.randn(1, 3, 4, 4), cr.randn(3, 2, 3, 3), stride=2, output_padding=2)
    _raises(RuntimeError, r"conv_transpose2d: expected input \(N, 3, H, W\) for weight "
            r"\(3, 2, 3, 3\)", F.conv_transpose2d, cr.randn(1, 2, 4, 4), cr.randn(3, 2, 3, 3))
    _raises(RuntimeError, "divisible by the product of kernel_size", F.fold,
            cr.randn(1, 7, 4), (3, 3), 2)
    _raises(RuntimeError, "blocks", F.fold, cr.randn(1, 8, 5), (3, 3), 2)
    _raises(RuntimeError, "4-D", F.unfold, cr.randn(3, 3), 2)


def test_layer_errors():
    m = nn.Conv2d(1, 6, 5, padding=2)
    _raises(RuntimeError, r"Conv2d\(1, 6, kernel_size=\(5, 5\), stride=\(1, 1\), "
            r"padding=\(2, 2\)\): expected input \(N, 1, H, W\)", m, cr.randn(128, 784))
    _raises(RuntimeError, r"Conv1d\(.*expected input \(N, 4, L\)", nn.Conv1d(4, 2, 3),
            cr.randn(2, 3, 9))
    _raises(ValueError, "in_channels .* divisible by groups", nn.Conv2d, 3, 4, 3, groups=2)
    _raises(ValueError, "out_channels .* divisible by groups", nn.Conv2d, 4, 3, 3, groups=2)
    _raises(ValueError, "padding_mode must be one of", nn.Conv2d, 1, 1, 3,
            padding_mode="mirror")
    _raises(ValueError, "not supported for strided", nn.Conv2d, 1, 1, 3, stride=2,
            padding="same")
    _raises(ValueError, "Only \"zeros\" padding mode", nn.ConvTranspose2d, 1, 1, 3,
            padding_mode="reflect")


def test_unfold_matches_strided_slices_and_fold_is_its_adjoint():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 7, 6))
    kw = dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    col = F.unfold(cr.tensor(x), **kw).numpy()
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ho, wo = (9 - 2 - 1) // 1 + 1, (8 - 3) // 2 + 1
    ref = np.stack([xp[:, :, 2 * i:2 * i + ho, j:j + 2 * (wo - 1) + 1:2]
                    for i in range(2) for j in range(3)], 2)        # (N, C, k, ho, wo)
    np.testing.assert_array_equal(col, ref.reshape(2, 3 * 6, ho * wo))
    c = rng.standard_normal(col.shape)
    folded = F.fold(cr.tensor(c), (7, 6), **kw).numpy()
    assert np.isclose((folded * x).sum(), (c * col).sum())


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (0, 2, 3, 1), (1, 0, 2, 3)])
def test_channel_sum_any_layout(order):
    a = np.random.default_rng(8).standard_normal((3, 5, 7, 11))   # 231 rows: ragged blocks
    phys = np.ascontiguousarray(a.transpose(order))
    logical = phys.transpose(np.argsort(order))
    np.testing.assert_allclose(R.channel_sum(logical), a.sum((0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(R.channel_sum(logical[:, :, 1:, ::2]),
                               a[:, :, 1:, ::2].sum((0, 2, 3)), rtol=1e-12)


def test_parallel_blocks(monkeypatch):
    from chainrule.backend.cpu import threads as P
    monkeypatch.setattr(P._State, "blas", P._find_openblas())
    if P._State.blas is None:
        pytest.skip("OpenBLAS thread control unavailable: blocks run serially")
    monkeypatch.setattr(P._State, "threads", 3)
    before = P._State.blas[1]()
    out = np.zeros(50)

    def fill(i):
        out[i] = i
    P.run(fill, range(50))
    np.testing.assert_array_equal(out, np.arange(50))
    assert P.reduce(lambda i: np.array([i, 1.0]), range(50)).tolist() == [1225.0, 50.0]
    assert P.reduce(lambda i: np.ones(1), []) is None

    def boom(i):
        if i == 7:
            raise ValueError("block 7")
    with pytest.raises(ValueError, match="block 7"):
        P.run(boom, range(20))
    assert P._State.blas[1]() == before  # OpenBLAS's thread count restored
