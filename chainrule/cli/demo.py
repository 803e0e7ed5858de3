"""``chainrule demo``: d2l's synthetic linear regression fitted with raw autograd."""
import time

import numpy as np

from chainrule.backend import manual_seed
from chainrule.core.creation import randn, tensor, zeros
from chainrule.core.grad_mode import no_grad

__all__ = ["add_parser", "run"]


def add_parser(sub):
    d = sub.add_parser("demo", help="fit a linear regression with autograd (no data needed)")
    d.add_argument("--epochs", type=int, default=3)
    d.add_argument("--lr", type=float, default=0.03)
    d.add_argument("--batch-size", type=int, default=10)
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=run)


def run(args):
    """Fit d2l's synthetic linear regression (y = Xw + b + noise) with autograd
    and hand-written minibatch SGD, and report the recovered parameters."""
    manual_seed(args.seed)
    true_w, true_b = tensor([2.0, -3.4]), 4.2
    X = randn(1000, 2)
    y = (X * true_w).sum(1) + true_b + randn(1000) * 0.01
    w = (randn(2) * 0.01).requires_grad_()
    b = zeros(1, requires_grad=True)
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        perm = np.random.default_rng(args.seed + epoch).permutation(1000)
        for i in range(0, 1000, args.batch_size):
            idx = tensor(perm[i:i + args.batch_size])
            pred = (X[idx] * w).sum(1) + b
            loss = ((pred - y[idx]) ** 2 / 2).mean()
            loss.backward()
            with no_grad():
                w.sub_(w.grad * args.lr)
                b.sub_(b.grad * args.lr)
                w.grad.zero_()
                b.grad.zero_()
        with no_grad():
            full = (((X * w).sum(1) + b - y) ** 2 / 2).mean()
        print(f"epoch {epoch + 1}: loss {full.item():.6f}")
    print(f"learned w = {w.detach().numpy().round(4).tolist()} (true [2.0, -3.4]), "
          f"b = {b.item():.4f} (true 4.2) in {time.perf_counter() - t0:.2f}s")
    err = float(np.abs(w.detach().numpy() - [2.0, -3.4]).max())
    return 0 if err < 0.01 else 1
