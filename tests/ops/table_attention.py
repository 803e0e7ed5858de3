"""Op table: attention (scaled dot-product, multi-head attention forward, d2l's
masked softmax)."""
import numpy as np

import chainrule.functional as FN
import chainrule.nn.functional as CF
from chainrule.testing.opinfo import OpInfo, Sample, nograd


def _sdpa_samples(rng):
    out = []
    for (b, h, L, S, e, ev) in [(2, 2, 3, 4, 5, 3), (1, 3, 1, 2, 4, 4), (2, 1, 4, 4, 3, 2)]:
        q, k, v = rng.uniform(-1, 1, (b, h, L, e)), rng.uniform(-1, 1, (b, h, S, e)), \
            rng.uniform(-1, 1, (b, h, S, ev))
        out.append(Sample((q, k, v), {}, f"q={q.shape} k={k.shape} v={v.shape}"))
    q, k, v = rng.uniform(-1, 1, (2, 3, 4)), rng.uniform(-1, 1, (2, 5, 4)), \
        rng.uniform(-1, 1, (2, 5, 6))
    out.append(Sample((q, k, v), {"scale": 0.7}, "3-D, scale=0.7"))
    return out


def _masked_sdpa_samples(rng):
    q, k, v = (rng.uniform(-1, 1, (2, 2, 3, 4)), rng.uniform(-1, 1, (2, 2, 5, 4)),
               rng.uniform(-1, 1, (2, 2, 5, 3)))
    keep = rng.random((3, 5)) < 0.6
    keep[:, 0] = True                                         # no fully masked query
    return [Sample((q, k, v, keep), {}, "bool mask (3, 5)"),
            Sample((q, k, v, nograd(rng.uniform(-2, 0, (2, 1, 3, 5)))), {}, "float mask")]


def _causal_samples(rng):
    q, k, v = (rng.uniform(-1, 1, (2, 4, 3)) for _ in range(3))
    return [Sample((q, k, v), {}, "causal (2, 4, 3)")]


def _mha_samples(rng):
    """(L, N, E) = (3, 2, 4), two heads, packed in-projection, output projection."""
    L, N, E = 3, 2, 4
    x = rng.uniform(-1, 1, (L, N, E))
    mem = rng.uniform(-1, 1, (5, N, E))
    w_in, b_in = rng.uniform(-0.5, 0.5, (3 * E, E)), rng.uniform(-0.1, 0.1, (3 * E,))
    w_out, b_out = rng.uniform(-0.5, 0.5, (E, E)), rng.uniform(-0.1, 0.1, (E,))
    pad = np.zeros((N, 5), bool)
    pad[1, 3:] = True
    return [Sample((x, x, x, w_in, b_in, w_out, b_out), {}, "self-attention"),
            Sample((x, mem, mem, w_in, b_in, w_out, b_out), {"key_padding_mask": pad},
                   "cross-attention with key padding")]


def _mha(t_or_none, q, k, v, w_in, b_in, w_out, b_out, key_padding_mask=None):
    f = FN.multi_head_attention_forward if t_or_none is None else \
        t_or_none.nn.functional.multi_head_attention_forward
    return f(q, k, v, 4, 2, w_in, b_in, None, None, False, 0.0, w_out, b_out,
             training=False, key_padding_mask=key_padding_mask, need_weights=True)


def _masked_softmax_samples(rng):
    x = rng.uniform(-2, 2, (2, 3, 4))
    return [Sample((x, nograd(np.array([2.0, 4.0]))), {}, "one length per sequence"),
            Sample((x, nograd(np.array([[1.0, 2, 3], [4, 4, 2]]))), {}, "one per query")]


OPS = [
    OpInfo("scaled_dot_product_attention", CF.scaled_dot_product_attention,
           lambda t, *a, **k: t.nn.functional.scaled_dot_product_attention(*a, **k),
           _sdpa_samples),
    OpInfo("scaled_dot_product_attention_mask",
           lambda q, k, v, m: CF.scaled_dot_product_attention(q, k, v, attn_mask=m),
           lambda t, q, k, v, m: t.nn.functional.scaled_dot_product_attention(
               q, k, v, attn_mask=m), _masked_sdpa_samples),
    OpInfo("scaled_dot_product_attention_causal",
           lambda q, k, v: CF.scaled_dot_product_attention(q, k, v, is_causal=True),
           lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(
               q, k, v, is_causal=True), _causal_samples),
    OpInfo("multi_head_attention_forward", lambda *a, **k: _mha(None, *a, **k),
           lambda t, *a, **k: _mha(t, *a, **k), _mha_samples, gradgrad=False,
           note="second derivatives: composed of ops whose gradgrad the table checks"),
    OpInfo("masked_softmax", FN.masked_softmax, None, _masked_softmax_samples),
]
