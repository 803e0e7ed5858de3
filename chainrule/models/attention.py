"""d2l's attention building blocks (chapter "Attention Mechanisms and Transformers").

torch has no modules for these; the names and arguments are d2l's, so its code
carries over.  Each scoring module keeps the weights of its last call in
``attention_weights`` (for :func:`chainrule.train.plots.save_heatmaps`).

* ``nadaraya_watson``: attention pooling ``f(q) = sum_i softmax(-((q - k_i) w)^2 / 2) v_i``
  (w = 1: the nonparametric estimator; ``NWKernelRegression`` learns w).
* ``DotProductAttention``: ``softmax(Q K^T / sqrt(d)) V`` over the first ``valid_lens``
  keys (d2l's masked softmax), with dropout on the weights.
* ``AdditiveAttention``: Bahdanau's ``w_v^T tanh(W_q q + W_k k)`` scores.
* ``MultiHeadAttention``: d2l's multi-head attention (``num_hiddens``, ``num_heads``,
  ``valid_lens``), on top of ``DotProductAttention``.
* ``PositionalEncoding``: ``P[t, 2i] = sin(t / 10000^(2i/d))``,
  ``P[t, 2i+1] = cos(t / 10000^(2i/d))`` added to ``(batch, steps, d)`` inputs.

>>> import chainrule as cr
>>> att = DotProductAttention(dropout=0.0)
>>> att(cr.ones(2, 1, 2), cr.ones(2, 10, 2), cr.ones(2, 10, 4), cr.tensor([2, 6])).shape
chainrule.Size([2, 1, 4])
"""
import math

import numpy as np

from chainrule.core.creation import tensor
from chainrule.core.tensor import from_array
from chainrule.functional.activation import softmax
from chainrule.functional.attention import masked_softmax
from chainrule.functional.elementwise import tanh
from chainrule.functional.linalg import bmm
from chainrule.functional.shape import reshape, transpose
from chainrule.nn import Dropout, LazyLinear, Module, Parameter

__all__ = ["nadaraya_watson", "NWKernelRegression", "DotProductAttention",
           "AdditiveAttention", "MultiHeadAttention", "PositionalEncoding"]


def nadaraya_watson(queries, keys, values, w=None):
    """Gaussian-kernel attention pooling of ``values`` (n,) at ``queries`` (m,);
    returns ``(predictions (m,), weights (m, n))``."""
    diff = reshape(queries, (-1, 1)) - reshape(keys, (1, -1))
    if w is not None:
        diff = diff * w
    weights = softmax(-(diff * diff) / 2, dim=1)
    return weights @ values, weights


class NWKernelRegression(Module):
    """Parametric Nadaraya-Watson regression: the kernel width ``w`` is learned."""

    def __init__(self):
        super().__init__()
        self.w = Parameter(from_array(np.random.default_rng().random(1).astype(np.float32)))
        self.attention_weights = None

    def forward(self, queries, keys, values):
        out, self.attention_weights = nadaraya_watson(queries, keys, values, self.w)
        return out


class DotProductAttention(Module):
    """Scaled dot-product attention with d2l's ``valid_lens`` masking."""

    def __init__(self, dropout):
        super().__init__()
        self.dropout = Dropout(dropout)
        self.attention_weights = None

    def forward(self, queries, keys, values, valid_lens=None):
        d = queries.shape[-1]
        scores = bmm(queries, transpose(keys, 1, 2)) / math.sqrt(d)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return bmm(self.dropout(self.attention_weights), values)


class AdditiveAttention(Module):
    """Bahdanau attention: ``w_v^T tanh(W_q q + W_k k)`` (input sizes inferred)."""

    def __init__(self, num_hiddens, dropout):
        super().__init__()
        self.W_k = LazyLinear(num_hiddens, bias=False)
        self.W_q = LazyLinear(num_hiddens, bias=False)
        self.w_v = LazyLinear(1, bias=False)
        self.dropout = Dropout(dropout)
        self.attention_weights = None

    def forward(self, queries, keys, values, valid_lens=None):
        q, k = self.W_q(queries), self.W_k(keys)
        # (b, q, 1, h) + (b, 1, k, h): every query against every key
        features = tanh(q.unsqueeze(2) + k.unsqueeze(1))
        scores = self.w_v(features).squeeze(-1)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return bmm(self.dropout(self.attention_weights), values)


class MultiHeadAttention(Module):
    """d2l's multi-head attention: ``num_heads`` parallel ``DotProductAttention``
    heads of ``num_hiddens / num_heads`` features, concatenated and projected."""

    def __init__(self, num_hiddens, num_heads, dropout, bias=False):
        super().__init__()
        if num_hiddens % num_heads:
            raise ValueError(f"MultiHeadAttention: num_hiddens ({num_hiddens}) must be a "
                             f"multiple of num_heads ({num_heads})")
        self.num_heads = num_heads
        self.attention = DotProductAttention(dropout)
        self.W_q = LazyLinear(num_hiddens, bias=bias)
        self.W_k = LazyLinear(num_hiddens, bias=bias)
        self.W_v = LazyLinear(num_hiddens, bias=bias)
        self.W_o = LazyLinear(num_hiddens, bias=bias)

    def transpose_qkv(self, X):
        """(b, n, h) -> (b * heads, n, h / heads)."""
        X = reshape(X, (X.shape[0], X.shape[1], self.num_heads, -1))
        X = X.permute(0, 2, 1, 3)
        return reshape(X, (-1, X.shape[2], X.shape[3]))

    def transpose_output(self, X):
        """Inverse of :meth:`transpose_qkv`."""
        X = reshape(X, (-1, self.num_heads, X.shape[1], X.shape[2]))
        X = X.permute(0, 2, 1, 3)
        return reshape(X, (X.shape[0], X.shape[1], -1))

    def forward(self, queries, keys, values, valid_lens=None):
        q = self.transpose_qkv(self.W_q(queries))
        k = self.transpose_qkv(self.W_k(keys))
        v = self.transpose_qkv(self.W_v(values))
        if valid_lens is not None:  # one copy of the lengths per head
            lens = valid_lens if hasattr(valid_lens, "shape") else tensor(valid_lens)
            valid_lens = lens.repeat_interleave(self.num_heads, dim=0)
        out = self.attention(q, k, v, valid_lens)
        return self.W_o(self.transpose_output(out))

    @property
    def attention_weights(self):
        return self.attention.attention_weights


class PositionalEncoding(Module):
    """Sinusoidal positional encoding added to ``(batch, steps, num_hiddens)``
    inputs, then dropout (d2l; Vaswani et al. 2017, section 3.5)."""

    def __init__(self, num_hiddens, dropout, max_len=1000):
        super().__init__()
        self.dropout = Dropout(dropout)
        pos = np.arange(max_len, dtype=np.float32).reshape(-1, 1)
        div = np.power(10000, np.arange(0, num_hiddens, 2, dtype=np.float32) / num_hiddens)
        P = np.zeros((1, max_len, num_hiddens), np.float32)
        P[:, :, 0::2] = np.sin(pos / div)
        P[:, :, 1::2] = np.cos(pos / div)[:, :num_hiddens // 2]
        self.register_buffer("P", from_array(P), persistent=False)

    def forward(self, X):
        if X.shape[1] > self.P.shape[1]:
            raise RuntimeError(f"PositionalEncoding: {X.shape[1]} steps exceed max_len "
                               f"{self.P.shape[1]}")
        return self.dropout(X + self.P[:, :X.shape[1], :].to(X.dtype))

