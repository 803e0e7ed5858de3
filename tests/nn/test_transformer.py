"""Attention and the Transformer against torch, with torch's weights loaded by name:
outputs and the gradients of inputs and parameters, float64 to 1e-9 (float32 1e-5)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-9, 1e-9
# torch warns that mixing a bool padding mask with a float attn_mask is deprecated; we test it
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _load_from_torch(ours, theirs):
    """Copy torch's state_dict into ours by name (strict: every name must match)."""
    sd = {k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    if next(theirs.parameters()).dtype == torch.float64:
        ours.double()
    ours.load_state_dict(sd, strict=True)
    return ours


def _pair(rng, *shape):
    a = rng.standard_normal(shape)
    return cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _close(a, b, rtol=RTOL, atol=ATOL, what="output"):
    b = b.detach().numpy() if hasattr(b, "detach") else b
    np.testing.assert_allclose(a.detach().numpy() if hasattr(a, "detach") else np.asarray(a), b,
                               rtol=rtol, atol=atol, err_msg=what)


def _check(ours, theirs, c_in, t_in, c_kw=None, t_kw=None, pick=lambda o: o):
    """Forward both; backprop a random projection; compare inputs' and params' grads."""
    c_out = pick(ours(*c_in, **(c_kw or {})))
    t_out = pick(theirs(*t_in, **(t_kw or {})))
    _close(c_out, t_out)
    w = np.random.default_rng(1).standard_normal(tuple(t_out.shape))
    (c_out * cr.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    for i, (c, t) in enumerate(zip(c_in, t_in)):
        if getattr(t, "requires_grad", False):
            _close(c.grad, t.grad, what=f"grad of input {i}")
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, tp[name].grad, what=f"grad of {name}")


# ---------------------------------------------------------------- scaled dot product
@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sdpa_matches_torch(mask, dtype):
    rng = np.random.default_rng(0)
    tol = 1e-9 if dtype == "float64" else 1e-5
    qa, ka, va = (rng.standard_normal(s).astype(dtype) for s in
                  [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)])
    if mask == "causal":
        ka, va = ka[:, :, :4], va[:, :, :4]
    cq, ck, cv = (cr.tensor(a, requires_grad=True) for a in (qa, ka, va))
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (qa, ka, va))
    kw_c, kw_t = {}, {}
    if mask == "bool":
        m = rng.random((4, 5)) < 0.7
        m[:, 0] = True                                  # no fully masked row
        kw_c["attn_mask"], kw_t["attn_mask"] = cr.tensor(m), torch.tensor(m)
    elif mask == "float":
        m = rng.standard_normal((2, 1, 4, 5)).astype(dtype)
        kw_c["attn_mask"], kw_t["attn_mask"] = cr.tensor(m), torch.tensor(m)
    elif mask == "causal":
        kw_c["is_causal"] = kw_t["is_causal"] = True
    c = F.scaled_dot_product_attention(cq, ck, cv, scale=0.3, **kw_c)
    t = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, scale=0.3, **kw_t)
    _close(c, t, tol, tol)
    w = rng.standard_normal(tuple(t.shape)).astype(dtype)
    (c * cr.tensor(w)).sum().backward()
    (t * torch.tensor(w)).sum().backward()
    for a, b in ((cq, tq), (ck, tk), (cv, tv)):
        _close(a.grad, b.grad, tol, tol, "grad")


def test_sdpa_gradcheck():
    rng = np.random.default_rng(2)
    q, k, v = (cr.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True) for _ in range(3))
    m = cr.tensor(np.tril(np.ones((3, 3), bool)))
    assert cr.autograd.gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=m), (q, k, v))
    assert cr.autograd.gradgradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v), (q, k, v))


def test_sdpa_errors_name_the_op():
    q = cr.randn(2, 4, 8)
    with pytest.raises(RuntimeError, match="scaled_dot_product_attention.*last dim"):
        F.scaled_dot_product_attention(q, cr.randn(2, 4, 7), cr.randn(2, 4, 8))
    with pytest.raises(RuntimeError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=cr.ones(4, 4), is_causal=True)


def test_masked_softmax_is_d2ls():
    x = cr.tensor(np.random.default_rng(3).random((2, 2, 4)))
    out = cr.functional.masked_softmax(x, cr.tensor([2, 3]))
    assert np.allclose(out.numpy()[0, :, 2:], 0) and np.allclose(out.numpy()[1, :, 3:], 0)
    assert np.allclose(out.numpy().sum(-1), 1)
    per_query = cr.functional.masked_softmax(x, cr.tensor([[1, 3], [2, 4]]))
    assert np.allclose(per_query.numpy()[0, 0, 1:], 0) and np.allclose(per_query.numpy()[1, 1], 
                                                                         x.softmax(-1).numpy()[1, 1])


# ---------------------------------------------------------------- MultiheadAttention
MHA_CASES = {
    "plain": dict(),
    "batch_first": dict(batch_first=True),
    "kdim_vdim": dict(kdim=5, vdim=3),
    "bias_kv_zero_attn": dict(add_bias_kv=True, add_zero_attn=True),
    "no_bias": dict(bias=False),
}


@pytest.mark.parametrize("case", sorted(MHA_CASES))
@pytest.mark.parametrize("masks", ["none", "bool", "float+padding"])
@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention_matches_torch(case, masks, average):
    kw = MHA_CASES[case]
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(8, 2, **kw).double()
    ours = _load_from_torch(nn.MultiheadAttention(8, 2, **kw), theirs)
    rng = np.random.default_rng(4)
    L, S, N = 4, 5, 3
    qs = (N, L, 8) if kw.get("batch_first") else (L, N, 8)
    ks = (N, S, kw.get("kdim", 8)) if kw.get("batch_first") else (S, N, kw.get("kdim", 8))
    vs = ks[:-1] + (kw.get("vdim", 8),)
    (cq, tq), (ck, tk), (cv, tv) = _pair(rng, *qs), _pair(rng, *ks), _pair(rng, *vs)
    c_kw, t_kw = dict(average_attn_weights=average), dict(average_attn_weights=average)
    if masks == "bool":
        m = rng.random((L, S)) < 0.3
        m[:, 0] = False
        c_kw["attn_mask"], t_kw["attn_mask"] = cr.tensor(m), torch.tensor(m)
    elif masks == "float+padding":
        m = rng.standard_normal((N * 2, L, S))
        pad = np.zeros((N, S), bool)
        pad[1, 3:] = True
        c_kw.update(attn_mask=cr.tensor(m), key_padding_mask=cr.tensor(pad))
        t_kw.update(attn_mask=torch.tensor(m), key_padding_mask=torch.tensor(pad))
    c_out, c_w = ours(cq, ck, cv, **c_kw)
    t_out, t_w = theirs(tq, tk, tv, **t_kw)
    _close(c_w, t_w, what="attention weights")
    _check(ours, theirs, (cq, ck, cv), (tq, tk, tv), c_kw, t_kw, pick=lambda o: o[0])


def test_multihead_attention_unbatched_and_no_weights():
    torch.manual_seed(1)
    theirs = torch.nn.MultiheadAttention(6, 3).double()
    ours = _load_from_torch(nn.MultiheadAttention(6, 3), theirs)
    rng = np.random.default_rng(5)
    (cx, tx) = _pair(rng, 4, 6)
    c_out, c_w = ours(cx, cx, cx, need_weights=False)
    t_out, _ = theirs(tx, tx, tx, need_weights=False)
    assert c_w is None
    _close(c_out, t_out)


def test_multihead_attention_errors():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(8, 2)
    with pytest.raises(RuntimeError, match=r"MultiheadAttention\(embed_dim=8\).*\(5, 2, 7\)"):
        m(cr.randn(5, 2, 7), cr.randn(5, 2, 7), cr.randn(5, 2, 7))
    with pytest.raises(RuntimeError, match="2-D attn_mask should be"):
        x = cr.randn(5, 2, 8)
        m(x, x, x, attn_mask=cr.zeros(4, 4))


# ---------------------------------------------------------------- Transformer layers
def _masks(L, N, rng):
    causal = np.triu(np.full((L, L), -np.inf), 1)
    pad = np.zeros((N, L), bool)
    pad[0, L - 1:] = True
    return causal, pad


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch(norm_first, batch_first, activation):
    torch.manual_seed(2)
    kw = dict(dim_feedforward=16, dropout=0.0, activation=activation,
              batch_first=batch_first, norm_first=norm_first)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, **kw).double()
    ours = _load_from_torch(nn.TransformerEncoderLayer(8, 2, **kw), theirs)
    rng = np.random.default_rng(6)
    L, N = 5, 3
    cx, tx = _pair(rng, *((N, L, 8) if batch_first else (L, N, 8)))
    causal, pad = _masks(L, N, rng)
    _check(ours, theirs, (cx,), (tx,),
           dict(src_mask=cr.tensor(causal), src_key_padding_mask=cr.tensor(pad)),
           dict(src_mask=torch.tensor(causal), src_key_padding_mask=torch.tensor(pad)))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_matches_torch(norm_first, batch_first):
    torch.manual_seed(3)
    kw = dict(dim_feedforward=16, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    theirs = torch.nn.TransformerDecoderLayer(8, 2, **kw).double()
    ours = _load_from_torch(nn.TransformerDecoderLayer(8, 2, **kw), theirs)
    rng = np.random.default_rng(7)
    T, S, N = 4, 6, 2
    cy, ty = _pair(rng, *((N, T, 8) if batch_first else (T, N, 8)))
    cm, tm = _pair(rng, *((N, S, 8) if batch_first else (S, N, 8)))
    causal, tpad = _masks(T, N, rng)
    mpad = np.zeros((N, S), bool)
    mpad[1, 4:] = True
    c_kw = dict(tgt_mask=cr.tensor(causal), tgt_key_padding_mask=cr.tensor(tpad),
                memory_key_padding_mask=cr.tensor(mpad))
    t_kw = dict(tgt_mask=torch.tensor(causal), tgt_key_padding_mask=torch.tensor(tpad),
                memory_key_padding_mask=torch.tensor(mpad))
    _check(ours, theirs, (cy, cm), (ty, tm), c_kw, t_kw)


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch_and_loads_its_weights(batch_first):
    torch.manual_seed(4)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=16, dropout=0.0, batch_first=batch_first)
    theirs = torch.nn.Transformer(**kw).double()
    ours = _load_from_torch(nn.Transformer(**kw), theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(8)
    S, T, N = 6, 4, 2
    cs, ts = _pair(rng, *((N, S, 8) if batch_first else (S, N, 8)))
    ct, tt = _pair(rng, *((N, T, 8) if batch_first else (T, N, 8)))
    mask = nn.Transformer.generate_square_subsequent_mask(T)
    np.testing.assert_array_equal(
        mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(T).numpy())
    _check(ours, theirs, (cs, ct), (ts, tt), dict(tgt_mask=mask.double()),
           dict(tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(T).double()))


def test_transformer_float32_matches_torch():
    torch.manual_seed(5)
    kw = dict(d_model=16, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
              dim_feedforward=32, dropout=0.0)
    theirs = torch.nn.Transformer(**kw)
    ours = _load_from_torch(nn.Transformer(**kw), theirs)
    rng = np.random.default_rng(9)
    s, t = rng.standard_normal((7, 2, 16)).astype("f4"), rng.standard_normal((5, 2, 16)).astype("f4")
    _close(ours(cr.tensor(s), cr.tensor(t)), theirs(torch.tensor(s), torch.tensor(t)),
           1e-5, 1e-5)


def test_parameter_names_and_init_follow_torch():
    m, t = nn.MultiheadAttention(8, 2), torch.nn.MultiheadAttention(8, 2)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    assert np.all(m.in_proj_bias.detach().numpy() == 0) and np.all(m.out_proj.bias.detach().numpy() == 0)
    bound = np.sqrt(6 / (8 + 24))                                 # xavier on (3E, E)
    assert np.abs(m.in_proj_weight.detach().numpy()).max() <= bound
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    tl = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    assert list(layer.state_dict()) == list(tl.state_dict())
