"""Transformer encoder training step (d_model 256, 4 heads, 2 layers, feed-forward
1024, sequence 64, batch 32, Adam, dropout 0.1): chainrule against torch on the
CPU, in one run.

Step time is the median over repeated steps in this process (same data, same
thread count, same weights: torch's initial weights are loaded into chainrule's
model by name); peak memory is what a training step adds to the resident set,
each framework in its own child process.  Ratios > 1 mean chainrule is faster.

    python benchmarks/bench_transformer.py [--threads 2] [--untuned]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import _threads  # noqa: F401,E402  (pins BLAS threads before NumPy loads)

import numpy as np  # noqa: E402
from _common import (bench, fmt_bytes, fmt_time, memory_in_child, peak_rss_bytes,  # noqa: E402
                     print_setup, reset_peak_rss, rss_bytes)

D_MODEL, HEADS, LAYERS, FF, SEQ, BATCH = 256, 4, 2, 1024, 64, 32


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SEQ, D_MODEL)).astype(np.float32)
    y = rng.standard_normal((BATCH, SEQ, D_MODEL)).astype(np.float32)
    return x, y


def _torch_model():
    import torch
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.1,
                                             batch_first=True)
    return torch.nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)


def make_step(lib):
    """A closure running one Adam step of the encoder in ``lib`` ('chainrule'/'torch')."""
    x, y = _data()
    if lib == "torch":
        import torch as m
        model = _torch_model()
        xt, yt = m.from_numpy(x), m.from_numpy(y)
    else:
        import chainrule as m
        import chainrule.nn as nn
        layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.1, batch_first=True)
        model = nn.TransformerEncoder(layer, LAYERS)
        try:  # the same initial weights as torch's
            sd = _torch_model().state_dict()
            model.load_state_dict({k: m.tensor(v.numpy()) for k, v in sd.items()})
        except ImportError:
            pass
        xt, yt = m.tensor(x), m.tensor(y)
    model.train()
    opt = m.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = m.nn.MSELoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss
    return step


def memory_worker(lib, steps=5):
    if lib == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    step = make_step(lib)
    step()
    reset_peak_rss()
    base = rss_bytes()
    for _ in range(steps):
        step()
    print(json.dumps({"step_peak_bytes": max(0, peak_rss_bytes() - base)}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--memory", help=argparse.SUPPRESS)
    a = p.parse_args()
    os.environ["BENCH_THREADS"] = str(a.threads)
    if a.memory:
        return memory_worker(a.memory)
    print_setup()
    import chainrule
    import torch
    torch.set_num_threads(a.threads)
    if not _threads.UNTUNED:
        chainrule.set_num_threads(a.threads)
    t_c = bench(make_step("chainrule"), repeat=5, min_time=0.0)
    t_t = bench(make_step("torch"), repeat=5, min_time=0.0)
    print(f"Transformer encoder d_model {D_MODEL}, {HEADS} heads, {LAYERS} layers, seq {SEQ}, "
          f"batch {BATCH}, Adam  ({a.threads} threads)")
    print(f"  step time   chainrule {fmt_time(t_c)}   torch {fmt_time(t_t)}"
          f"   speed vs torch {t_t / t_c:.2f}x")
    if not a.no_memory:
        m_c, m_t = memory_in_child(__file__, "chainrule"), memory_in_child(__file__, "torch")
        print(f"  step memory chainrule {fmt_bytes(m_c)}   torch {fmt_bytes(m_t)}"
              f"   chainrule/torch {m_c / m_t:.2f}x")


if __name__ == "__main__":
    main()
