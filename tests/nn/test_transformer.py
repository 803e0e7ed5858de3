"""MultiheadAttention and the Transformer family against torch.nn (the oracle): the same
weights (torch's state_dict names) give the same outputs and gradients."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn

torch = pytest.importorskip("torch")


def _copy(ours, theirs):
    sd = {k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(sd)
    ours.eval()
    theirs.eval()
    return ours, theirs


def _close(a, b, tol=1e-10):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention(batch_first):
    torch.manual_seed(0)
    kw = dict(embed_dim=8, num_heads=2, batch_first=batch_first)
    ours, theirs = _copy(nn.MultiheadAttention(**kw, dtype=cr.float64),
                         torch.nn.MultiheadAttention(**kw, dtype=torch.float64))
    rng = np.random.default_rng(0)
    shape_q, shape_k = ((3, 5, 8), (3, 6, 8)) if batch_first else ((5, 3, 8), (6, 3, 8))
    q, k = rng.normal(size=shape_q), rng.normal(size=shape_k)
    mask = np.triu(np.full((5, 6), True), 2)
    pad = np.zeros((3, 6), bool)
    pad[1, -2:] = True
    cases = [{}, {"attn_mask": mask}, {"key_padding_mask": pad},
             {"attn_mask": np.where(mask, -1.5, 0.0), "average_attn_weights": False}]
    for case in cases:
        oc = {n: cr.tensor(v) if isinstance(v, np.ndarray) else v for n, v in case.items()}
        tc = {n: torch.tensor(v) if isinstance(v, np.ndarray) else v for n, v in case.items()}
        qo, ko = cr.tensor(q, requires_grad=True), cr.tensor(k)
        qt, kt = torch.tensor(q, requires_grad=True), torch.tensor(k)
        (o, wo), (t, wt) = ours(qo, ko, ko, **oc), theirs(qt, kt, kt, **tc)
        _close(o, t)
        _close(wo, wt)
        o.sum().backward()
        t.sum().backward()
        _close(qo.grad, qt.grad)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(norm_first):
    torch.manual_seed(1)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
              dim_feedforward=16, norm_first=norm_first)
    ours, theirs = _copy(nn.Transformer(**kw, dtype=cr.float64),
                         torch.nn.Transformer(**kw, dtype=torch.float64))
    rng = np.random.default_rng(1)
    src, tgt = rng.normal(size=(5, 2, 8)), rng.normal(size=(4, 2, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=cr.float64)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    _close(mask, tmask)
    o = ours(cr.tensor(src), cr.tensor(tgt), tgt_mask=mask)
    t = theirs(torch.tensor(src), torch.tensor(tgt), tgt_mask=tmask)
    _close(o, t, 1e-9)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())


def test_encoder_with_float_mask_and_training_mode():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1)
    enc = nn.TransformerEncoder(layer, 2)
    mask = cr.log(cr.tril(cr.ones(5, 5)))  # word_language_model's causal mask
    y = enc(cr.randn(5, 3, 8), mask=mask)
    y.sum().backward()
    assert y.shape == (5, 3, 8) and enc.layers[0].self_attn.in_proj_weight.grad is not None
