"""Character LSTM language-model training step (vocab 1027, embedding 256,
hidden 256, 35 steps, batch 32: Embedding -> LSTM -> Linear over the vocabulary,
cross-entropy, clip_grad_norm_ 1, SGD): chainrule against torch.nn.LSTM on the
CPU, in one run.

Step time is the median over repeated steps, the two frameworks interleaved
round by round in this process (same data, same thread count) so that load
from other processes hits both alike (the ratio of the best rounds is printed
too: on a shared machine it is the less noisy one); peak memory is what a
training step adds to the resident set over the state after setup, each
framework measured in its own child process. Ratios > 1 mean chainrule is
faster / leaner.  ``--threads`` sets torch's thread count; NumPy's BLAS uses
its default (all cores) unless ``OPENBLAS_NUM_THREADS`` is set.

    python benchmarks/bench_lstm.py [--rounds 5] [--threads 2] [--layers 1]
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
import _threads  # noqa: F401,E402  (pins BLAS threads before NumPy loads)

import numpy as np  # noqa: E402
from _common import (bench, fmt_bytes, fmt_time, memory_in_child, peak_rss_bytes, print_setup,  # noqa: E402,E501
                     reset_peak_rss, rss_bytes)

VOCAB, EMBED, HIDDEN, STEPS, BATCH = 1027, 256, 256, 35, 32


def _data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (STEPS, BATCH)).astype(np.int64)  # time-major tokens
    y = rng.integers(0, VOCAB, (STEPS, BATCH)).astype(np.int64)
    return x, y


def make_step(lib, layers=1):
    """A closure running one training step in framework ``lib`` ('chainrule' or 'torch')."""
    x, y = _data()
    if lib == "torch":
        import torch as m
        nn, optim, clip = m.nn, m.optim, m.nn.utils.clip_grad_norm_
        xt, yt = m.from_numpy(x), m.from_numpy(y.reshape(-1))
    else:
        import chainrule as m
        import chainrule.nn as nn
        import chainrule.optim as optim
        from chainrule.nn.utils import clip_grad_norm_ as clip
        xt, yt = m.tensor(x), m.tensor(y.reshape(-1))
    m.manual_seed(0)

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, EMBED)
            self.rnn = nn.LSTM(EMBED, HIDDEN, num_layers=layers)
            self.out = nn.Linear(HIDDEN, VOCAB)

        def forward(self, tokens):
            h, _ = self.rnn(self.embed(tokens))
            return self.out(h.reshape(-1, HIDDEN))

    model = LM()
    params = list(model.parameters())
    opt = optim.SGD(params, lr=1.0)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        clip(params, 1.0)
        opt.step()
        return loss
    return step


def _set_threads(n):
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass


def memory_worker(lib, layers, steps=10):
    if lib == "torch":  # importing torch in the chainrule child would inflate its peak
        _set_threads(int(os.environ.get("BENCH_THREADS", "2")))
    step = make_step(lib, layers)
    reset_peak_rss()
    base = rss_bytes()
    for _ in range(steps):
        step()
    print(json.dumps({"step_peak_bytes": max(0, peak_rss_bytes() - base)}))


def interleaved(steps, rounds):
    """Median step time of each closure, measured in alternating rounds."""
    times = {k: [] for k in steps}
    for _ in range(rounds):
        for k, fn in steps.items():
            times[k].append(bench(fn, repeat=3, min_time=0.5))
    return {k: statistics.median(v) for k, v in times.items()}, times


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--memory", help=argparse.SUPPRESS)
    a = p.parse_args()
    if not a.memory:
        print_setup()
    os.environ["BENCH_THREADS"] = str(a.threads)
    if a.memory:
        return memory_worker(a.memory, a.layers)
    _set_threads(a.threads)
    steps = {"chainrule": make_step("chainrule", a.layers)}
    try:
        steps["torch"] = make_step("torch", a.layers)
    except ImportError:
        pass
    med, all_times = interleaved(steps, a.rounds)
    name = (f"char LSTM LM (vocab {VOCAB}, embed {EMBED}, hidden {HIDDEN}x{a.layers}, "
            f"T={STEPS}, batch {BATCH}), SGD step with clipping")
    print(f"{name}  ({a.threads} threads, {a.rounds} interleaved rounds)")
    for k, v in all_times.items():
        print(f"  {k:10s} rounds: " + " ".join(fmt_time(t).strip() for t in v))
    t_c, t_t = med["chainrule"], med.get("torch")
    line = f"  step time   chainrule {fmt_time(t_c)}"
    if t_t:
        best = {k: min(v) for k, v in all_times.items()}
        line += (f"   torch {fmt_time(t_t)}   speed vs torch {t_t / t_c:.2f}x "
                 f"(best rounds: {best['torch'] / best['chainrule']:.2f}x)")
    print(line)
    if a.no_memory:
        return
    extra = ["--layers", str(a.layers)]
    m_c = memory_in_child(__file__, "chainrule", extra)
    m_t = memory_in_child(__file__, "torch", extra) if t_t else None
    line = f"  step memory chainrule {fmt_bytes(m_c)}"
    if m_t is not None:
        line += f"   torch {fmt_bytes(m_t)}   chainrule/torch " + \
            (f"{m_c / m_t:.2f}x" if m_t else "-")
    print(line)


if __name__ == "__main__":
    main()
