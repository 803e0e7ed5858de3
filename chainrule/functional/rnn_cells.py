"""Recurrent cells composed from differentiable ops, and the cell-by-cell
layer loop built on them.

These need no backward of their own (the engine differentiates them, to any
order), so they are the test oracle of the fused layers in
``chainrule.functional.rnn`` and the path those fall back to for double
backward.  Gate orders follow PyTorch: LSTM ``i, f, g, o``; GRU ``r, z, n``.
"""
from chainrule.core.creation import zeros
from chainrule.functional.autocast import autocast_op
from chainrule.functional.elementwise import sigmoid, tanh, relu
from chainrule.functional.join import cat, stack, split
from chainrule.functional.linalg import linear

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell", "composed_layer"]


def _gates(input, hx, w_ih, w_hh, b_ih, b_hh):
    return linear(input, w_ih, b_ih) + linear(hx, w_hh, b_hh)


@autocast_op("rnn_tanh_cell")
def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""
    return tanh(_gates(input, hx, w_ih, w_hh, b_ih, b_hh))


@autocast_op("rnn_relu_cell")
def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """``h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""
    return relu(_gates(input, hx, w_ih, w_hh, b_ih, b_hh))


@autocast_op("lstm_cell")
def lstm_cell(input, hx, cx, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None, peephole=None):
    """One LSTM step; returns ``(h', c')``.

    ``i, f, g, o`` are the four row blocks of the gate pre-activations. With
    ``peephole = (w_ci, w_cf, w_co)`` (Gers & Schmidhuber 2000) the input and
    forget gates also see ``c`` and the output gate sees ``c'`` through
    diagonal weights.  With ``w_hr`` (proj_size) ``h' = (o * tanh(c')) W_hr^T``.
    """
    i, f, g, o = split(_gates(input, hx, w_ih, w_hh, b_ih, b_hh), w_ih.shape[0] // 4, 1)
    if peephole is not None:
        i = i + cx * peephole[0]
        f = f + cx * peephole[1]
    c = sigmoid(f) * cx + sigmoid(i) * tanh(g)
    if peephole is not None:
        o = o + c * peephole[2]
    h = sigmoid(o) * tanh(c)
    if w_hr is not None:
        h = linear(h, w_hr)
    return h, c


@autocast_op("gru_cell")
def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step: ``r, z = sigmoid(.)``, ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h' = (1 - z) * n + z * h``."""
    n3 = w_ih.shape[0] // 3
    gi_r, gi_z, gi_n = split(linear(input, w_ih, b_ih), n3, 1)
    gh_r, gh_z, gh_n = split(linear(hx, w_hh, b_hh), n3, 1)
    r = sigmoid(gi_r + gh_r)
    z = sigmoid(gi_z + gh_z)
    n = tanh(gi_n + r * gh_n)
    return n + z * (hx - n)


_CELLS = {"RNN_TANH": rnn_tanh_cell, "RNN_RELU": rnn_relu_cell, "GRU": gru_cell}


def composed_layer(mode, x, hx, weights, reverse=False, batch_sizes=None):
    """Run one direction of one layer cell by cell.

    Args:
        mode: ``'LSTM'``, ``'GRU'``, ``'RNN_TANH'`` or ``'RNN_RELU'``.
        x: ``(T, N, I)`` input.
        hx: ``(h0,)`` or, for LSTM, ``(h0, c0)``, each ``(N, *)``.
        weights: ``dict`` with ``w_ih, w_hh`` and optionally ``b_ih, b_hh, w_hr,
            peephole``.
        batch_sizes: how many (leading) batch rows are active at each step
            (non-increasing); the others keep their state and output zeros.

    Returns ``(y, h_n)`` or, for LSTM, ``(y, h_n, c_n)``.
    """
    T, N = x.shape[0], x.shape[1]
    w = dict(weights)
    extra = {}
    if mode == "LSTM":
        extra = {"w_hr": w.pop("w_hr", None), "peephole": w.pop("peephole", None)}
    cell = _CELLS.get(mode, lstm_cell)
    state = list(hx)
    ys = [None] * T
    steps = range(T - 1, -1, -1) if reverse else range(T)
    for t in steps:
        bs = N if batch_sizes is None else int(batch_sizes[t])
        if bs == N:
            args = state
        else:
            args = [s[:bs] for s in state]
        out = cell(x[t, :bs] if bs < N else x[t], *args, **w, **extra)
        out = list(out) if mode == "LSTM" else [out]
        if bs < N:
            out = [cat([o, s[bs:]], 0) for o, s in zip(out, state)]
            h = out[0]
            pad = zeros(N - bs, h.shape[1], dtype=h.dtype, device=h.device)
            ys[t] = cat([h[:bs], pad], 0)
        else:
            ys[t] = out[0]
        state = out
    return (stack(ys, 0),) + tuple(state)
