"""Attention: ``scaled_dot_product_attention``, composed of matmul, softmax and dropout
(so it needs no backward of its own).

>>> import chainrule as cr
>>> q = cr.randn(2, 4, 8)
>>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
(2, 4, 8)
"""
import math

from chainrule.core.creation import ones
from chainrule.core.dtype import bool_ as D_BOOL
from chainrule.functional.activation import softmax
from chainrule.functional.dropout import dropout
from chainrule.functional.linalg import matmul
from chainrule.functional.masking import masked_fill
from chainrule.functional.shape import tril

__all__ = ["scaled_dot_product_attention"]


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """``softmax(q @ k^T * scale + mask) @ v`` over (..., L, E) queries and (..., S, E)
    keys; a bool ``attn_mask`` keeps the True places, a float one is added;
    ``is_causal`` masks the upper triangle."""
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: query {tuple(query.shape)}, key "
                           f"{tuple(key.shape)} and value {tuple(value.shape)} do not fit")
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    L, S = query.shape[-2], key.shape[-2]
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        attn_mask = tril(ones(L, S, dtype=D_BOOL))
    if attn_mask is not None:
        if attn_mask.dtype == D_BOOL:
            scores = masked_fill(scores, ~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value)
