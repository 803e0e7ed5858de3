"""Mixed precision: chainrule.autocast against torch's CPU autocast, and GradScaler
against torch.amp.GradScaler("cpu") on the same gradients."""
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

F16, F32 = cr.float16, cr.float32


def _pair(*shape, scale=1.0, requires_grad=False, seed=0):
    a = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)
    return (cr.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


# ---------------------------------------------------------------- op classes vs torch
# The ops whose CPU autocast policy torch shares with chainrule (torch's CPU lists: the
# GEMMs to the lower dtype, the losses to float32): same output dtype and values.
def _samples():
    x, tx = _pair(4, 6)
    w, tw = _pair(5, 6, seed=1)
    b, tb = _pair(5, seed=2)
    a3, ta3 = _pair(2, 4, 6, seed=3)
    b3, tb3 = _pair(2, 6, 3, seed=4)
    img, timg = _pair(2, 3, 8, 8, seed=5)
    k, tk = _pair(4, 3, 3, 3, seed=6)
    sig, tsig = _pair(2, 3, 10, seed=7)
    k1, tk1 = _pair(4, 3, 3, seed=8)
    kt, tkt = _pair(3, 2, 3, 3, seed=9)
    m, tm = _pair(6, 3, seed=10)
    c, tc = _pair(4, 3, seed=11)
    tgt = np.array([0, 2, 1, 4])
    y, ty = _pair(4, 5, seed=12)
    return [
        ("linear", lambda: F.linear(x, w, b), lambda: TF.linear(tx, tw, tb)),
        ("matmul", lambda: cr.matmul(x, w.t()), lambda: torch.matmul(tx, tw.t())),
        ("__matmul__", lambda: x @ m, lambda: tx @ tm),
        ("mm", lambda: cr.mm(x, m), lambda: torch.mm(tx, tm)),
        ("bmm", lambda: cr.bmm(a3, b3), lambda: torch.bmm(ta3, tb3)),
        ("addmm", lambda: cr.addmm(c, x, m), lambda: torch.addmm(tc, tx, tm)),
        ("baddbmm", lambda: cr.baddbmm(cr.zeros(2, 4, 3), a3, b3),
         lambda: torch.baddbmm(torch.zeros(2, 4, 3), ta3, tb3)),
        ("conv1d", lambda: F.conv1d(sig, k1), lambda: TF.conv1d(tsig, tk1)),
        ("conv2d", lambda: F.conv2d(img, k, padding=1), lambda: TF.conv2d(timg, tk, padding=1)),
        ("conv_transpose2d", lambda: F.conv_transpose2d(img, kt),
         lambda: TF.conv_transpose2d(timg, tkt)),
        ("cross_entropy", lambda: F.cross_entropy(y, cr.tensor(tgt)),
         lambda: TF.cross_entropy(ty, torch.tensor(tgt))),
        ("nll_loss", lambda: F.nll_loss(y, cr.tensor(tgt)),
         lambda: TF.nll_loss(ty, torch.tensor(tgt))),
        ("mse_loss", lambda: F.mse_loss(F.linear(x, w), y),
         lambda: TF.mse_loss(TF.linear(tx, tw), ty)),
        ("l1_loss", lambda: F.l1_loss(F.linear(x, w), y), lambda: TF.l1_loss(TF.linear(tx, tw), ty)),
        ("bce_with_logits", lambda: F.binary_cross_entropy_with_logits(F.linear(x, w), y.sigmoid()),
         lambda: TF.binary_cross_entropy_with_logits(TF.linear(tx, tw), ty.sigmoid())),
        ("bce", lambda: F.binary_cross_entropy(F.linear(x, w).sigmoid(), y.sigmoid()),
         lambda: TF.binary_cross_entropy(TF.linear(tx, tw).sigmoid(), ty.sigmoid())),
        ("relu(linear)", lambda: F.relu(F.linear(x, w)), lambda: TF.relu(TF.linear(tx, tw))),
        ("linear+float32", lambda: F.linear(x, w) + y, lambda: TF.linear(tx, tw) + ty),
    ]


@pytest.mark.parametrize("i", range(18))
def test_op_dtype_and_value_match_torch_cpu_autocast(i):
    name, ours, theirs = _samples()[i]
    with cr.autocast("cpu", dtype=F16):
        got = ours()
    with torch.autocast("cpu", dtype=torch.float16):
        want = theirs()
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], name
    np.testing.assert_allclose(_np(got).astype(np.float64), _np(want).astype(np.float64),
                               rtol=2e-3, atol=2e-3, err_msg=name)


def test_float32_list_where_torch_cpu_keeps_float16():
    """softmax, log_softmax, layer_norm, exp, log, pow, sum: torch's CUDA float32 list
    (chainrule's policy on both device types, docs/amp.md); mean and relu stay float16."""
    x, _ = _pair(4, 6)
    w, _ = _pair(5, 6, seed=1)
    with cr.autocast("cpu"):
        h = F.linear(x, w)
        assert h.dtype == F16
        for out in (F.softmax(h, -1), F.log_softmax(h, -1), F.layer_norm(h, (5,)), h.exp(),
                    h.abs().log(), h ** 2, h.sum(), cr.cumsum(h, 0), F.cross_entropy(h, cr.tensor([0, 1, 2, 3]))):
            assert out.dtype == F32
        for out in (h.mean(), F.relu(h), h.tanh(), F.gelu(h), h * 2, h.reshape(-1)):
            assert out.dtype == F16
        assert F.batch_norm(h, cr.zeros(5), cr.ones(5), training=True).dtype == F16
        # promote: the widest input dtype
        assert cr.addcmul(h, h, x[:, :5]).dtype == F32
        # float64 is left alone by the lower-precision and float32 lists
        assert F.linear(x.double(), w.double()).dtype == cr.float64
        assert F.softmax(x.double(), -1).dtype == cr.float64


def test_gradients_come_back_in_the_parameters_dtype():
    lin = cr.nn.Linear(6, 5)
    x, _ = _pair(4, 6, requires_grad=True)
    with cr.autocast("cpu"):
        out = lin(x)
        loss = F.cross_entropy(out, cr.tensor([0, 1, 2, 3]))
    assert out.dtype == F16 and loss.dtype == F32
    loss.backward()
    assert lin.weight.grad.dtype == F32 and lin.bias.grad.dtype == F32 and x.grad.dtype == F32
    # against torch's CPU autocast float16 on the same weights
    tl = torch.nn.Linear(6, 5)
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(lin.weight.detach().numpy()))
        tl.bias.copy_(torch.tensor(lin.bias.detach().numpy()))
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    with torch.autocast("cpu", dtype=torch.float16):
        tloss = TF.cross_entropy(tl(tx), torch.tensor([0, 1, 2, 3]))
    tloss.backward()
    assert tl.weight.grad.dtype == torch.float32
    np.testing.assert_allclose(lin.weight.grad.numpy(), tl.weight.grad.numpy(), atol=2e-3)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=2e-3)
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-3)


def test_gradcheck_through_the_casts_float64():
    """The casts autocast inserts are differentiable: float64 gradcheck of a float32
    list op with float16-free inputs (float64 is left alone, the cast chain still runs)."""
    a = cr.randn(3, 4, dtype=cr.float64, requires_grad=True)
    b = cr.randn(3, 4, dtype=cr.float32).double().requires_grad_()
    with cr.autocast("cpu"):
        assert cr.autograd.gradcheck(lambda p, q: cr.addcmul(p, p, q).sum(), (a, b))


def test_nesting_disable_and_decorator():
    x, _ = _pair(2, 3)
    w, _ = _pair(4, 3, seed=1)
    assert not cr.is_autocast_enabled("cpu")

    @cr.autocast("cpu")
    def f():
        return F.linear(x, w)
    assert f().dtype == F16 and not cr.is_autocast_enabled("cpu")
    with cr.autocast("cpu"):
        with cr.autocast("cpu", enabled=False):
            assert not cr.is_autocast_enabled("cpu")
            assert F.linear(x, w).dtype == F32
            with cr.autocast("cpu"):
                assert F.linear(x, w).dtype == F16
        assert cr.is_autocast_enabled("cpu") and cr.get_autocast_dtype("cpu") == F16
        assert F.linear(x, w).dtype == F16
        # an op's arguments already in float16 mix with float32 weights inside a region
        assert F.linear(F.linear(x, w), cr.randn(2, 4)).dtype == F16
    assert not cr.is_autocast_enabled("cpu") and F.linear(x, w).dtype == F32
    with pytest.raises(RuntimeError, match="same dtype"):
        F.linear(x.half(), w)       # outside a region the dtypes must agree, as in torch


def test_backward_inside_region_and_weight_cache():
    lin = cr.nn.Linear(3, 3)
    x = cr.randn(2, 3)
    with cr.autocast("cpu"):
        y = lin(lin(x))           # the float16 weight copy is cast once and reused
        (y.float() ** 2).sum().backward()
        assert lin.weight.grad.dtype == F32
    assert lin.weight.grad.abs().sum().item() > 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="device_type"):
        cr.autocast(0)
    with pytest.raises(RuntimeError, match="unsupported device_type 'mps'"):
        cr.autocast("mps")
    with pytest.warns(UserWarning, match="not supported"):
        ctx = cr.autocast("cpu", dtype=cr.float64)
    with ctx:
        assert not cr.is_autocast_enabled("cpu")
    if not cr.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            cr.autocast("cuda")


def test_deprecated_forms_and_torch_names():
    with pytest.warns(FutureWarning, match="torch.amp.autocast\\('cpu'"):
        ctx = cr.cpu.amp.autocast()
    with ctx:
        assert cr.is_autocast_enabled("cpu") and cr.is_autocast_cpu_enabled()
    from chainrule.cuda.amp import GradScaler, autocast  # noqa: F401
    assert cr.cuda.amp.autocast is autocast and cr.amp.autocast is cr.autocast
    assert cr.amp.is_autocast_available("cpu")


# ---------------------------------------------------------------- GradScaler vs torch
def _run_scaler(lib, grads_seq, clip=None, **kw):
    """SGD on one parameter with the given (possibly inf/nan) gradient multipliers."""
    p0 = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    if lib is torch:
        p = torch.nn.Parameter(torch.tensor(p0))
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
        scaler = torch.amp.GradScaler("cpu", **kw)
        clip_fn = torch.nn.utils.clip_grad_norm_
        T = torch.tensor
    else:
        p = cr.nn.Parameter(cr.tensor(p0))
        opt = cr.optim.SGD([p], lr=0.1, momentum=0.9)
        scaler = cr.amp.GradScaler("cpu", **kw)
        clip_fn = cr.nn.utils.clip_grad_norm_
        T = cr.tensor
    scales, params = [], []
    for g in grads_seq:
        opt.zero_grad()
        loss = (p * T(np.array(g, dtype=np.float32))).sum()
        scaler.scale(loss).backward()
        if clip is not None:
            scaler.unscale_(opt)
            clip_fn([p], clip)
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
        params.append(p.detach().numpy().copy())
    return scales, np.array(params), scaler.state_dict()


GRADS = ([[1.0, 2.0, 3.0]] * 3 + [[np.inf, 1.0, 1.0]] + [[1e-3, -1.0, 2.0]] * 4
         + [[np.nan, 0.0, 0.0], [1e36, 1e36, 1.0]] + [[0.5, 0.5, 0.5]] * 6)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy on the inf/NaN gradients
@pytest.mark.parametrize("clip", [None, 0.5])
def test_grad_scaler_matches_torch(clip):
    kw = dict(init_scale=2.0 ** 16, growth_interval=3)
    ours = _run_scaler(cr, GRADS, clip=clip, **kw)
    theirs = _run_scaler(torch, GRADS, clip=clip, **kw)
    assert ours[0] == theirs[0]                                  # scale trajectory
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6, atol=1e-6)   # parameters
    assert ours[2] == theirs[2]                                  # state_dict


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_grad_scaler_skips_and_backs_off():
    scales, params, _ = _run_scaler(cr, [[1.0, 1.0, 1.0], [np.inf, 0, 0], [np.inf, 0, 0]])
    assert scales == [2.0 ** 16, 2.0 ** 15, 2.0 ** 14]
    np.testing.assert_array_equal(params[1], params[0])   # both overflowing steps skipped
    np.testing.assert_array_equal(params[2], params[0])
    assert not np.array_equal(params[0], [1.0, -2.0, 0.5])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_grad_scaler_api_errors_and_state():
    p = cr.nn.Parameter(cr.ones(2))
    opt = cr.optim.SGD([p], lr=0.1)
    s = cr.amp.GradScaler("cpu", init_scale=8.0, growth_interval=5)
    with pytest.raises(AssertionError, match="scaler.scale"):
        s.unscale_(opt)
    out = s.scale([(p * p).sum(), (p * 2).sum()])
    assert isinstance(out, list) and out[0].item() == 16.0
    out[0].backward()
    s.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="after step"):
        s.unscale_(opt)
    s.update()
    assert s.state_dict() == {"scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                              "growth_interval": 5, "_growth_tracker": 1}
    s2 = cr.amp.GradScaler("cpu")
    s2.load_state_dict(s.state_dict())
    assert s2.get_scale() == 8.0 and s2._get_growth_tracker() == 1
    s.update(new_scale=3.0)
    assert s.get_scale() == 3.0
    off = cr.amp.GradScaler("cpu", enabled=False)
    assert off.scale(p) is p and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(RuntimeError, match="empty"):
        s2.load_state_dict({})
    q = cr.nn.Parameter(cr.ones(2, dtype=F16))
    opt16 = cr.optim.SGD([q], lr=0.1)
    s3 = cr.amp.GradScaler("cpu")
    s3.scale((q.float() * 2).sum()).backward()
    with pytest.raises(ValueError, match="FP16 gradients"):
        s3.step(opt16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not cr.cuda.is_available():
            assert not cr.amp.GradScaler().is_enabled()    # "cuda" default, no GPU: off


# ---------------------------------------------------------------- training
def _train_mlp(amp, steps=20, seed=0, device="cpu"):
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X = cr.tensor(rng.standard_normal((64, 20)).astype(np.float32)).to(device)
    Y = cr.tensor(rng.integers(0, 4, 64)).to(device)
    model = cr.nn.Sequential(cr.nn.Linear(20, 32), cr.nn.ReLU(), cr.nn.Linear(32, 4)).to(device)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    scaler = cr.amp.GradScaler(device, enabled=amp)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        with cr.autocast(device, enabled=amp):
            loss = F.cross_entropy(model(X), Y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    return np.array(losses), model, scaler


def test_float16_mlp_tracks_float32():
    l16, m16, _ = _train_mlp(True)
    l32, m32, _ = _train_mlp(False)
    assert l16[-1] < l16[0] * 0.9
    # measured: max |loss16 - loss32| over 20 steps 4.1e-5, parameters within 5.3e-4
    assert np.max(np.abs(l16 - l32)) < 5e-3, np.max(np.abs(l16 - l32))
    for a, b in zip(m16.parameters(), m32.parameters()):
        assert a.dtype == F32
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=5e-3)


# ---------------------------------------------------------------- Trainer(amp=True)
def _blobs(n=96, seed=0):
    from chainrule.data import TensorDataset
    g = np.random.default_rng(seed)
    y = g.integers(0, 3, n)
    x = np.eye(3, 4, dtype=np.float32)[y] * 2 + 0.5 * g.standard_normal((n, 4)).astype(np.float32)
    return TensorDataset(cr.tensor(x), cr.tensor(y))


def _trainer(amp=True, loss_mult=1.0, clip=None, seed=0):
    from chainrule.data import DataLoader
    from chainrule.train import Trainer
    cr.manual_seed(seed)
    np.random.seed(seed)
    model = cr.nn.Sequential(cr.nn.Linear(4, 16), cr.nn.ReLU(), cr.nn.Linear(16, 3))
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ce = cr.nn.CrossEntropyLoss()
    t = Trainer(model, lambda out, y: ce(out, y) * loss_mult, opt, metrics=("acc",),
                clip_grad_norm=clip, amp=amp, log=lambda line: None)
    return t, DataLoader(_blobs(), batch_size=16, shuffle=True)


def test_trainer_amp_learns_and_resumes_exactly(tmp_path):
    t, loader = _trainer(clip=1.0)
    hist = t.fit(loader, epochs=2)
    assert t.scaler.get_scale() == 2.0 ** 16 and t.skipped_steps == 0
    assert hist[-1]["train_acc"] > 0.8 and t.model[0].weight.dtype == F32
    t.save_checkpoint(tmp_path / "a.ckpt")
    t.scaler.update(new_scale=1024.0)
    t.scaler._growth_tracker = 0
    t.save_checkpoint(tmp_path / "b.ckpt")
    t2, _ = _trainer(clip=1.0)
    t2.resume(tmp_path / "b.ckpt")
    t2.scaler.scale(cr.ones(()))                  # the scale tensor is made lazily
    assert t2.scaler.get_scale() == 1024.0 and t2.scaler._get_growth_tracker() == 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_trainer_amp_overflowing_loss_skips_steps_and_backs_off():
    # loss * 1000 times the scale 2**16 overflows float16 in the backward (the logits'
    # gradients are float16): each such step is skipped and the scale halves until the
    # gradients fit; then steps run.  One batch per epoch, so each fit() is one step.
    from chainrule.data import DataLoader
    t, loader = _trainer(loss_mult=1000.0)
    loader = DataLoader(loader.dataset, batch_size=96)
    w0 = t.model[0].weight.detach().numpy().copy()
    t.fit(loader, epochs=1)
    assert t.skipped_steps == 1 and t.scaler.get_scale() == 2.0 ** 15
    np.testing.assert_array_equal(t.model[0].weight.detach().numpy(), w0)
    epochs = 1
    while t.scaler.get_scale() == 2.0 ** (16 - epochs) and epochs < 16:
        epochs += 1
        t.fit(loader, epochs=epochs)
    k = t.skipped_steps
    assert 2 <= k < epochs and t.scaler.get_scale() == 2.0 ** (16 - k)   # measured: k = 9
    assert not np.array_equal(t.model[0].weight.detach().numpy(), w0)
    assert np.isfinite(t.model[0].weight.detach().numpy()).all()


def test_cli_train_amp_flag():
    import argparse
    from chainrule.cli import train as cli_train
    p = argparse.ArgumentParser()
    cli_train.add_parser(p.add_subparsers())
    assert cli_train.config_from_args(p.parse_args(["train", "mlp", "--amp"])).amp is True
    assert cli_train.config_from_args(p.parse_args(["train", "mlp"])).amp is False


def test_torch_amp_teaching_code_runs_under_torch_compat(tmp_path):
    """The torch AMP recipe, unmodified, with `torch` resolved to chainrule."""
    import os
    import subprocess
    import sys
    import textwrap
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = tmp_path / "amp_script.py"
    script.write_text(textwrap.dedent("""
        import warnings
        import torch, torch.nn as nn
        from torch.cuda.amp import GradScaler as CudaScaler
        from torch.cpu.amp import autocast as cpu_autocast
        import chainrule
        assert torch.autocast is chainrule.autocast and torch.amp.GradScaler is chainrule.amp.GradScaler
        assert torch.cuda.amp.autocast is chainrule.cuda.amp.autocast
        device = "cuda" if torch.cuda.is_available() else "cpu"
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = torch.amp.GradScaler(device)
        x, y = torch.randn(32, 8), torch.randint(0, 2, (32,))
        for _ in range(5):
            opt.zero_grad()
            with torch.autocast(device_type=device, dtype=torch.float16):
                out = model(x)
                assert out.dtype == torch.float16 and torch.is_autocast_enabled(device)
                loss = nn.functional.cross_entropy(out, y)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt)
            scaler.update()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with cpu_autocast():
                assert model(x).dtype == torch.float16
        print("ok", loss.dtype, scaler.get_scale())
        """))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "chainrule.torch_compat", str(script)],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "ok chainrule.float32 65536.0" in r.stdout


# ---------------------------------------------------------------- CUDA (CuPy): tools/gpu_check.sh
cuda = pytest.mark.skipif(not cr.cuda.is_available(), reason="needs CuPy and a CUDA GPU")


@cuda
def test_cuda_autocast_op_classes_and_cpu_tensors_untouched():
    x = cr.randn(4, 6).to("cuda")
    w = cr.randn(5, 6, requires_grad=True).to("cuda")
    cpu_x, cpu_w = cr.randn(4, 6), cr.randn(5, 6)
    with cr.autocast("cuda"):
        h = F.linear(x, w)
        assert h.dtype == F16 and h.device.type == "cuda"
        assert F.softmax(h, -1).dtype == F32 and F.relu(h).dtype == F16
        assert F.conv2d(cr.randn(1, 3, 8, 8).to("cuda"), cr.randn(2, 3, 3, 3).to("cuda")).dtype == F16
        assert F.linear(cpu_x, cpu_w).dtype == F32          # cuda autocast leaves CPU ops alone
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            F.binary_cross_entropy(h.sigmoid(), cr.rand(4, 5).to("cuda"))
        loss = F.cross_entropy(h, cr.tensor([0, 1, 2, 3]).to("cuda"))
    loss.backward()
    assert loss.dtype == F32


@cuda
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_cuda_grad_scaler_and_mlp_float16_tracks_float32():
    l16, _, scaler = _train_mlp(True, device="cuda")
    l32, _, _ = _train_mlp(False, device="cuda")
    assert scaler.get_scale() == 2.0 ** 16
    assert np.max(np.abs(l16 - l32)) < 5e-3, np.max(np.abs(l16 - l32))


def test_lstm_and_attention_autocast_like_torch():
    """The fused recurrent layer autocasts as torch's (cuDNN/mkldnn) RNN does: float16
    out, float32 gradients.  torch's CPU autocast LSTM fails on this CPU (oneDNN has no
    float16 LSTM here), so the values are compared with torch's float32 LSTM."""
    lstm = cr.nn.LSTM(6, 8, batch_first=True)
    tl = torch.nn.LSTM(6, 8, batch_first=True)
    tl.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in lstm.state_dict().items()})
    x, tx = _pair(3, 5, 6)
    with cr.autocast("cpu"):
        out, (h, c) = lstm(x)
    tout, (th, tc) = tl(tx)
    assert out.dtype == F16
    np.testing.assert_allclose(out.numpy(force=True).astype(np.float32),
                               tout.detach().float().numpy(), atol=3e-3)
    out.float().sum().backward()
    assert lstm.weight_hh_l0.grad.dtype == F32
    with cr.autocast("cpu"):      # float16 states carried into the next batch (an LM loop)
        out2, _ = lstm(x, (h.detach(), c.detach()))
    assert out2.dtype == F16
    with pytest.raises(RuntimeError, match="does not match the weight dtype"):
        lstm(x, (h.detach(), c.detach()))      # outside a region the dtypes must agree
    cell = cr.nn.LSTMCell(6, 8)
    with cr.autocast("cpu"):
        hc = cell(x[:, 0].half())
    assert hc[0].dtype == F16
    mha = cr.nn.MultiheadAttention(8, 2, batch_first=True)
    q, _ = _pair(2, 4, 8)
    with cr.autocast("cpu"):
        o, w = mha(q, q, q)
    assert o.dtype == F16 and w.dtype == F32   # GEMMs in float16, softmax in float32


def test_float16_gemm_on_float32_blas_matches_numpys_float16_loop():
    """Both accumulate exact float16 products in float32 and round once; only the float32
    summation order differs (BLAS vs a sequential loop), so a rare element differs by
    one float16 ulp."""
    from chainrule.backend import arrays
    rng = np.random.default_rng(3)
    for sa, sb in (((33, 70), (70, 17)), ((3, 9, 40), (3, 40, 5)), ((4, 30), (30, 6))):
        a = (rng.standard_normal(sa) * 4).astype(np.float16)
        b = (rng.standard_normal(sb) * 4).astype(np.float16)
        want = a @ b                                   # NumPy's float16 loop
        got = arrays.matmul(a, b)
        assert got.dtype == np.float16
        ulps = np.abs(got.view(np.int16).astype(np.int32) - want.view(np.int16).astype(np.int32))
        assert ulps.max() <= 1 and (ulps > 0).mean() < 0.01, (ulps.max(), (ulps > 0).mean())
        out = np.empty_like(want)
        arrays.matmul(a, b, out=out)
        np.testing.assert_array_equal(out, got)
    h = np.arange(65536, dtype=np.uint16).view(np.float16)
    np.testing.assert_array_equal(arrays.half_to_float(h).view(np.uint32),
                                  h.astype(np.float32).view(np.uint32))


def test_compiled_model_guards_on_autocast_state():
    m = cr.nn.Sequential(cr.nn.Linear(8, 16), cr.nn.ReLU(), cr.nn.Linear(16, 3))
    cm = cr.compile(m)
    x = cr.randn(5, 8)
    for amp in (False, True, True, False):
        with cr.autocast("cpu", enabled=amp):
            got, want = cm(x), m(x)
        assert got.dtype == want.dtype == (F16 if amp else F32)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())


def test_weight_cache_respects_grad_mode():
    lin = cr.nn.Linear(3, 2)
    x = cr.randn(4, 3)
    with cr.autocast("cpu"):
        with cr.no_grad():
            lin(x)                       # caches a graph-less float16 weight
        lin(x).float().sum().backward()  # must not reuse it
    assert lin.weight.grad is not None and lin.weight.grad.dtype == F32


def test_docstring_examples():
    import doctest
    import chainrule.amp.autocast_mode as a
    import chainrule.amp.cpu as c
    import chainrule.amp.grad_scaler as g
    for mod in (a, g, c):
        assert doctest.testmod(mod).failed == 0, mod.__name__
