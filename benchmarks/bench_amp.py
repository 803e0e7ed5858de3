"""Mixed precision on the CPU: the MLP training step (784-256-256-10, ReLU, batch 128,
SGD, cross-entropy, bench_mlp.py's) in float32, and under ``chainrule.autocast("cpu",
float16)`` with a GradScaler -- float16 GEMMs on float32 BLAS (the default) and on
NumPy's own float16 loop -- plus torch's CPU autocast float16 step for reference, the
autocast hook's cost per op call when autocast is off, and the loss gap float16 vs
float32 after 20 steps.

    unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
    python benchmarks/bench_amp.py [--batch-size 128] [--threads 2]

Ratios > 1 mean the float16 step is faster than the float32 step.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import _threads  # noqa: F401,E402  (pins BLAS threads before NumPy loads)

import numpy as np  # noqa: E402
from _common import bench, fmt_time, print_setup  # noqa: E402

SIZES = (784, 256, 256, 10)


def make_step(lib, batch, amp, device="cpu"):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], batch).astype(np.int64)
    if lib == "torch":
        import torch as m
        xt, yt = m.from_numpy(x), m.from_numpy(y)
    else:
        import chainrule as m
        xt, yt = m.tensor(x), m.tensor(y)
    nn = m.nn
    m.manual_seed(0)
    model = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(),
                          nn.Linear(SIZES[1], SIZES[2]), nn.ReLU(),
                          nn.Linear(SIZES[2], SIZES[3]))
    model, xt, yt = model.to(device), xt.to(device), yt.to(device)
    opt = m.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    scaler = m.amp.GradScaler(device, enabled=amp)

    def step():
        opt.zero_grad()
        with m.autocast(device, dtype=m.float16, enabled=amp):
            loss = loss_fn(model(xt), yt)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss.item()
    return step


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu, or cuda (CuPy; tools/gpu_check.sh)")
    a = p.parse_args()
    print_setup()
    from chainrule.backend import arrays
    rows = []
    dev, n = a.device, a.batch_size
    t32 = bench(make_step("chainrule", n, False, dev), repeat=9)
    rows.append(("chainrule float32", t32))
    rows.append((f"chainrule autocast float16{' (float32 BLAS)' if dev == 'cpu' else ''}",
                 bench(make_step("chainrule", n, True, dev), repeat=9)))
    if dev == "cpu":
        arrays.half_gemm.in_float32 = False
        rows.append(("chainrule autocast float16 (NumPy float16 loop)",
                     bench(make_step("chainrule", n, True, dev), repeat=5)))
        arrays.half_gemm.in_float32 = True
    try:
        import torch
        torch.set_num_threads(a.threads)
        tt32 = bench(make_step("torch", n, False, dev), repeat=9)
        rows.append(("torch float32", tt32))
        rows.append((f"torch autocast {dev} float16", bench(make_step("torch", n, True, dev),
                                                           repeat=9)))
    except ImportError:
        tt32 = None
    print(f"MLP {'-'.join(map(str, SIZES))}, batch {n}, SGD step on {dev} "
          f"({a.threads} threads)")
    for name, t in rows:
        base = tt32 if name.startswith("torch") else t32
        print(f"  {name:48s} {fmt_time(t)}   vs float32 {base / t:.2f}x")
    s16, s32 = make_step("chainrule", n, True, dev), make_step("chainrule", n, False, dev)
    l16 = np.array([s16() for _ in range(20)])
    l32 = np.array([s32() for _ in range(20)])
    if dev == "cpu":   # the autocast hook's cost when autocast is off
        import chainrule as cr
        import chainrule.nn.functional as F
        x, w, b = cr.randn(8, 16), cr.randn(4, 16), cr.randn(4)
        import timeit
        hooked = bare = float("inf")
        for _ in range(15):   # interleaved, best of each: the load's noise is larger
            hooked = min(hooked, timeit.timeit(lambda: F.linear(x, w, b), number=3000) / 3000)
            bare = min(bare, timeit.timeit(lambda: F.linear.__wrapped__(x, w, b),
                                           number=3000) / 3000)
        print(f"  autocast off, F.linear 8x16 by 4x16: with the hook {fmt_time(hooked)}, "
              f"without {fmt_time(bare)} (+{(hooked - bare) * 1e6:.2f} us per op call)")
    print(f"  20 steps: loss float32 {l32[0]:.4f} -> {l32[-1]:.4f}, float16 {l16[0]:.4f} -> "
          f"{l16[-1]:.4f}, max |diff| {np.abs(l16 - l32).max():.2e}")


if __name__ == "__main__":
    main()
