"""Recurrent layers: RNN/GRU/LSTM (+ cells, projections, peepholes, packed
sequences) against torch with copied weights, and the fused layers against the
composed cell-by-cell graph."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as TU

import chainrule as cr
import chainrule.nn as nn
from chainrule.functional.rnn import recurrent_layer
from chainrule.functional.rnn_cells import composed_layer
from chainrule.nn.utils import rnn as U
from chainrule.testing import gradcheck, gradgradcheck

F64 = dict(rtol=1e-9, atol=1e-10)


def _pair(kind, *args, **kw):
    """A torch module and a chainrule one (float64) with the same weights."""
    t = getattr(torch.nn, kind)(*args, **kw).double()
    m = getattr(nn, kind)(*args, **kw).double()
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return m, t


def _leaves(arr):
    return cr.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def _as_tuple(s):
    return s if isinstance(s, tuple) else (s,)


def _close(a, b, tol=F64, msg=""):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    np.testing.assert_allclose(a, b, err_msg=msg, **tol)


def _run_both(m, t, x, hx=None, tol=F64):
    """Forward both, backward a random weighting of every output, compare all."""
    xc, xt = _leaves(x)
    if hx is None:
        hc = ht = None
        states = []
    else:
        states = [_leaves(h) for h in hx]
        hc = tuple(s[0] for s in states) if len(hx) == 2 else states[0][0]
        ht = tuple(s[1] for s in states) if len(hx) == 2 else states[0][1]
    yc, sc = m(xc, hc)
    yt, st = t(xt, ht)
    outs = [(yc, yt)] + list(zip(_as_tuple(sc), _as_tuple(st)))
    rng = np.random.default_rng(1)
    lc = lt = 0
    for k, (a, b) in enumerate(outs):
        _close(a, b, tol, f"output {k}")
        w = rng.standard_normal(tuple(b.shape))
        lc = lc + (a * cr.tensor(w)).sum()
        lt = lt + (b * torch.tensor(w)).sum()
    lc.backward()
    lt.backward()
    _close(xc.grad, xt.grad, tol, "input grad")
    for k, (a, b) in enumerate(states):
        _close(a.grad, b.grad, tol, f"state {k} grad")
    pt = dict(t.named_parameters())
    names = [n for n, _ in m.named_parameters()]
    assert names == list(pt)
    for n, p in m.named_parameters():
        _close(p.grad, pt[n].grad, tol, n)


# ---------------------------------------------------------------- vs torch
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_two_layer_bidirectional_matches_torch(kind, batch_first):
    m, t = _pair(kind, 3, 5, num_layers=2, bidirectional=True, batch_first=batch_first)
    x = np.random.randn(*((4, 6, 3) if batch_first else (6, 4, 3)))
    hx = [np.random.randn(4, 4, 5)] * (2 if kind == "LSTM" else 1)
    hx = [h + k for k, h in enumerate(hx)]
    _run_both(m, t, x, hx)
    _run_both(m, t, x)  # zero initial states


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_200_step_sequence_matches_torch(kind):
    m, t = _pair(kind, 4, 8, num_layers=2)
    _run_both(m, t, np.random.randn(200, 3, 4), tol=dict(rtol=1e-8, atol=1e-10))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_elman_rnn_matches_torch(nonlinearity):
    m, t = _pair("RNN", 3, 6, num_layers=2, nonlinearity=nonlinearity, bidirectional=True)
    _run_both(m, t, np.random.randn(7, 2, 3) * 0.5, [np.random.randn(4, 2, 6) * 0.5])


def test_rnn_without_bias_matches_torch():
    for kind in ("RNN", "GRU", "LSTM"):
        m, t = _pair(kind, 3, 4, bias=False)
        assert "bias_ih_l0" not in dict(m.named_parameters())
        _run_both(m, t, np.random.randn(5, 2, 3))


def test_lstm_proj_size_matches_torch():
    m, t = _pair("LSTM", 3, 6, num_layers=2, bidirectional=True, proj_size=4)
    assert tuple(m.weight_hr_l1_reverse.shape) == (4, 6)
    assert tuple(m.weight_hh_l0.shape) == (24, 4) and tuple(m.weight_ih_l1.shape) == (24, 8)
    _run_both(m, t, np.random.randn(5, 2, 3), [np.random.randn(4, 2, 4), np.random.randn(4, 2, 6)])


def test_unbatched_input_matches_torch():
    m, t = _pair("LSTM", 3, 5, num_layers=2)
    _run_both(m, t, np.random.randn(6, 3), [np.random.randn(2, 5), np.random.randn(2, 5)])
    m, t = _pair("GRU", 3, 5, bidirectional=True)
    _run_both(m, t, np.random.randn(6, 3), [np.random.randn(2, 5)])


def test_float32_state_dict_from_torch_gives_identical_outputs():
    t = torch.nn.LSTM(8, 16, num_layers=2)
    m = nn.LSTM(8, 16, num_layers=2)
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = np.random.randn(12, 3, 8).astype(np.float32)
    y, (h, c) = m(cr.tensor(x))
    yt, (ht, ct) = t(torch.tensor(x))
    tol = dict(rtol=1e-5, atol=1e-6)
    _close(y, yt, tol)
    _close(h, ht, tol)
    _close(c, ct, tol)
    assert y.dtype == cr.float32


# ---------------------------------------------------------------- cells
@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(kind, batched):
    kw = {"nonlinearity": "relu"} if kind == "RNNCell" else {}
    m, t = _pair(kind, 3, 5, **kw)
    assert repr(m) == repr(t)
    shape = (4, 3) if batched else (3,)
    hshape = (4, 5) if batched else (5,)
    x = np.random.randn(*shape)
    n_states = 2 if kind == "LSTMCell" else 1
    hx = [np.random.randn(*hshape) for _ in range(n_states)]
    xc, xt = _leaves(x)
    hs = [_leaves(h) for h in hx]
    hc = tuple(h[0] for h in hs) if n_states == 2 else hs[0][0]
    ht = tuple(h[1] for h in hs) if n_states == 2 else hs[0][1]
    oc, ot = _as_tuple(m(xc, hc)), _as_tuple(t(xt, ht))
    lc = sum((a * (k + 1)).sum() for k, a in enumerate(oc))
    lt = sum((b * (k + 1)).sum() for k, b in enumerate(ot))
    for a, b in zip(oc, ot):
        _close(a, b)
    lc.backward()
    lt.backward()
    _close(xc.grad, xt.grad)
    for a, b in hs:
        _close(a.grad, b.grad)
    pt = dict(t.named_parameters())
    for n, p in m.named_parameters():
        _close(p.grad, pt[n].grad, msg=n)
    assert tuple(_as_tuple(m(xc))[0].shape) == hshape  # default zero state


# ---------------------------------------------------------------- fused vs composed
def _layer_inputs(mode, T=6, N=4, I=3, H=5, P=None, peephole=False, bias=True):
    rng = np.random.default_rng(3)
    g = {"LSTM": 4, "GRU": 3}.get(mode, 1) * H
    P = P or H

    def leaf(*shape):
        return cr.tensor(rng.standard_normal(shape) * 0.5, requires_grad=True)
    w = {"w_ih": leaf(g, I), "w_hh": leaf(g, P)}
    if bias:
        w["b_ih"], w["b_hh"] = leaf(g), leaf(g)
    if P != H:
        w["w_hr"] = leaf(P, H)
    if peephole:
        w["peephole"] = (leaf(H), leaf(H), leaf(H))
    hx = (leaf(N, P), leaf(N, H)) if mode == "LSTM" else (leaf(N, P),)
    return leaf(T, N, I), hx, w


def _flat(x, hx, w):
    out = [x, *hx]
    for v in w.values():
        out.extend(v if isinstance(v, tuple) else (v,))
    return out


@pytest.mark.parametrize("mode,opts", [
    ("LSTM", {}), ("LSTM", {"P": 3}), ("LSTM", {"peephole": True}), ("LSTM", {"bias": False}),
    ("GRU", {}), ("GRU", {"bias": False}), ("RNN_TANH", {}), ("RNN_RELU", {})])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("packed", [False, True])
def test_fused_layer_matches_composed(mode, opts, reverse, packed):
    x, hx, w = _layer_inputs(mode, **opts)
    bs = [4, 4, 3, 3, 2, 1] if packed else None
    leaves = _flat(x, hx, w)
    results = []
    for fused in (True, False):
        for p in leaves:
            p.grad = None
        outs = recurrent_layer(mode, x, hx, w, reverse=reverse, batch_sizes=bs, fused=fused)
        ws = [cr.tensor(np.random.default_rng(k).standard_normal(o.shape))
              for k, o in enumerate(outs)]
        sum((o * v).sum() for o, v in zip(outs, ws)).backward()
        results.append(([o.detach().numpy() for o in outs], [p.grad.numpy() for p in leaves]))
    (of, gf), (oc, gc) = results
    for a, b in zip(of, oc):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for k, (a, b) in enumerate(zip(gf, gc)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"grad {k}")


def test_fused_layer_double_backward():
    x, hx, w = _layer_inputs("LSTM", T=3, N=2, I=2, H=2)
    params = _flat(x, hx, w)

    def f(*p):
        wd = {"w_ih": p[3], "w_hh": p[4], "b_ih": p[5], "b_hh": p[6]}
        return recurrent_layer("LSTM", p[0], (p[1], p[2]), wd)
    assert gradgradcheck(f, params)
    x, hx, w = _layer_inputs("GRU", T=3, N=2, I=2, H=2)
    assert gradgradcheck(lambda x, h: recurrent_layer("GRU", x, (h,), w), (x, hx[0]))


# ---------------------------------------------------------------- peephole
def test_peephole_lstm_gradcheck():
    m = nn.PeepholeLSTM(2, 3, num_layers=2, bidirectional=True).double()
    names = [n for n, _ in m.named_parameters()]
    assert names[:7] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                         "weight_ci_l0", "weight_cf_l0", "weight_co_l0"]
    assert tuple(m.weight_co_l1_reverse.shape) == (3,)
    params = list(m.parameters())
    x = cr.randn(4, 2, 2, dtype=cr.float64, requires_grad=True)
    h0 = cr.randn(4, 2, 3, dtype=cr.float64, requires_grad=True)
    c0 = cr.randn(4, 2, 3, dtype=cr.float64, requires_grad=True)

    def f(x, h0, c0, *ps):
        y, (h, c) = m(x, (h0, c0))
        return y, h, c
    assert gradcheck(f, (x, h0, c0, *params))


def test_peephole_lstm_matches_composed_cell_reference():
    m = nn.PeepholeLSTM(3, 4).double()
    cell = nn.PeepholeLSTMCell(3, 4).double()
    cell.load_state_dict({k[:-3]: v for k, v in m.state_dict().items()})
    x = np.random.randn(5, 2, 3)
    y, (h, c) = m(cr.tensor(x))
    hc = None
    for t in range(5):  # written out by hand from the equations
        hc = cell(cr.tensor(x[t]), hc)
        _close(y[t], hc[0])
    _close(h[0], hc[0])
    _close(c[0], hc[1])
    w = {k: v.detach().numpy() for k, v in cell.state_dict().items()}
    hp, cp = np.zeros((2, 4)), np.zeros((2, 4))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for t in range(5):
        z = x[t] @ w["weight_ih"].T + w["bias_ih"] + hp @ w["weight_hh"].T + w["bias_hh"]
        i, f, g, o = np.split(z, 4, axis=1)
        i, f = sig(i + w["weight_ci"] * cp), sig(f + w["weight_cf"] * cp)
        cp = f * cp + i * np.tanh(g)
        hp = sig(o + w["weight_co"] * cp) * np.tanh(cp)
    _close(h[0], hp)
    _close(c[0], cp)


# ---------------------------------------------------------------- packed sequences
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_packed_sequence_matches_torch_and_per_sequence_runs(kind):
    m, t = _pair(kind, 3, 5, num_layers=2, bidirectional=True)
    lens = [4, 7, 2, 5]
    x = np.random.randn(7, 4, 3)
    xc, xt = _leaves(x)
    pc = U.pack_padded_sequence(xc, lens, enforce_sorted=False)
    pt = TU.pack_padded_sequence(xt, lens, enforce_sorted=False)
    _close(pc.data, pt.data)
    assert pc.batch_sizes.tolist() == pt.batch_sizes.tolist()
    assert pc.sorted_indices.tolist() == pt.sorted_indices.tolist()
    yc, sc = m(pc)
    yt, st = t(pt)
    _close(yc.data, yt.data)
    for a, b in zip(_as_tuple(sc), _as_tuple(st)):
        _close(a, b)
    padc, lc = U.pad_packed_sequence(yc, batch_first=True)
    padt, lt = TU.pad_packed_sequence(yt, batch_first=True)
    _close(padc, padt)
    assert lc.tolist() == lt.tolist() == lens
    w = np.random.randn(*padt.shape)
    ((padc * cr.tensor(w)).sum() + sum(s.sum() for s in _as_tuple(sc))).backward()
    ((padt * torch.tensor(w)).sum() + sum(s.sum() for s in _as_tuple(st))).backward()
    _close(xc.grad, xt.grad)
    pt_ = dict(t.named_parameters())
    for n, p in m.named_parameters():
        _close(p.grad, pt_[n].grad, msg=n)
    with cr.no_grad():  # each sequence alone gives the same outputs and final states
        for b, n in enumerate(lens):
            y1, s1 = m(cr.tensor(x[:n, b:b + 1]))
            _close(y1[:, 0], padc[b, :n])
            for a, s in zip(_as_tuple(s1), _as_tuple(sc)):
                _close(a[:, 0], s[:, b])


def test_pad_and_pack_utilities_match_torch():
    seqs = [np.random.randn(n, 2) for n in (3, 5, 1)]
    sc, st = [cr.tensor(s) for s in seqs], [torch.tensor(s) for s in seqs]
    for kw in ({}, {"batch_first": True, "padding_value": -1.0}, {"padding_side": "left"}):
        _close(U.pad_sequence(sc, **kw), TU.pad_sequence(st, **kw), msg=str(kw))
    pc, pt = U.pack_sequence(sc, enforce_sorted=False), TU.pack_sequence(st, enforce_sorted=False)
    _close(pc.data, pt.data)
    assert pc.unsorted_indices.tolist() == pt.unsorted_indices.tolist()
    for a, b in zip(U.unpack_sequence(pc), seqs):
        _close(a, b)
    padded, lengths = U.pad_packed_sequence(pc, total_length=7)
    assert tuple(padded.shape) == (7, 3, 2) and lengths.tolist() == [3, 5, 1]
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        U.pack_sequence(sc)
    with pytest.raises(ValueError, match="total_length"):
        U.pad_packed_sequence(pc, total_length=2)


def test_pack_padded_is_differentiable():
    x = cr.tensor(np.random.randn(4, 3, 2), requires_grad=True)
    p = U.pack_padded_sequence(x, [4, 2, 1])
    (p.data * 2).sum().backward()
    mask = (np.arange(4)[:, None] < np.array([4, 2, 1])[None, :]).astype(float)
    np.testing.assert_array_equal(x.grad.numpy(), 2 * mask[:, :, None].repeat(2, 2))


# ---------------------------------------------------------------- dropout, repr, init, errors
def test_dropout_only_between_layers_and_only_in_training():
    m = nn.LSTM(3, 4, num_layers=2, dropout=1.0).double()
    x = cr.tensor(np.random.randn(5, 2, 3))
    y_train, (h, _) = m(x)
    ref = nn.LSTM(4, 4).double()  # layer 2 alone on an all-zero input
    ref.load_state_dict({k.replace("l1", "l0"): v for k, v in m.state_dict().items()
                         if k.endswith("l1")})
    y_ref, _ = ref(cr.zeros(5, 2, 4, dtype=cr.float64))
    _close(y_train, y_ref)
    assert np.abs(h[0].detach().numpy()).min() > 0  # the last layer's output is not dropped
    m.eval()
    y_eval, _ = m(x)
    m2 = nn.LSTM(3, 4, num_layers=2).double()
    m2.load_state_dict(m.state_dict())
    _close(y_eval, m2(x)[0])
    m.train()
    m.dropout = 0.5
    a, b = m(x)[0].detach().numpy(), m(x)[0].detach().numpy()
    assert not np.allclose(a, b)
    with pytest.warns(UserWarning, match="dropout"):
        nn.GRU(3, 4, dropout=0.2)


def test_repr_matches_torch():
    cases = [("LSTM", (3, 4), {}), ("LSTM", (3, 4), {"proj_size": 2, "num_layers": 2}),
             ("GRU", (3, 4), {"bias": False, "batch_first": True, "bidirectional": True}),
             ("RNN", (3, 4), {"nonlinearity": "relu", "dropout": 0.5, "num_layers": 3}),
             ("RNNCell", (3, 4), {"nonlinearity": "relu", "bias": False}),
             ("LSTMCell", (3, 4), {}), ("GRUCell", (3, 4), {})]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, args, kw in cases:
            assert repr(getattr(nn, kind)(*args, **kw)) == \
                repr(getattr(torch.nn, kind)(*args, **kw))
    assert repr(nn.PeepholeLSTM(3, 4, num_layers=2)) == "PeepholeLSTM(3, 4, num_layers=2)"


def test_parameter_names_shapes_and_init_match_torch():
    for kind, kw in (("LSTM", {"proj_size": 3}), ("GRU", {}), ("RNN", {})):
        m = getattr(nn, kind)(5, 8, num_layers=2, bidirectional=True, **kw)
        t = getattr(torch.nn, kind)(5, 8, num_layers=2, bidirectional=True, **kw)
        assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in t.named_parameters()]
        bound = 1 / np.sqrt(8)
        for p in m.parameters():
            assert np.abs(p.detach().numpy()).max() <= bound
    big = nn.LSTM(10, 100).weight_ih_l0.detach().numpy()
    np.testing.assert_allclose(big.std(), 0.1 / np.sqrt(3), rtol=0.05)


def test_error_messages():
    with pytest.raises(RuntimeError) as e:
        nn.LSTM(3, 4)(cr.zeros(5, 2, 4))
    assert str(e.value) == "LSTM: expected input of size 3 in the last dim, got (5, 2, 4)"
    with pytest.raises(RuntimeError, match=r"GRU: expected input to be 2-D \(unbatched\) or 3-D"):
        nn.GRU(3, 4)(cr.zeros(1, 5, 2, 3))
    with pytest.raises(RuntimeError, match=r"LSTM: expected h_0 of shape \(2, 2, 4\), got"):
        nn.LSTM(3, 4, num_layers=2)(cr.zeros(5, 2, 3), (cr.zeros(2, 3, 4), cr.zeros(2, 2, 4)))
    with pytest.raises(RuntimeError, match="expected hx to be a tuple"):
        nn.LSTM(3, 4)(cr.zeros(5, 2, 3), cr.zeros(1, 2, 4))
    with pytest.raises(RuntimeError, match="for batched 3-D input, h_0 should also be 3-D"):
        nn.GRU(3, 4)(cr.zeros(5, 2, 3), cr.zeros(2, 4))
    with pytest.raises(RuntimeError, match="dtype"):
        nn.RNN(3, 4)(cr.zeros(5, 2, 3, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="LSTMCell: expected input of size 3 in the last dim"):
        nn.LSTMCell(3, 4)(cr.zeros(2, 5))
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)
    with pytest.raises(ValueError, match="dropout should be a number"):
        nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")


def test_composed_module_path_and_no_grad():
    m = nn.GRU(3, 4, num_layers=2, bidirectional=True).double()
    x = cr.tensor(np.random.randn(5, 2, 3))
    y1, h1 = m(x)
    m.fused = False
    y2, h2 = m(x)
    _close(y1, y2)
    _close(h1, h2)
    with cr.no_grad():
        y3, _ = nn.LSTM(3, 4)(x.float())
    assert not y3.requires_grad and tuple(y3.shape) == (5, 2, 4)
    y, _ = composed_layer("RNN_TANH", x, (cr.zeros(2, 4, dtype=cr.float64),),
                          {"w_ih": m.weight_ih_l0[:4], "w_hh": m.weight_hh_l0[:4, :4]})
    assert tuple(y.shape) == (5, 2, 4)


def test_docstring_examples_run():
    import doctest
    from chainrule.nn.modules import rnn as m_rnn, rnn_cells as m_cells
    for mod in (m_rnn, m_cells, U):
        assert doctest.testmod(mod).failed == 0, mod.__name__


def test_packed_with_initial_states_matches_torch():
    m, t = _pair("LSTM", 3, 4, bidirectional=True)
    x = np.random.randn(5, 3, 3)
    h0, c0 = np.random.randn(2, 3, 4), np.random.randn(2, 3, 4)
    (hc, ht), (cc, ct) = _leaves(h0), _leaves(c0)
    yc, (hnc, cnc) = m(U.pack_padded_sequence(cr.tensor(x), [2, 5, 3], enforce_sorted=False),
                       (hc, cc))
    yt, (hnt, cnt) = t(TU.pack_padded_sequence(torch.tensor(x), [2, 5, 3], enforce_sorted=False),
                       (ht, ct))
    _close(yc.data, yt.data)
    _close(hnc, hnt)
    _close(cnc, cnt)
    (yc.data.sum() + hnc.sum() * 2 + cnc.sum() * 3).backward()
    (yt.data.sum() + hnt.sum() * 2 + cnt.sum() * 3).backward()
    _close(hc.grad, ht.grad)
    _close(cc.grad, ct.grad)


def test_frozen_weights_and_input_without_grad():
    m, t = _pair("GRU", 3, 4, num_layers=2)
    m.weight_ih_l0.requires_grad_(False)
    t.weight_ih_l0.requires_grad_(False)
    x = np.random.randn(6, 2, 3)
    yc, _ = m(cr.tensor(x))
    yt, _ = t(torch.tensor(x))
    yc.sum().backward()
    yt.sum().backward()
    assert m.weight_ih_l0.grad is None
    pt = dict(t.named_parameters())
    for n, p in m.named_parameters():
        if p.requires_grad:
            _close(p.grad, pt[n].grad, msg=n)
