"""Attention: scaled dot-product attention, multi-head attention, d2l's masked softmax.

All three are compositions of differentiable ops (matmul, softmax, masked_fill,
dropout), so their gradients of any order come from those ops' backwards.

* ``scaled_dot_product_attention``: ``softmax(q k^T * scale + mask) v`` with torch's
  masks: a boolean ``attn_mask`` marks the pairs that *take part* (False -> -inf),
  a float mask is added, ``is_causal`` keeps ``j <= i``.
* ``multi_head_attention_forward``: torch's functional form of
  ``nn.MultiheadAttention``; here a boolean ``attn_mask`` / ``key_padding_mask``
  marks the pairs that are *masked out* (True -> -inf), as in torch.
* ``masked_softmax``: d2l's softmax over the first ``valid_lens`` keys of each query
  (the rest get ``-1e6`` before the softmax, as in d2l).

>>> import chainrule as cr
>>> q = k = v = cr.eye(2).reshape(1, 2, 2)
>>> scaled_dot_product_attention(q, k, v, is_causal=True)[0, 0].tolist()
[1.0, 0.0]
"""
import math

from chainrule.core import dtype as D
from chainrule.core.creation import ones, zeros
from chainrule.core.tensor import Tensor
from chainrule.functional.activation import softmax
from chainrule.functional.dropout import dropout
from chainrule.functional.join import cat, pad
from chainrule.functional.linalg import linear, matmul
from chainrule.functional.masking import masked_fill
from chainrule.functional.shape import reshape, transpose, tril

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward", "masked_softmax"]

_NEG_INF = float("-inf")


def _check_qkv(query, key, value, op):
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(f"{op}: query, key and value need at least 2 dims (..., L, E), got "
                           f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"{op}: query's last dim {query.shape[-1]} != key's {key.shape[-1]}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{op}: key has {key.shape[-2]} positions but value has "
                           f"{value.shape[-2]}")


def _float_mask(mask, like, take_part, op):
    """An additive float mask: booleans become 0 / -inf (``take_part`` says which
    boolean value keeps a pair), floats are cast to ``like``'s dtype."""
    if mask is None:
        return None
    if mask.dtype == D.bool_:
        keep = mask if take_part else ~mask
        return masked_fill(zeros(tuple(mask.shape), dtype=like.dtype), ~keep, _NEG_INF)
    if not mask.is_floating_point():
        raise RuntimeError(f"{op}: attn_mask must be bool or float, got {mask.dtype}")
    return mask.to(like.dtype)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """``softmax(query @ key^T * scale + mask) @ value`` (torch's signature).

    Shape: query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, Ev)`` ->
    ``(..., L, Ev)``; ``attn_mask`` broadcasts to ``(..., L, S)``.  ``scale``
    defaults to ``1/sqrt(E)``.  Dropout on the weights applies whenever
    ``dropout_p > 0`` (as in torch: pass 0 in eval mode).
    """
    op = "scaled_dot_product_attention"
    _check_qkv(query, key, value, op)
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{op}: pass either attn_mask or is_causal=True, not both")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, dim=-3)
        value = value.repeat_interleave(rep, dim=-3)
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, transpose(key, -2, -1)) * scale
    if is_causal:
        causal = tril(ones(L, S, dtype=D.bool_))
        scores = masked_fill(scores, ~causal, _NEG_INF)
    elif attn_mask is not None:
        if attn_mask.dtype == D.bool_:
            scores = masked_fill(scores, ~attn_mask, _NEG_INF)
        else:
            scores = scores + _float_mask(attn_mask, scores, True, op)
    weights = softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return matmul(weights, value)


def masked_softmax(X, valid_lens=None, value=-1e6):
    """d2l's masked softmax over the last axis of ``X (B, Q, K)``: keys at
    positions ``>= valid_lens`` get ``value`` before the softmax.  ``valid_lens``
    is ``(B,)`` (one length per sequence) or ``(B, Q)`` (one per query)."""
    if valid_lens is None:
        return softmax(X, dim=-1)
    if X.ndim != 3:
        raise RuntimeError(f"masked_softmax: X must be (batch, queries, keys), got "
                           f"{tuple(X.shape)}")
    b, q, k = X.shape
    lens = valid_lens if isinstance(valid_lens, Tensor) else Tensor(valid_lens)
    if tuple(lens.shape) == (b,):
        lens = reshape(lens, (b, 1, 1))
    elif tuple(lens.shape) == (b, q):
        lens = reshape(lens, (b, q, 1))
    else:
        raise RuntimeError(f"masked_softmax: valid_lens must be ({b},) or ({b}, {q}), got "
                           f"{tuple(lens.shape)}")
    pos = Tensor(list(range(k))).reshape(1, 1, k)
    return softmax(masked_fill(X, pos >= lens, value), dim=-1)


# ---------------------------------------------------------------- multi-head attention
def _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate):
    """q, k, v projected: one packed (3E, E) weight, or three separate ones."""
    if separate is not None:
        wq, wk, wv = separate
    else:
        wq, wk, wv = in_proj_weight.chunk(3)
    bq = bk = bv = None
    if in_proj_bias is not None:
        bq, bk, bv = in_proj_bias.chunk(3)
    return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)


def _heads(t, n, num_heads, head_dim):
    """(T, N, E) -> (N * H, T, head_dim)."""
    return transpose(reshape(t, (t.shape[0], n * num_heads, head_dim)), 0, 1)


def _merge_masks(attn_mask, key_padding_mask, n, num_heads, L, S, like, op):
    """One additive float mask (N*H, L, S) or (1, L, S) from attn_mask and
    key_padding_mask (True / -inf = masked out); None when neither is given."""
    mask = _float_mask(attn_mask, like, False, op)
    if mask is not None:
        if mask.ndim == 2:
            if tuple(mask.shape) != (L, S):
                raise RuntimeError(f"{op}: 2-D attn_mask should be {(L, S)}, got "
                                   f"{tuple(mask.shape)}")
            mask = reshape(mask, (1, L, S))
        elif tuple(mask.shape) != (n * num_heads, L, S):
            raise RuntimeError(f"{op}: 3-D attn_mask should be {(n * num_heads, L, S)}, got "
                               f"{tuple(mask.shape)}")
    kpm = _float_mask(key_padding_mask, like, False, op)
    if kpm is not None:
        if tuple(kpm.shape) != (n, S):
            raise RuntimeError(f"{op}: key_padding_mask should be {(n, S)}, got "
                               f"{tuple(kpm.shape)}")
        kpm = reshape(reshape(kpm, (n, 1, 1, S)).expand(n, num_heads, 1, S),
                      (n * num_heads, 1, S))
        mask = kpm if mask is None else mask + kpm
    return mask


def multi_head_attention_forward(
        query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
        bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
        training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
        use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
        v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
        is_causal=False):
    """torch's functional multi-head attention on ``(L, N, E)`` inputs (or
    unbatched ``(L, E)``); returns ``(output, weights)``, weights ``(N, L, S)``
    averaged over heads (``(N, H, L, S)`` without averaging) or None."""
    op = "multi_head_attention_forward"
    if static_k is not None or static_v is not None:
        raise NotImplementedError(f"{op}: static_k/static_v are not supported")
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{op}: need attn_mask if specifying the is_causal hint")
    unbatched = query.ndim == 2
    if unbatched:
        query, key, value = (reshape(t, (t.shape[0], 1, t.shape[1])) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = reshape(key_padding_mask, (1,) + tuple(key_padding_mask.shape))
    L, n, e = query.shape
    if e != embed_dim_to_check:
        raise RuntimeError(f"{op}: expected query of embed_dim {embed_dim_to_check}, got {e}")
    if e % num_heads:
        raise RuntimeError(f"{op}: embed_dim {e} not divisible by num_heads {num_heads}")
    head_dim = e // num_heads
    separate = (q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight \
        else None
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate)
    if bias_k is not None:
        k = cat([k, bias_k.expand(1, n, e)])
        v = cat([v, bias_v.expand(1, n, e)])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    q, k, v = (_heads(t, n, num_heads, head_dim) for t in (q, k, v))
    if add_zero_attn:
        z = zeros(k.shape[0], 1, head_dim, dtype=k.dtype)
        k, v = cat([k, z], dim=1), cat([v, z], dim=1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    S = k.shape[1]
    mask = _merge_masks(attn_mask, key_padding_mask, n, num_heads, L, S, q, op)
    scores = matmul(q * math.sqrt(1.0 / head_dim), transpose(k, -2, -1))
    if mask is not None:
        scores = scores + mask
    weights = softmax(scores, dim=-1)
    if training and dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    out = reshape(transpose(matmul(weights, v), 0, 1), (L * n, e))
    out = reshape(linear(out, out_proj_weight, out_proj_bias), (L, n, e))
    if unbatched:
        out = reshape(out, (L, e))
    if not need_weights:
        return out, None
    weights = reshape(weights, (n, num_heads, L, S))
    if average_attn_weights:
        weights = weights.mean(1)
    if unbatched:
        weights = reshape(weights, tuple(weights.shape[1:]))
    return out, weights
