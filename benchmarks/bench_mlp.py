"""MLP training step (784-256-256-10, ReLU, batch 128, SGD, cross-entropy):
chainrule against torch on the CPU, in one run.

Step time is the median over repeated steps in this process (both frameworks,
same data, same thread count); peak memory is what a training step adds to
the resident set over the state after setup, each framework measured in its
own child process. Ratios > 1 mean chainrule is faster / leaner.

    python benchmarks/bench_mlp.py [--batch-size 128] [--threads 2]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import _threads  # noqa: F401,E402  (pins BLAS threads before NumPy loads)

import numpy as np  # noqa: E402
from _common import (bench, fmt_bytes, fmt_time, memory_in_child, peak_rss_bytes, print_setup,  # noqa: E402,E501
                     reset_peak_rss, rss_bytes)

SIZES = (784, 256, 256, 10)


def _data(batch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], batch).astype(np.int64)
    return x, y


def make_step(lib, batch):
    """A closure running one SGD step in framework ``lib`` ('chainrule' or 'torch')."""
    x, y = _data(batch)
    if lib == "torch":
        import torch as m
        nn, optim = m.nn, m.optim
        xt, yt = m.from_numpy(x), m.from_numpy(y)
    else:
        import chainrule as m
        import chainrule.nn as nn
        import chainrule.optim as optim
        xt, yt = m.tensor(x), m.tensor(y)
    m.manual_seed(0)
    model = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(),
                          nn.Linear(SIZES[1], SIZES[2]), nn.ReLU(),
                          nn.Linear(SIZES[2], SIZES[3]))
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss
    return step


def _set_threads(n):
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass


def memory_worker(lib, batch, steps=20):
    _set_threads(int(os.environ.get("BENCH_THREADS", "2")))
    step = make_step(lib, batch)
    reset_peak_rss()
    base = rss_bytes()
    for _ in range(steps):
        step()
    print(json.dumps({"step_peak_bytes": max(0, peak_rss_bytes() - base)}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--memory", help=argparse.SUPPRESS)
    a = p.parse_args()
    if not a.memory:
        print_setup()
    os.environ["BENCH_THREADS"] = str(a.threads)
    if a.memory:
        return memory_worker(a.memory, a.batch_size)
    _set_threads(a.threads)
    extra = ["--batch-size", str(a.batch_size)]
    t_c = bench(make_step("chainrule", a.batch_size), repeat=9)
    m_c = memory_in_child(__file__, "chainrule", extra)
    try:
        import torch  # noqa: F401
        t_t = bench(make_step("torch", a.batch_size), repeat=9)
        m_t = memory_in_child(__file__, "torch", extra)
    except ImportError:
        t_t = m_t = None
    name = f"MLP {'-'.join(map(str, SIZES))}, batch {a.batch_size}, SGD step"
    print(f"{name}  ({a.threads} threads)")
    print(f"  step time   chainrule {fmt_time(t_c)}   torch {fmt_time(t_t) if t_t else '-'}"
          f"   speed vs torch {t_t / t_c:.2f}x" if t_t else "")
    if m_t is not None:
        ratio = f"{m_c / m_t:.2f}x" if m_t else "-"
        print(f"  step memory chainrule {fmt_bytes(m_c)}   torch {fmt_bytes(m_t)}"
              f"   chainrule/torch {ratio}")


if __name__ == "__main__":
    main()
