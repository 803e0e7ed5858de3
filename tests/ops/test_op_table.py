"""Generic tests driven by the op table (every ``table_*.py`` in this folder).

For each OpInfo and each of its samples:
* forward and input gradients match torch in float64 (when torch is installed
  and the op has a torch reference);
* with float32 inputs the output dtype matches torch's;
* float64 gradcheck passes, and gradgradcheck for primitives;
* layout axis: forward and gradients (via backward into the leaves) match torch
  again with each differentiable input a non-contiguous view of the same
  values (transposed, strided, channels_last, broadcast), and gradcheck passes
  on the transposed layout;
* device axis: where CuPy sees a GPU, 'cuda' gives the CPU's results.
A row skips an axis only through ``OpInfo.skip_layouts``, with its reason.
"""
import importlib.util
import pathlib
import zlib

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend as B
from chainrule.core.tensor import from_array
from chainrule.testing import gradcheck, gradgradcheck
from chainrule.testing.layouts import LAYOUTS, make_layout
from chainrule.testing.opinfo import nograd

try:
    import torch
except ImportError:  # torch is the oracle, not a dependency
    torch = None


def _load_tables():
    ops = []
    here = pathlib.Path(__file__).parent
    for path in sorted(here.glob("table_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        ops.extend(mod.OPS)
    return ops


OPS = _load_tables()
_names = [o.name for o in OPS]
assert len(set(_names)) == len(_names), "duplicate op names in the op table"


def _samples(info):
    rng = np.random.default_rng(zlib.crc32(info.name.encode()))
    return info.samples(rng)


def _to_cr(arg, dtype=np.float64, grad=True):
    if isinstance(arg, np.generic):
        arg = np.asarray(arg)
    if isinstance(arg, nograd):
        a = arg.array.astype(dtype) if arg.array.dtype.kind == "f" else arg.array
        return cr.tensor(a)
    if isinstance(arg, np.ndarray):
        if arg.dtype.kind == "f":
            return cr.tensor(arg.astype(dtype), requires_grad=grad)
        return cr.tensor(arg)
    if isinstance(arg, (list, tuple)) and arg and all(isinstance(a, np.ndarray) for a in arg):
        return type(arg)(_to_cr(a, dtype, grad) for a in arg)
    return arg


def _to_torch(arg, dtype=None, grad=True):
    dtype = dtype or torch.float64
    if isinstance(arg, np.generic):
        arg = np.asarray(arg)
    if isinstance(arg, nograd):
        t = torch.from_numpy(arg.array.copy())
        return t.to(dtype) if t.is_floating_point() else t
    if isinstance(arg, np.ndarray):
        t = torch.from_numpy(arg.copy())
        if t.is_floating_point():
            return t.to(dtype).requires_grad_(grad)
        return t
    if isinstance(arg, (list, tuple)) and arg and all(isinstance(a, np.ndarray) for a in arg):
        return type(arg)(_to_torch(a, dtype, grad) for a in arg)
    return arg


def _flat_tensors(args, cls):
    out = []
    for a in args:
        if isinstance(a, cls):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(x for x in a if isinstance(x, cls))
    return out


def _outputs(info, res):
    if info.outputs is not None:
        res = info.outputs(res)
    if isinstance(res, (tuple, list)):
        return list(res)
    return [res]


def _cases(kind):
    cases = []
    for info in OPS:
        if kind == "torch" and info.ref is None:
            continue
        if kind in ("grad", "gradgrad") and not info.grad:
            continue
        if kind == "gradgrad" and not info.gradgrad:
            continue
        for k, s in enumerate(_samples(info)):
            cases.append(pytest.param(info, k, id=f"{info.name}-{k}"))
    return cases


def _sample(info, k):
    return _samples(info)[k]


def _compare_with_torch(info, s, cargs, targs, ckw, tkw, layout=None):
    """Outputs and input gradients of ``info.op`` on ``cargs`` match torch's on
    ``targs``.  With a ``layout`` (the inputs are views in that layout) the
    gradients come from ``backward()`` into the leaves' ``.grad``."""
    where = s.desc if layout is None else f"{s.desc}, {layout} inputs"
    cout = _outputs(info, info.op(*cargs, **ckw))
    tout = _outputs(info, info.ref(torch, *targs, **tkw))
    assert len(cout) == len(tout), f"{info.name}: {len(cout)} outputs vs torch {len(tout)}"
    for c, t in zip(cout, tout):
        tn = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        cn = c.detach().numpy() if isinstance(c, cr.Tensor) else np.asarray(c)
        assert cn.shape == tn.shape, f"{info.name} [{where}]: shape {cn.shape} vs torch {tn.shape}"
        np.testing.assert_allclose(cn, tn, atol=info.atol, rtol=info.rtol,
                                   err_msg=f"{info.name} forward [{where}]")
    if not (info.grad and info.ref_grad):
        return
    cdiff = [c for c in cout if isinstance(c, cr.Tensor) and c.requires_grad]
    tdiff = [t for t in tout if isinstance(t, torch.Tensor) and t.requires_grad]
    if not cdiff:
        return
    assert len(cdiff) == len(tdiff)
    rng = np.random.default_rng(7)
    ws = [rng.standard_normal(c.shape) for c in cdiff]
    cin = [t for t in _flat_tensors(cargs, cr.Tensor) if t.requires_grad]
    tin = [t for t in _flat_tensors(targs, torch.Tensor) if t.requires_grad]
    if layout is not None:
        cr.autograd.backward(cdiff, [cr.tensor(w) for w in ws])
        cg = [t.grad for t in cin]
    else:
        cg = cr.autograd.grad(cdiff, cin, [cr.tensor(w) for w in ws], allow_unused=True)
    tg = torch.autograd.grad(tdiff, tin, [torch.from_numpy(w) for w in ws], allow_unused=True)
    for i, (a, b) in enumerate(zip(cg, tg)):
        if b is None:
            assert a is None or not np.any(a.numpy()), f"{info.name}: torch has no grad for input {i}"
            continue
        assert a is not None, f"{info.name} [{where}]: no gradient for input {i}"
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=info.atol * 10, rtol=info.rtol * 10,
                                   err_msg=f"{info.name} grad of input {i} [{where}]")


@pytest.mark.skipif(torch is None, reason="torch (the test oracle) is not installed")
@pytest.mark.parametrize("info,k", _cases("torch"))
def test_matches_torch(info, k):
    s = _sample(info, k)
    cargs = [_to_cr(a) for a in s.args]
    targs = [_to_torch(a) for a in s.args]
    ckw = {key: _to_cr(v, grad=False) for key, v in s.kwargs.items()}
    tkw = {key: _to_torch(v, grad=False) for key, v in s.kwargs.items()}
    _compare_with_torch(info, s, cargs, targs, ckw, tkw)


@pytest.mark.skipif(torch is None, reason="torch (the test oracle) is not installed")
@pytest.mark.parametrize("info,k", _cases("torch"))
def test_float32_dtype_matches_torch(info, k):
    if not info.dtype_check:
        return
    s = _sample(info, k)
    cargs = [_to_cr(a, np.float32, grad=False) for a in s.args]
    targs = [_to_torch(a, torch.float32, grad=False) for a in s.args]
    ckw = {key: _to_cr(v, np.float32, grad=False) for key, v in s.kwargs.items()}
    tkw = {key: _to_torch(v, torch.float32, grad=False) for key, v in s.kwargs.items()}
    cout = _outputs(info, info.op(*cargs, **ckw))
    tout = _outputs(info, info.ref(torch, *targs, **tkw))
    for c, t in zip(cout, tout):
        if isinstance(t, torch.Tensor):
            assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], \
                f"{info.name} [{s.desc}]: dtype {c.dtype} vs torch {t.dtype}"
            np.testing.assert_allclose(c.numpy().astype(np.float64),
                                       t.numpy().astype(np.float64), atol=1e-4, rtol=1e-3)


def _diff_inputs(cargs):
    return [t for t in _flat_tensors(cargs, cr.Tensor) if t.requires_grad]


def _wrapped(info, s, to_cr=_to_cr):
    """A function of the differentiable tensors only (for gradcheck)."""
    cargs = [to_cr(a) for a in s.args]
    ckw = {key: _to_cr(v, grad=False) for key, v in s.kwargs.items()}
    diff = _diff_inputs(cargs)

    def rebuild(new):
        it = iter(new)
        out = []
        for a in cargs:
            if isinstance(a, cr.Tensor) and a.requires_grad:
                out.append(next(it))
            elif isinstance(a, (list, tuple)) and any(isinstance(x, cr.Tensor) and x.requires_grad
                                                      for x in a):
                out.append(type(a)(next(it) if isinstance(x, cr.Tensor) and x.requires_grad
                                   else x for x in a))
            else:
                out.append(a)
        return out

    def fn(*new):
        res = _outputs(info, info.op(*rebuild(new), **ckw))
        return tuple(r for r in res if isinstance(r, cr.Tensor))
    return fn, diff


@pytest.mark.parametrize("info,k", _cases("grad"))
def test_gradcheck(info, k):
    fn, diff = _wrapped(info, _sample(info, k))
    if not diff:
        pytest.skip("sample has no differentiable input")
    if not any(o.requires_grad for o in fn(*diff)):
        pytest.skip("output does not require grad for this sample")
    assert gradcheck(fn, tuple(diff), eps=info.gc_eps, atol=info.gc_atol, rtol=info.gc_rtol)


@pytest.mark.parametrize("info,k", _cases("gradgrad"))
def test_gradgradcheck(info, k):
    fn, diff = _wrapped(info, _sample(info, k))
    if not diff:
        pytest.skip("sample has no differentiable input")
    if not any(o.requires_grad for o in fn(*diff)):
        pytest.skip("output does not require grad for this sample")
    assert gradgradcheck(fn, tuple(diff), eps=info.gc_eps, atol=info.gc_atol,
                         rtol=info.gc_rtol)


def test_table_size():
    """The issue's bar: at least 100 differentiable ops in the table."""
    assert sum(1 for o in OPS if o.grad) >= 100, sum(1 for o in OPS if o.grad)


@pytest.mark.skipif(torch is None, reason="torch (the test oracle) is not installed")
@pytest.mark.parametrize("info,k", _cases("gradgrad"))
def test_double_backward_matches_torch(info, k):
    """Second derivatives (grad of a weighted sum of the first gradients, built
    with create_graph) match torch's; gradgradcheck alone only checks that the
    higher-order path agrees with finite differences of itself."""
    if info.ref is None or not info.ref_grad:
        pytest.skip("no torch reference for this op")
    s = _sample(info, k)
    cargs = [_to_cr(a) for a in s.args]
    targs = [_to_torch(a) for a in s.args]
    ckw = {key: _to_cr(v, grad=False) for key, v in s.kwargs.items()}
    tkw = {key: _to_torch(v, grad=False) for key, v in s.kwargs.items()}
    cout = [c for c in _outputs(info, info.op(*cargs, **ckw))
            if isinstance(c, cr.Tensor) and c.requires_grad]
    tout = [t for t in _outputs(info, info.ref(torch, *targs, **tkw))
            if isinstance(t, torch.Tensor) and t.requires_grad]
    cin = [t for t in _flat_tensors(cargs, cr.Tensor) if t.requires_grad]
    tin = [t for t in _flat_tensors(targs, torch.Tensor) if t.requires_grad]
    if not cout or not tout or not cin:
        pytest.skip("nothing differentiable in this sample")
    rng = np.random.default_rng(11)
    ws = [rng.standard_normal(c.shape) for c in cout]
    cg = cr.autograd.grad(cout, cin, [cr.tensor(w) for w in ws], create_graph=True,
                          allow_unused=True)
    tg = torch.autograd.grad(tout, tin, [torch.from_numpy(w) for w in ws], create_graph=True,
                             allow_unused=True)
    pairs = [(a, b, rng.standard_normal(tuple(b.shape))) for a, b in zip(cg, tg)
             if b is not None and b.requires_grad and a is not None and a.requires_grad]
    if not pairs:
        pytest.skip("first derivative is constant")
    csum = sum((a * cr.tensor(v)).sum() for a, _, v in pairs)
    tsum = sum((b * torch.from_numpy(v)).sum() for _, b, v in pairs)
    c2 = cr.autograd.grad(csum, cin, allow_unused=True)
    try:
        t2 = torch.autograd.grad(tsum, tin, allow_unused=True)
    except RuntimeError as e:
        if "not implemented" in str(e):
            pytest.skip(f"torch has no double backward here: {e}")
        raise
    for i, (a, b) in enumerate(zip(c2, t2)):
        if b is None:
            assert a is None or not np.any(a.numpy()), \
                f"{info.name}: torch has no second derivative for input {i}"
            continue
        assert a is not None, f"{info.name} [{s.desc}]: no second derivative for input {i}"
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(force=True), atol=info.atol * 100,
                                   rtol=info.rtol * 100,
                                   err_msg=f"{info.name} second derivative of input {i} "
                                           f"[{s.desc}]")


# ------------------------------------------------------------------ layout axis
# Chainer's ``contiguous`` axis: every row and sample again, each differentiable
# input replaced by a non-contiguous view holding the same values.  The view is
# the leaf itself (``from_array``), so the op sees the strides and the
# gradient has to reach ``.grad`` of that view.


def _layout_cases(kind):
    cases = []
    for info in OPS:
        if kind == "torch" and info.ref is None:
            continue
        if kind == "grad" and not info.grad:
            continue
        layouts = ("transposed",) if kind == "grad" else LAYOUTS
        for k, _ in enumerate(_samples(info)):
            cases.extend(pytest.param(info, k, lay, id=f"{info.name}-{k}-{lay}")
                         for lay in layouts)
    return cases


def _layout_pair(arg, layout, applied, skipped):
    """``(chainrule arg, torch arg)``: each differentiable float array becomes a
    leaf wrapping its ``layout`` view; torch gets the same values, contiguous."""
    tt = _to_torch if torch is not None else (lambda a: None)
    if isinstance(arg, np.ndarray) and arg.dtype.kind == "f":
        view, why = make_layout(arg.astype(np.float64), layout)
        if view is None:
            skipped.append(why)
            return _to_cr(arg), tt(arg)
        applied.append(arg.shape)
        return from_array(view, requires_grad=True), tt(view)
    if isinstance(arg, (list, tuple)) and arg and all(isinstance(a, np.ndarray) for a in arg):
        pairs = [_layout_pair(a, layout, applied, skipped) for a in arg]
        return type(arg)(p[0] for p in pairs), type(arg)(p[1] for p in pairs)
    return _to_cr(arg), tt(arg)


def _layout_args(info, s, layout):
    """Chainrule args with views in ``layout`` and torch args with the same
    values; skips (with the reason) when the row opts out or no input fits."""
    why = info.layout_skip(layout)
    if why:
        pytest.skip(f"{info.name} opts out of the {layout} layout: {why}")
    applied, skipped = [], []
    pairs = [_layout_pair(a, layout, applied, skipped) for a in s.args]
    if not applied:
        pytest.skip("; ".join(skipped) or "no differentiable float input")

    def to_cr(arg):
        return _layout_pair(arg, layout, [], [])[0]
    label = layout + (f" (other inputs contiguous: {'; '.join(skipped)})" if skipped else "")
    return [p[0] for p in pairs], [p[1] for p in pairs], to_cr, label


@pytest.mark.skipif(torch is None, reason="torch (the test oracle) is not installed")
@pytest.mark.parametrize("info,k,layout", _layout_cases("torch"))
def test_layouts_match_torch(info, k, layout):
    s = _sample(info, k)
    cargs, targs, _, label = _layout_args(info, s, layout)
    ckw = {key: _to_cr(v, grad=False) for key, v in s.kwargs.items()}
    tkw = {key: _to_torch(v, grad=False) for key, v in s.kwargs.items()}
    _compare_with_torch(info, s, cargs, targs, ckw, tkw, layout=label)


@pytest.mark.parametrize("info,k,layout", _layout_cases("grad"))
def test_layouts_gradcheck(info, k, layout):
    s = _sample(info, k)
    _, _, to_cr, _ = _layout_args(info, s, layout)
    fn, diff = _wrapped(info, s, to_cr)
    if not diff:
        pytest.skip("sample has no differentiable input")
    if not any(o.requires_grad for o in fn(*diff)):
        pytest.skip("output does not require grad for this sample")
    assert gradcheck(fn, tuple(diff), eps=info.gc_eps, atol=info.gc_atol, rtol=info.gc_rtol)


# ------------------------------------------------------------------ device axis
# Where CuPy sees a GPU, every row and sample runs on 'cuda' (contiguous and in
# each layout) and must give the CPU's outputs and gradients.

_NO_CUDA = ("no CUDA device (CuPy missing or sees no GPU): CPU CI runs the layout "
            "axis only")


def _on_device(arg, device, layout, grad=True):
    """A sample argument as leaves on ``device``, float inputs in ``layout``."""
    if isinstance(arg, np.generic):
        arg = np.asarray(arg)
    if isinstance(arg, nograd):
        return from_array(B.to_device(_to_cr(arg).array, device))
    if isinstance(arg, np.ndarray):
        a = B.to_device(_to_cr(arg, grad=False).array, device)
        diff = grad and a.dtype.kind == "f"
        view = make_layout(a, layout)[0] if diff and layout else None
        return from_array(a if view is None else view, requires_grad=diff)
    if isinstance(arg, (list, tuple)) and arg and all(isinstance(a, np.ndarray) for a in arg):
        return type(arg)(_on_device(a, device, layout, grad) for a in arg)
    return arg


def _device_run(info, s, device, layout=None):
    """Outputs and (via backward) input gradients of one sample, as NumPy arrays."""
    cargs = [_on_device(a, device, layout) for a in s.args]
    ckw = {key: _on_device(v, device, None, grad=False) for key, v in s.kwargs.items()}
    outs = _outputs(info, info.op(*cargs, **ckw))
    got = [B.asnumpy(o.array) if isinstance(o, cr.Tensor) else np.asarray(o) for o in outs]
    diff = [o for o in outs if isinstance(o, cr.Tensor) and o.requires_grad]
    if info.grad and diff:
        rng = np.random.default_rng(7)
        cr.autograd.backward(diff, [from_array(B.to_device(rng.standard_normal(o.shape)
                                                           .astype(o.array.dtype), device))
                                    for o in diff])
        got += [None if t.grad is None else B.asnumpy(t.grad.array)
                for t in _flat_tensors(cargs, cr.Tensor) if t.requires_grad]
    return got


def _device_matches_cpu(info, s, device):
    """Every layout the row runs: ``device`` agrees with the CPU."""
    for layout in (None,) + LAYOUTS:
        if layout and info.layout_skip(layout):
            continue
        want = _device_run(info, s, "cpu", layout)
        got = _device_run(info, s, device, layout)
        assert len(got) == len(want), f"{info.name}: {len(got)} results vs {len(want)} on CPU"
        for i, (g, w) in enumerate(zip(got, want)):
            what = f"{info.name} result {i} [{s.desc}, {layout or 'contiguous'}] on {device}"
            assert (g is None) == (w is None), f"{what}: gradient present on one device only"
            if w is not None:
                assert g.shape == w.shape and g.dtype == w.dtype, \
                    f"{what}: {g.shape} {g.dtype} vs CPU {w.shape} {w.dtype}"
                np.testing.assert_allclose(g, w, atol=info.atol * 10, rtol=info.rtol * 10,
                                           err_msg=what)


def _device_cases():
    """Every row and sample where a GPU is seen, else one skipped placeholder."""
    if not B.cuda_available():
        return [pytest.param(None, None, id="no-cuda", marks=pytest.mark.skip(reason=_NO_CUDA))]
    return [pytest.param(info, k, id=f"{info.name}-{k}")
            for info in OPS for k, _ in enumerate(_samples(info))]


@pytest.mark.parametrize("info,k", _device_cases())
def test_cuda_matches_cpu(info, k):
    why = info.layout_skip("cuda")
    if why:
        pytest.skip(f"{info.name} opts out of the cuda axis: {why}")
    _device_matches_cpu(info, _sample(info, k), "cuda")
