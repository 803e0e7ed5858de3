"""The character LSTM language-model step of ``bench_lstm.py`` written directly in
NumPy, without a framework: the floor a NumPy framework can reach on this
workload (same shapes, same float32 arithmetic, same GEMM orientations as
chainrule's fused LSTM), timed next to chainrule and torch in one run.

Embedding -> 1-layer LSTM (35 steps, batch 32, hidden 256) -> Linear over the
1027-token vocabulary -> softmax cross-entropy, full backward, gradient norm
clipping at 1, SGD step.  No autograd bookkeeping, no checks, buffers reused.

    python benchmarks/numpy_lstm_reference.py [--threads 2] [--rounds 5]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import _threads  # noqa: F401,E402  (pins BLAS threads before NumPy loads)

import numpy as np  # noqa: E402
from _common import fmt_time, print_setup  # noqa: E402
from bench_lstm import (BATCH, EMBED, HIDDEN, STEPS, VOCAB, _data, interleaved,  # noqa: E402
                        make_step)


def numpy_step():
    """A closure running one hand-written training step."""
    x, y = _data()
    rng = np.random.default_rng(0)
    f32 = np.float32
    k = 1 / np.sqrt(HIDDEN)
    E = rng.standard_normal((VOCAB, EMBED)).astype(f32)
    Wih = rng.uniform(-k, k, (4 * HIDDEN, EMBED)).astype(f32)
    Whh = rng.uniform(-k, k, (4 * HIDDEN, HIDDEN)).astype(f32)
    b = rng.uniform(-k, k, 4 * HIDDEN).astype(f32)
    Wo = rng.uniform(-k, k, (VOCAB, HIDDEN)).astype(f32)
    bo = rng.uniform(-k, k, VOCAB).astype(f32)
    params = [E, Wih, Whh, b, Wo, bo]
    T, N, H = STEPS, BATCH, HIDDEN
    yf = y.reshape(-1)
    rows = np.arange(T * N)
    Hs = np.zeros((T + 1, N, H), f32)
    Cs = np.zeros((T + 1, N, H), f32)
    TC = np.empty((T, N, H), f32)
    z = np.empty((N, 4 * H), f32)
    rec = np.empty((4 * H, N), f32)
    D = np.empty((T, N, 4 * H), f32)
    dh, dc, tmp = (np.empty((N, H), f32) for _ in range(3))

    def step():
        # forward
        X = E[x].reshape(T * N, EMBED)
        G = (X @ Wih.T + b).reshape(T, N, 4 * H)
        for t in range(T):
            np.matmul(Whh, Hs[t].T, out=rec)
            np.add(G[t], rec.T, out=z)
            g = G[t]
            np.tanh(z[:, 2 * H:3 * H], out=g[:, 2 * H:3 * H])
            for s in (slice(0, 2 * H), slice(3 * H, 4 * H)):   # sigmoid(i, f), sigmoid(o)
                np.multiply(z[:, s], 0.5, out=g[:, s])
                np.tanh(g[:, s], out=g[:, s])
                g[:, s] *= 0.5
                g[:, s] += 0.5
            i, f, gg, o = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
            np.multiply(f, Cs[t], out=Cs[t + 1])
            Cs[t + 1] += i * gg
            np.tanh(Cs[t + 1], out=TC[t])
            np.multiply(o, TC[t], out=Hs[t + 1])
        Hf = Hs[1:].reshape(T * N, H)
        logits = Hf @ Wo.T
        logits += bo
        logits -= logits.max(1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(1, keepdims=True)
        loss = -np.log(logits[rows, yf]).mean()
        # backward: softmax cross-entropy (mean), output layer
        p = logits
        p[rows, yf] -= 1
        p *= 1 / (T * N)
        gWo = p.T @ Hf
        gbo = p.sum(0)
        dHs = (p @ Wo).reshape(T, N, H)
        # LSTM backward through time
        dh[...] = 0
        dc[...] = 0
        for t in range(T - 1, -1, -1):
            g = G[t]
            i, f, gg, o = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
            d = D[t]
            np.add(dh, dHs[t], out=dh)
            np.multiply(dh, TC[t], out=tmp)                 # do
            np.multiply(tmp, o * (1 - o), out=d[:, 3 * H:])
            np.add(dc, dh * o * (1 - TC[t] * TC[t]), out=dc)
            np.multiply(dc, gg, out=tmp)                    # di
            np.multiply(tmp, i * (1 - i), out=d[:, :H])
            np.multiply(dc, Cs[t], out=tmp)                 # df
            np.multiply(tmp, f * (1 - f), out=d[:, H:2 * H])
            np.multiply(dc, i, out=tmp)                     # dg
            np.multiply(tmp, 1 - gg * gg, out=d[:, 2 * H:3 * H])
            np.multiply(dc, f, out=dc)
            np.matmul(d, Whh, out=dh)
        D2 = D.reshape(T * N, 4 * H)
        gWih = D2.T @ X
        gWhh = D2.T @ Hs[:-1].reshape(T * N, H)
        gb = D2.sum(0)
        dX = D2 @ Wih
        gE = np.zeros_like(E)
        np.add.at(gE, x.reshape(-1), dX)
        grads = [gE, gWih, gWhh, gb, gWo, gbo]
        # clip and SGD
        norm = np.sqrt(sum(float(np.square(gr).sum(dtype=np.float64)) for gr in grads))
        coef = min(1.0, 1.0 / (norm + 1e-6))
        for w, gr in zip(params, grads):
            w -= f32(coef) * gr
        Hs[0] = 0
        Cs[0] = 0
        return loss
    return step


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    print_setup()
    steps = {"numpy": numpy_step(), "chainrule": make_step("chainrule")}
    try:
        import torch
        torch.set_num_threads(a.threads)
        steps["torch"] = make_step("torch")
    except ImportError:
        pass
    med, _ = interleaved(steps, a.rounds)
    print(f"char LSTM LM step ({a.threads} threads, {a.rounds} interleaved rounds)")
    for k, v in med.items():
        extra = "" if k == "numpy" else f"   speed vs hand-written NumPy {med['numpy'] / v:.2f}x"
        print(f"  {k:10s} {fmt_time(v)}{extra}")


if __name__ == "__main__":
    main()
