"""Losses beyond the op table: stability for huge logits, the fused
cross-entropy against its composed oracle (first and second order), module
forms, and error messages.  The op table (tests/ops/table_loss.py) covers
forward/gradients against torch and gradcheck for every loss and variant."""
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(a, grad=True):
    """The same array as a chainrule and a torch tensor."""
    a = np.asarray(a)
    g = grad and a.dtype.kind == "f"
    return cr.tensor(a, requires_grad=g), torch.from_numpy(a.copy()).requires_grad_(g)


def _np(t):
    return t.detach().numpy()


# ---------------------------------------------------------------- the composed oracle
def composed_cross_entropy(x, t, weight=None, ignore_index=-100, reduction="mean",
                           label_smoothing=0.0):
    """Cross-entropy from log_softmax + nll_loss + a smoothing term (torch's recipe)."""
    d = 0 if x.ndim == 1 else 1
    n = x.shape[d]
    logp = F.log_softmax(x, d)
    wshape = [1] * x.ndim
    wshape[d] = n
    wb = None if weight is None else weight.reshape(wshape)
    if t.dtype.is_floating_point:
        if label_smoothing:
            t = t * (1 - label_smoothing) + label_smoothing / n
        loss = -(logp * t * (1 if wb is None else wb)).sum(d)
        return {"none": loss, "sum": loss.sum(), "mean": loss.sum() / (x.numel() // n)}[
            reduction]
    nll = F.nll_loss(logp, t, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return nll
    valid = cr.tensor((t.numpy() != ignore_index).astype(_np(x).dtype))
    smooth = -(logp * (1 if wb is None else wb)).sum(d) * valid
    if reduction == "none":
        red = smooth
    elif reduction == "sum":
        red = smooth.sum()
    else:
        safe = np.where(t.numpy() != ignore_index, t.numpy(), 0)
        den = valid.sum() if weight is None else (weight.numpy()[safe] * valid.numpy()).sum()
        red = smooth.sum() / float(den)
    return nll * (1 - label_smoothing) + red * (label_smoothing / n)


CE_CASES = [
    dict(shape=(6, 5)),
    dict(shape=(6, 5), weight=True, ignore=True),
    dict(shape=(6, 5), smoothing=0.2, weight=True, ignore=True),
    dict(shape=(2, 4, 3, 2), ignore=True, smoothing=0.1),
    dict(shape=(5,), weight=True),
    dict(shape=(6, 5), prob=True, weight=True, smoothing=0.3),
    dict(shape=(2, 3, 4), prob=True),
]


def _ce_inputs(case, rng, scale=2.0, dtype=np.float64):
    shape = case["shape"]
    d = 0 if len(shape) == 1 else 1
    n = shape[d]
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    if case.get("prob"):
        e = np.exp(rng.standard_normal(shape))
        t = (e / e.sum(d, keepdims=True)).astype(dtype)
    else:
        t = rng.integers(0, n, shape[:d] + shape[d + 1:])
        if case.get("ignore"):
            t.reshape(-1)[0] = -100
    kw = {"label_smoothing": case.get("smoothing", 0.0)}
    w = rng.uniform(0.3, 2.0, n).astype(dtype) if case.get("weight") else None
    return x, t, w, kw


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("case", CE_CASES, ids=str)
def test_fused_cross_entropy_matches_composed(case, reduction):
    rng = np.random.default_rng(0)
    x, t, w, kw = _ce_inputs(case, rng)
    xa, xb = cr.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    tt = cr.tensor(t)
    wt = None if w is None else cr.tensor(w)
    fused = F.cross_entropy(xa, tt, wt, reduction=reduction, **kw)
    ref = composed_cross_entropy(xb, tt, wt, reduction=reduction, **kw)
    np.testing.assert_allclose(_np(fused), _np(ref), rtol=1e-10, atol=1e-12)
    gy = cr.tensor(rng.standard_normal(fused.shape))
    # first order, and the create_graph path (a different branch in backward)
    g1, = cr.autograd.grad(fused, xa, gy, retain_graph=True)
    g2, = cr.autograd.grad(ref, xb, gy, retain_graph=True)
    np.testing.assert_allclose(_np(g1), _np(g2), rtol=1e-10, atol=1e-12)
    h1, = cr.autograd.grad(fused, xa, gy, create_graph=True)
    h2, = cr.autograd.grad(ref, xb, gy, create_graph=True)
    np.testing.assert_allclose(_np(h1), _np(g2), rtol=1e-10, atol=1e-12)
    # second order: a Hessian-vector product
    v = cr.tensor(rng.standard_normal(x.shape))
    hv1, = cr.autograd.grad((h1 * v).sum(), xa)
    hv2, = cr.autograd.grad((h2 * v).sum(), xb)
    np.testing.assert_allclose(_np(hv1), _np(hv2), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", CE_CASES[:3] + CE_CASES[5:6], ids=str)
def test_cross_entropy_double_backward_matches_torch(case):
    rng = np.random.default_rng(1)
    x, t, w, kw = _ce_inputs(case, rng)
    cx, tx = _pair(x)
    ct, tt = _pair(t, grad=False)
    cw, tw = (None, None) if w is None else _pair(w, grad=False)
    cg, = cr.autograd.grad(F.cross_entropy(cx, ct, cw, **kw), cx, create_graph=True)
    tg, = torch.autograd.grad(TF.cross_entropy(tx, tt, tw, **kw), tx, create_graph=True)
    np.testing.assert_allclose(_np(cg), _np(tg), rtol=1e-10, atol=1e-12)
    v = rng.standard_normal(x.shape)
    ch, = cr.autograd.grad((cg * cr.tensor(v)).sum(), cx)
    th, = torch.autograd.grad((tg * torch.from_numpy(v)).sum(), tx)
    np.testing.assert_allclose(_np(ch), _np(th), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- stability
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [CE_CASES[0], CE_CASES[2], CE_CASES[3], CE_CASES[5]],
                         ids=str)
def test_cross_entropy_stable_for_huge_logits(case, dtype):
    rng = np.random.default_rng(2)
    x, t, w, kw = _ce_inputs(case, rng, scale=1e4, dtype=dtype)
    cx, tx = _pair(x)
    ct, tt = _pair(t, grad=False)
    cw, tw = (None, None) if w is None else _pair(w, grad=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warnings either
        cl = F.cross_entropy(cx, ct, cw, **kw)
        cl.backward()
    tl = TF.cross_entropy(tx, tt, tw, **kw)
    tl.backward()
    assert np.isfinite(_np(cl)).all() and np.isfinite(cx.grad.numpy()).all()
    assert cl.dtype == getattr(cr, np.dtype(dtype).name)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(_np(cl), _np(tl), rtol=tol)
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("pos_weight", [False, True])
def test_bce_with_logits_stable_for_huge_logits(pos_weight):
    x = np.array([[1e4, -1e4, 0.5], [-3e4, 2e4, -1e4]])
    y = np.array([[0.0, 1.0, 1.0], [0.3, 0.0, 0.0]])
    cx, tx = _pair(x)
    cy, ty = _pair(y, grad=False)
    pw = np.array([2.0, 0.5, 1.0])
    ckw = {"pos_weight": cr.tensor(pw)} if pos_weight else {}
    tkw = {"pos_weight": torch.from_numpy(pw)} if pos_weight else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cl = F.binary_cross_entropy_with_logits(cx, cy, reduction="sum", **ckw)
        cl.backward()
    tl = TF.binary_cross_entropy_with_logits(tx, ty, reduction="sum", **tkw)
    tl.backward()
    assert np.isfinite(_np(cl)) and np.isfinite(cx.grad.numpy()).all()
    np.testing.assert_allclose(_np(cl), _np(tl), rtol=1e-12)
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_bce_clamps_log_at_minus_100():
    x = np.array([0.0, 1.0, 0.5, 1e-50])
    y = np.array([1.0, 0.0, 1.0, 1.0])
    cl = F.binary_cross_entropy(cr.tensor(x), cr.tensor(y), reduction="none")
    tl = TF.binary_cross_entropy(torch.from_numpy(x), torch.from_numpy(y), reduction="none")
    np.testing.assert_allclose(cl.numpy(), tl.numpy())
    assert cl.numpy()[0] == 100.0


def test_cross_entropy_all_ignored_mean_is_nan_like_torch():
    x, t = np.zeros((2, 3)), np.array([-100, -100])
    cl = F.cross_entropy(cr.tensor(x), cr.tensor(t))
    tl = TF.cross_entropy(torch.from_numpy(x), torch.from_numpy(t))
    assert np.isnan(cl.item()) and np.isnan(tl.item())


# ---------------------------------------------------------------- modules
MODULE_CASES = [
    ("MSELoss", "mse_loss", {}, "reg"),
    ("L1Loss", "l1_loss", {"reduction": "sum"}, "reg"),
    ("SmoothL1Loss", "smooth_l1_loss", {"beta": 0.5}, "reg"),
    ("HuberLoss", "huber_loss", {"delta": 0.7, "reduction": "none"}, "reg"),
    ("BCELoss", "binary_cross_entropy", {"weight": "w4"}, "prob"),
    ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits",
     {"pos_weight": "w4", "weight": "w4"}, "reg"),
    ("CrossEntropyLoss", "cross_entropy",
     {"weight": "w4", "ignore_index": 1, "label_smoothing": 0.1}, "cls"),
    ("NLLLoss", "nll_loss", {"weight": "w4", "reduction": "sum"}, "cls"),
    ("KLDivLoss", "kl_div", {"reduction": "batchmean", "log_target": True}, "reg"),
    ("PoissonNLLLoss", "poisson_nll_loss", {"full": True}, "pos"),
    ("SoftMarginLoss", "soft_margin_loss", {}, "reg"),
    ("MultiLabelSoftMarginLoss", "multilabel_soft_margin_loss", {"weight": "w4"}, "prob"),
    ("MultiMarginLoss", "multi_margin_loss", {"p": 2, "margin": 0.5}, "cls"),
    ("HingeEmbeddingLoss", "hinge_embedding_loss", {"margin": 0.5}, "sign"),
]


def _module_args(kind, rng):
    x = rng.standard_normal((3, 4))
    if kind == "reg":
        return x, rng.standard_normal((3, 4))
    if kind == "prob":
        return rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0, 1, (3, 4))
    if kind == "pos":
        return x, rng.uniform(0, 3, (3, 4))
    if kind == "sign":
        return x, np.sign(rng.standard_normal((3, 4)))
    return x, rng.integers(0, 4, 3)


@pytest.mark.parametrize("cls,fn,kw,kind", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_module_matches_functional_and_torch(cls, fn, kw, kind):
    rng = np.random.default_rng(3)
    w = rng.uniform(0.5, 2.0, 4)
    ckw = {k: (cr.tensor(w) if v == "w4" else v) for k, v in kw.items()}
    tkw = {k: (torch.from_numpy(w) if v == "w4" else v) for k, v in kw.items()}
    args = _module_args(kind, rng)
    cargs = [cr.tensor(a) for a in args]
    targs = [torch.from_numpy(a) for a in args]
    mod = getattr(nn, cls)(**ckw)
    out = mod(*cargs)
    red = ckw.pop("reduction", "mean")
    fkw = dict(ckw, reduction=red)
    if cls == "BCEWithLogitsLoss":
        ref = F.binary_cross_entropy_with_logits(*cargs, **fkw)
    else:
        ref = getattr(F, fn)(*cargs, **fkw)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    tout = getattr(torch.nn, cls)(**tkw)(*targs)
    np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-10, atol=1e-12)
    assert repr(mod) == repr(getattr(torch.nn, cls)(**tkw))
    tbuf = dict(getattr(torch.nn, cls)(**tkw).state_dict())
    assert sorted(mod.state_dict()) == sorted(tbuf)


@pytest.mark.parametrize("cls,nargs,kw", [
    ("MarginRankingLoss", 3, {"margin": 0.2}),
    ("TripletMarginLoss", 3, {"margin": 0.5, "p": 1, "swap": True}),
    ("CosineEmbeddingLoss", 3, {"margin": 0.1, "reduction": "none"}),
    ("GaussianNLLLoss", 3, {"full": True}),
])
def test_three_input_modules_match_torch(cls, nargs, kw):
    rng = np.random.default_rng(4)
    if cls == "MarginRankingLoss":
        args = [rng.standard_normal(5), rng.standard_normal(5),
                np.sign(rng.standard_normal(5))]
    elif cls == "CosineEmbeddingLoss":
        args = [rng.standard_normal((5, 3)), rng.standard_normal((5, 3)),
                np.sign(rng.standard_normal(5))]
    elif cls == "GaussianNLLLoss":
        args = [rng.standard_normal((5, 3)), rng.standard_normal((5, 3)),
                rng.uniform(0.5, 2, (5, 1))]
    else:
        args = list(rng.standard_normal((3, 5, 4)))
    out = getattr(nn, cls)(**kw)(*[cr.tensor(a) for a in args])
    tout = getattr(torch.nn, cls)(**kw)(*[torch.from_numpy(a) for a in args])
    np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-10, atol=1e-12)


def test_weighted_module_buffers_follow_the_module():
    w, pw = cr.tensor([1.0, 2.0, 3.0]), cr.tensor([0.5, 1.0, 4.0])
    mod = nn.BCEWithLogitsLoss(weight=w, pos_weight=pw)
    assert list(mod.state_dict()) == ["weight", "pos_weight"]
    assert mod.double().pos_weight.dtype == cr.float64
    ce = nn.CrossEntropyLoss(weight=w)
    assert ce.weight is w and list(dict(ce.named_buffers())) == ["weight"]
    assert nn.CrossEntropyLoss().weight is None


def test_legacy_size_average_and_reduce():
    with pytest.warns(UserWarning, match="reduction='sum'"):
        mod = nn.MSELoss(size_average=False)
    assert mod.reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.NLLLoss(reduce=False).reduction == "none"
    x, y = cr.tensor([1.0, 2.0]), cr.tensor([0.0, 0.0])
    with pytest.warns(UserWarning):
        assert F.mse_loss(x, y, size_average=False).item() == 5.0


def test_training_step_reduces_the_loss():
    rng = np.random.default_rng(5)
    x = cr.tensor(rng.standard_normal((32, 4)))
    y = cr.tensor(rng.integers(0, 3, 32))
    model = nn.Linear(4, 3).double()
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    first = None
    for _ in range(30):
        loss = loss_fn(model(x), y)
        first = loss.item() if first is None else first
        model.zero_grad()
        loss.backward()
        with cr.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
    assert loss.item() < first * 0.9


# ---------------------------------------------------------------- errors
def test_cross_entropy_target_shape_error_names_shapes():
    x, t = cr.randn(128, 10), cr.tensor(np.zeros(64, dtype=np.int64))
    with pytest.raises(ValueError, match=r"cross_entropy: expected target \(128,\) for "
                                         r"input \(128, 10\), got \(64,\)"):
        F.cross_entropy(x, t)
    with pytest.raises(ValueError, match=r"nll_loss: expected target \(2, 3\) for input "
                                         r"\(2, 4, 3\), got \(2,\)"):
        F.nll_loss(cr.randn(2, 4, 3), cr.tensor([0, 1]))


def test_cross_entropy_target_out_of_range():
    with pytest.raises(IndexError, match="cross_entropy: target 10 is out of bounds for 10 "
                                         "classes"):
        F.cross_entropy(cr.randn(3, 10), cr.tensor([1, 10, 2]))
    with pytest.raises(IndexError, match="target -3 is out of bounds for 4 classes"):
        F.nll_loss(cr.randn(2, 4), cr.tensor([-3, 0]))
    # the ignored index may be anything, in range or not
    F.cross_entropy(cr.randn(2, 4), cr.tensor([-100, 0]))
    F.cross_entropy(cr.randn(2, 4), cr.tensor([7, 0]), ignore_index=7)


def test_loss_argument_errors():
    x = cr.randn(3, 4)
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 4"):
        F.cross_entropy(x, cr.tensor([0, 1, 2]), weight=cr.ones(3))
    with pytest.raises(RuntimeError, match="integer dtype"):
        F.nll_loss(x, cr.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="class probabilities"):
        F.cross_entropy(x, cr.randn(3, 5))
    with pytest.raises(ValueError, match="'avg' is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, cr.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(x, cr.rand(3, 4))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: Target size "
                                         r"\(\(3, 1\)\) must be the same as input size"):
        F.binary_cross_entropy_with_logits(x, cr.rand(3, 1))
    with pytest.raises(RuntimeError, match=r"mse_loss: target \(5,\) is not broadcastable"):
        F.mse_loss(x, cr.randn(5))
    with pytest.raises(RuntimeError, match="anchor 2D, positive 1D"):
        F.triplet_margin_loss(x, cr.randn(4), x)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, cr.ones(2))
    with pytest.raises(ValueError, match="TripletMarginLoss: expected margin"):
        nn.TripletMarginLoss(margin=0)


def test_mismatched_shapes_warn_like_torch():
    with pytest.warns(UserWarning, match="different to the input size"):
        F.l1_loss(cr.randn(3, 4), cr.randn(4))
