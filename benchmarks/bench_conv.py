"""Convolutional training steps, chainrule against torch on the CPU in one run.

Workloads (float32, cross-entropy, the same data and initial weights in both
frameworks):

* ``lenet``:  LeNet-5 with ReLU and max-pooling, 1x28x28, batch 128, SGD;
* ``resnet``: a small ResNet (stem + 4 basic blocks with 32/64 channels and
  BatchNorm, global average pooling), 3x32x32, batch 64, SGD with momentum;
* ``layers``: forward+backward of single convolutions at the shapes of those
  two models (where the time of a step goes).

Step time is the best of several rounds of the median step time (the machine
is shared, so the best round is the least disturbed one), taken alternately
for chainrule and torch; peak memory is what the training steps add to the
resident set over the state after setup, each framework in its own child
process. Ratios > 1 mean chainrule is faster / leaner.

``--threads N`` sets torch's threads, chainrule's kernel threads and NumPy's
OpenBLAS threads alike.  On a busy shared machine wall times at 2 threads
mostly measure the neighbours (both frameworks' threads wait on descheduled
peers); ``--threads 1 --clock cpu`` (process CPU time per step) is the
disturbance-resistant comparison.

    python benchmarks/bench_conv.py [--workload all|lenet|resnet|layers]
                                    [--threads 2] [--rounds 3] [--no-memory]
                                    [--clock wall|cpu]
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import _threads  # noqa: F401,E402  (pins BLAS threads before NumPy loads)

import numpy as np  # noqa: E402
from _common import (bench, fmt_bytes, fmt_time, memory_in_child, peak_rss_bytes, print_setup,  # noqa: E402,E501
                     reset_peak_rss, rss_bytes)


def _lib(name):
    if name == "torch":
        import torch as m
        return m, m.nn, m.optim, m.from_numpy
    import chainrule as m
    import chainrule.nn as nn
    import chainrule.optim as optim
    return m, nn, optim, m.tensor


# ---------------------------------------------------------------- models
def lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def resnet(nn):
    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

        def forward(self, x):
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return self.relu(y + (x if self.down is None else self.down(x)))

    return nn.Sequential(
        nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        Block(32, 32, 1), Block(32, 32, 1), Block(32, 64, 2), Block(64, 64, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


MODELS = {
    "lenet": (lenet, (1, 28, 28), 128, dict(lr=0.05), "LeNet-5 (ReLU, max-pool), 1x28x28, "
              "batch 128, SGD"),
    "resnet": (resnet, (3, 32, 32), 64, dict(lr=0.05, momentum=0.9),
               "small ResNet (4 basic blocks, 32/64 ch, BN), 3x32x32, batch 64, momentum SGD"),
}

# (name, input shape, weight shape, stride, padding, input needs grad)
LAYERS = [
    ("lenet conv1 1->6 5x5 28x28 b128", (128, 1, 28, 28), (6, 1, 5, 5), 1, 2, False),
    ("lenet conv2 6->16 5x5 14x14 b128", (128, 6, 14, 14), (16, 6, 5, 5), 1, 0, True),
    ("resnet stem 3->32 3x3 32x32 b64", (64, 3, 32, 32), (32, 3, 3, 3), 1, 1, False),
    ("resnet 32->32 3x3 32x32 b64", (64, 32, 32, 32), (32, 32, 3, 3), 1, 1, True),
    ("resnet 32->64 3x3 /2 b64", (64, 32, 32, 32), (64, 32, 3, 3), 2, 1, True),
    ("resnet 32->64 1x1 /2 b64", (64, 32, 32, 32), (64, 32, 1, 1), 2, 0, True),
    ("resnet 64->64 3x3 16x16 b64", (64, 64, 16, 16), (64, 64, 3, 3), 1, 1, True),
]


def make_step(libname, workload):
    """A closure running one training step of ``workload`` in ``libname``."""
    m, nn, optim, from_numpy = _lib(libname)
    build, shape, batch, opt_kw, _ = MODELS[workload]
    rng = np.random.default_rng(0)
    x = from_numpy(rng.standard_normal((batch,) + shape).astype(np.float32))
    y = from_numpy(rng.integers(0, 10, batch).astype(np.int64))
    model = build(nn)
    _copy_init(model, m)
    opt = optim.SGD(model.parameters(), **opt_kw)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _copy_init(model, m):
    """Identical initial weights in both frameworks (seeded NumPy draws)."""
    rng = np.random.default_rng(1)
    with m.no_grad():
        for name, p in model.named_parameters():
            fan_in = int(np.prod(p.shape[1:])) if p.ndim > 1 else 1
            if name.endswith("weight") and p.ndim > 1:
                vals = rng.uniform(-1, 1, tuple(p.shape)) / np.sqrt(fan_in)
            elif "bn" in name or (p.ndim == 1 and name.endswith("weight")):
                vals = np.ones(tuple(p.shape))
            else:
                vals = np.zeros(tuple(p.shape))
            p.copy_(m.tensor(vals.astype(np.float32)))


def make_layer(libname, spec):
    """Forward + backward of one convolution (weight and, if asked, input grads)."""
    m, nn, _, from_numpy = _lib(libname)
    F = nn.functional
    _, xs, wsh, stride, pad, xgrad = spec
    rng = np.random.default_rng(0)
    x = from_numpy(rng.standard_normal(xs).astype(np.float32))
    w = from_numpy(rng.standard_normal(wsh).astype(np.float32))
    x.requires_grad_(xgrad)
    w.requires_grad_(True)
    y0 = F.conv2d(x, w, stride=stride, padding=pad)
    gy = from_numpy(rng.standard_normal(tuple(y0.shape)).astype(np.float32))

    def step():
        y = F.conv2d(x, w, stride=stride, padding=pad)
        y.backward(gy)
        w.grad = None
        x.grad = None
    return step


def _set_threads(n):
    """The same thread count for both: torch's intra-op threads, chainrule's
    kernel threads and NumPy's OpenBLAS."""
    import chainrule
    if not _threads.UNTUNED:  # untuned: OPENBLAS_NUM_THREADS pins BLAS, as for a user
        chainrule.set_num_threads(n)
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass


def memory_worker(libname, workload, steps=10):
    _set_threads(int(os.environ.get("BENCH_THREADS", "2")))
    step = make_step(libname, workload)
    reset_peak_rss()
    base = rss_bytes()
    for _ in range(steps):
        step()
    print(json.dumps({"step_peak_bytes": max(0, peak_rss_bytes() - base)}))


def _bench_cpu(fn, repeat):
    """Median process CPU time of one call of ``fn``."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def _time_pair(make, rounds, repeat, clock="wall"):
    """Best-of-rounds median times (chainrule, torch), rounds interleaved."""
    fc = make("chainrule")
    try:
        ft = make("torch")
    except ImportError:
        ft = None
    timer = (lambda f: bench(f, repeat=repeat, number=1)) if clock == "wall" else \
        (lambda f: _bench_cpu(f, repeat))
    tc, tt = [], []
    for _ in range(rounds):
        tc.append(timer(fc))
        if ft is not None:
            tt.append(timer(ft))
    return min(tc), (min(tt) if tt else None)


def _ratio(c, t):
    return f"{t / c:5.2f}x" if t else "    -"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", default="all", choices=["all", "lenet", "resnet", "layers"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                   help="wall time, or process CPU time (meaningful with --threads 1)")
    p.add_argument("--memory", help=argparse.SUPPRESS)
    a = p.parse_args()
    if not a.memory:
        print_setup()
    os.environ["BENCH_THREADS"] = str(a.threads)
    if a.memory:
        return memory_worker(a.memory, a.workload)
    _set_threads(a.threads)
    print(f"{a.threads} threads, {a.clock} time, best of {a.rounds} rounds of the median of "
          f"{a.repeat} steps")
    print(f"{'workload':64s} {'chainrule':>12s} {'torch':>12s} {'speed vs torch':>15s}")
    for wl in ("lenet", "resnet"):
        if a.workload not in ("all", wl):
            continue
        c, t = _time_pair(lambda lib: make_step(lib, wl), a.rounds, a.repeat, a.clock)
        print(f"{MODELS[wl][4]:64s} {fmt_time(c):>12s} {fmt_time(t) if t else '-':>12s} "
              f"{_ratio(c, t):>15s}")
        if not a.no_memory:
            mc = memory_in_child(__file__, "chainrule", ["--workload", wl])
            try:
                mt = memory_in_child(__file__, "torch", ["--workload", wl])
            except Exception:
                mt = None
            rel = f"{mc / mt:.2f}x torch" if mt else "-"
            print(f"{'   step memory':64s} {fmt_bytes(mc):>12s} "
                  f"{fmt_bytes(mt) if mt else '-':>12s} {rel:>15s}")
    if a.workload in ("all", "layers"):
        print("conv forward + backward (weight grad; input grad where a layer needs it)")
        for spec in LAYERS:
            c, t = _time_pair(lambda lib: make_layer(lib, spec), a.rounds, a.repeat, a.clock)
            print(f"  {spec[0]:62s} {fmt_time(c):>12s} {fmt_time(t) if t else '-':>12s} "
                  f"{_ratio(c, t):>15s}")


if __name__ == "__main__":
    main()
