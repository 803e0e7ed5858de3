"""Vanishing and exploding gradients in recurrent networks (d2l 9.7, Pascanu et al. 2013).

(a) For a sequence of T steps, the norm of dL/dh_t -- the gradient of a loss on the
    *last* step only with respect to the hidden state at every step t -- for a plain
    tanh RNN (PyTorch's default init), a ReLU RNN with a large recurrent init, a GRU and
    an LSTM (same width, inputs and loss).  Backpropagation through time multiplies by
    the step Jacobian diag(f') W_hh^T once per step: the tanh RNN's gradient decays
    geometrically (vanishes), the large-init ReLU RNN's grows geometrically
    (explodes); the gated cells' additive state paths keep it far flatter.
(b) The cure for explosion: training that ReLU RNN as a character language model with
    SGD, with and without clipping the gradient norm at 1.

    OPENBLAS_NUM_THREADS=1 python examples/vanishing_gradients.py --out docs/vanishing_gradients.png
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import nn, optim  # noqa: E402
from chainrule.nn.utils import clip_grad_norm_  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402


def make_cell(kind, inp, hidden, gain, gate_bias=0.0):
    """A cell with torch's default init; ``gate_bias`` is added to the bias of the LSTM
    forget gate / GRU update gate (rows H:2H in both), biasing them to remember."""
    if kind in ("lstm", "gru"):
        cell = nn.LSTMCell(inp, hidden) if kind == "lstm" else nn.GRUCell(inp, hidden)
        if gate_bias:
            b = cell.bias_ih.detach().numpy().copy()
            b[hidden:2 * hidden] += gate_bias
            with cr.no_grad():
                cell.bias_ih.copy_(cr.tensor(b))
        return cell
    cell = nn.RNNCell(inp, hidden, nonlinearity="relu" if kind == "relu" else "tanh")
    if gain:  # large orthogonal recurrent weights: spectral radius = gain
        nn.init.orthogonal_(cell.weight_hh, gain=gain)
    return cell


def grad_norms(kind, T, hidden=64, inp=16, batch=8, gain=None, gate_bias=0.0, seed=0):
    """``||dL/dh_t||`` for t = 1..T, L = mean squared readout error at step T."""
    cr.manual_seed(seed)
    cell = make_cell(kind, inp, hidden, gain, gate_bias)
    readout = nn.Linear(hidden, 1)
    xs = cr.randn(T, batch, inp)
    h = cr.zeros(batch, hidden)
    c = cr.zeros(batch, hidden)
    hs = []
    for t in range(T):
        if kind == "lstm":
            h, c = cell(xs[t], (h, c))
        else:
            h = cell(xs[t], h)
        h.retain_grad()
        hs.append(h)
    loss = ((readout(h) - 1.0) ** 2).mean()
    loss.backward()
    return [float(np.linalg.norm(x.grad.numpy())) for x in hs]


def clipping_run(clip, steps=150, hidden=128, gain=1.6, lr=0.5, seed=0):
    """Loss per step of a ReLU-RNN character LM (large recurrent init) with SGD."""
    from chainrule.text import LMDataLoader, load_corpus
    corpus, vocab = load_corpus("timemachine", max_tokens=60000)
    cr.manual_seed(seed)
    rnn = nn.RNN(len(vocab), hidden, nonlinearity="relu")
    nn.init.orthogonal_(rnn.weight_hh_l0, gain=gain)
    dec = nn.Linear(hidden, len(vocab))
    params = list(rnn.parameters()) + list(dec.parameters())
    opt = optim.SGD(params, lr=lr)
    losses, norms = [], []
    loader = LMDataLoader(corpus, 32, 35, seed=seed)
    while len(losses) < steps:
        for X, Y in loader:
            out, _ = rnn(F.one_hot(X.transpose(0, 1), len(vocab)).float())
            loss = F.cross_entropy(dec(out).reshape(-1, len(vocab)),
                                   Y.transpose(0, 1).reshape(-1))
            opt.zero_grad()
            loss.backward()
            total = float(clip_grad_norm_(params, clip if clip else math.inf))
            value = float(loss.item())
            losses.append(value if math.isfinite(value) else float("nan"))
            norms.append(total)
            if not math.isfinite(value) or len(losses) >= steps:
                break
            opt.step()
        if losses and not math.isfinite(losses[-1]):
            break
    return losses, norms


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=150, help="sequence length T")
    p.add_argument("--train-steps", type=int, default=150)
    p.add_argument("--out", default="docs/vanishing_gradients.png")
    args = p.parse_args(argv)
    T = args.steps
    curves = {"tanh RNN": grad_norms("tanh", T),
              "ReLU RNN, orthogonal W_hh x1.35": grad_norms("relu", T, gain=1.35),
              "GRU": grad_norms("gru", T), "LSTM": grad_norms("lstm", T),
              "GRU, update-gate bias +3": grad_norms("gru", T, gate_bias=3.0),
              "LSTM, forget-gate bias +3": grad_norms("lstm", T, gate_bias=3.0)}
    summary = {k: {"t=T": v[-1], "t=T-50": v[-51], "t=T-100": v[-101], "t=1": v[0]}
               for k, v in curves.items()}
    no_clip, _ = clipping_run(None, args.train_steps)
    clipped, norms = clipping_run(1.0, args.train_steps)
    summary["clipping"] = {"no_clip_last_loss": no_clip[-1], "no_clip_steps": len(no_clip),
                           "clip1_last_loss": clipped[-1], "clip1_max_grad_norm": max(norms)}
    print(json.dumps(summary, indent=1))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for name, v in curves.items():
        a.semilogy(range(1, T + 1), np.clip(v, 1e-30, 1e30), label=name,
                   linestyle="--" if "bias" in name else "-")
    a.set_xlabel("time step t")
    a.set_ylabel("||dL/dh_t||  (L on the last step)")
    a.set_title(f"gradient through time, T = {T}")
    a.legend(fontsize=7)
    b.plot(no_clip, label="no clipping")
    b.plot(clipped, label="clip grad norm at 1")
    b.set_ylim(0, max(8.0, np.nanmin(no_clip[:5]) + 1))
    b.set_xlabel("SGD step")
    b.set_ylabel("training loss (nats/char)")
    b.set_title("ReLU RNN char LM (W_hh gain 1.6), SGD lr 0.5")
    b.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
