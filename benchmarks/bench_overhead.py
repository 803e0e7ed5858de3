"""Per-op overhead of chainrule against torch, in the same process.

Workloads: one elementwise add on 16-element tensors (forward only, and with
a recorded graph), and a 100-op chain (mul/add/tanh) forward + backward.
The ratio is torch's time divided by chainrule's (1.0x = as fast as torch).

    python benchmarks/bench_overhead.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import _threads  # noqa: F401,E402  (pins BLAS threads before NumPy loads)

import numpy as np  # noqa: E402
from _common import print_setup, bench, report  # noqa: E402

import chainrule as cr  # noqa: E402

try:
    import torch
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
except ImportError:
    torch = None


def chain(mod, x):
    y = x
    for _ in range(34):  # 3 ops each -> 102 ops
        y = (y * 1.001 + 0.01).tanh()
    return y.sum()


def main():
    print_setup()
    a = np.random.default_rng(0).standard_normal(16).astype(np.float32)
    rows = []
    ca, cb = cr.tensor(a), cr.tensor(a)
    cg = cr.tensor(a, requires_grad=True)
    t_c = bench(lambda: ca + cb)
    t_cg = bench(lambda: cg + cb)

    def cr_chain():
        x = cr.tensor(a, requires_grad=True)
        chain(cr, x).backward()
    t_cc = bench(cr_chain)
    if torch is not None:
        ta, tb = torch.tensor(a), torch.tensor(a)
        tg = torch.tensor(a, requires_grad=True)
        t_t = bench(lambda: ta + tb)
        t_tg = bench(lambda: tg + tb)

        def t_chain():
            x = torch.tensor(a, requires_grad=True)
            chain(torch, x).backward()
        t_tc = bench(t_chain)
    else:
        t_t = t_tg = t_tc = None
    rows.append(("add, 16 elements, no grad", t_c, t_t))
    rows.append(("add, 16 elements, recording the graph", t_cg, t_tg))
    rows.append(("100-op chain forward+backward, 16 elements", t_cc, t_tc))
    report(rows)


if __name__ == "__main__":
    main()
