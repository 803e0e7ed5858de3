"""d2l's "Training on Multiple GPUs" (chapter 13.5), with MPI ranks in place of GPUs:
data parallelism written by hand.

    mpiexec -n 2 python examples/multi_gpu_by_hand.py [--epochs 2] [--batch-size 256] [--lr 0.2]

As in d2l: LeNet's parameters as plain tensors (sigmoid, average pooling), each
"device" (rank) gets a copy of the parameters (``broadcast`` from rank 0 — d2l's
``get_params``), its slice of each minibatch (``split_batch``), computes the summed
loss and gradients of its slice, the gradients are summed over the devices
(``allreduce``, here ``chainrule.distributed.all_reduce``) and every device takes the
same SGD step with the global batch size.  Test accuracy is counted on each rank's share
of the test set and summed.  Runs as one process too (``python examples/...``).
The concise version is examples/multi_gpu_concise.py.
"""
import argparse
import os
import sys
import time

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
import chainrule.nn.functional as F
from chainrule.data.datasets import get_dataset


def get_params(scale=0.1):
    """d2l's LeNet parameters (random on every rank; broadcast makes rank 0's win).
    d2l draws them with scale 0.01 and trains 10 epochs; 0.1 gets off the ground within
    the one or two epochs a CPU run affords."""
    shapes = [(20, 1, 3, 3), (20,), (50, 20, 5, 5), (50,), (800, 128), (128,), (128, 10),
              (10,)]
    params = [(cr.randn(*s) * scale) if len(s) > 1 else cr.zeros(*s) for s in shapes]
    for p in params:
        dist.broadcast(p, src=0)
        p.requires_grad_(True)
    return params


def lenet(X, params):
    h1 = F.relu(F.conv2d(X, params[0], params[1]))
    h1 = F.avg_pool2d(h1, kernel_size=2, stride=2)
    h2 = F.relu(F.conv2d(h1, params[2], params[3]))
    h2 = F.avg_pool2d(h2, kernel_size=2, stride=2)
    h2 = h2.reshape(h2.shape[0], -1)
    h3 = F.relu(h2 @ params[4] + params[5])
    return h3 @ params[6] + params[7]


def allreduce(grads):
    """Sum each gradient over all devices, in place (d2l's allreduce)."""
    for g in grads:
        dist.all_reduce(g, op=dist.ReduceOp.SUM)


def split_batch(X, y, rank, world):
    """This device's slice of the minibatch (d2l's split_batch; equal slices)."""
    n = X.shape[0] // world
    return X[rank * n:(rank + 1) * n], y[rank * n:(rank + 1) * n]


def sgd(params, lr, batch_size):
    with cr.no_grad():
        for p in params:
            p -= lr * p.grad / batch_size
            p.grad = None


def train_batch(X, y, params, lr, rank, world):
    Xs, ys = split_batch(X, y, rank, world)
    loss = F.cross_entropy(lenet(Xs, params), ys, reduction="sum")
    loss.backward()
    allreduce([p.grad for p in params])
    sgd(params, lr, X.shape[0])            # the global batch size, as in d2l
    return float(loss.item())


def evaluate_accuracy(params, X, y, rank, world, batch=1024):
    """Correct predictions on this rank's share of the test set, summed over ranks."""
    n = len(y)
    mine = np.arange(rank, n, world)
    correct = 0
    with cr.no_grad():
        for i in range(0, len(mine), batch):
            idx = mine[i:i + batch]
            pred = lenet(cr.tensor(X[idx]), params).argmax(dim=1).numpy()
            correct += int((pred == y[idx]).sum())
    t = cr.tensor(np.array([correct, len(mine)], np.int64))
    dist.all_reduce(t)
    c, m = t.tolist()
    return c / m


def load(train, limit):
    ds = get_dataset("fashion_mnist", train=train)
    X = (np.asarray(ds.data, np.float32) / 255.0)[:limit, None]
    return X, np.asarray(ds.targets, np.int64)[:limit]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=256, help="global batch")
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--max-train", type=int, default=None, help="first N training images")
    args = ap.parse_args(argv)
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} must be a multiple of {world}")
    cr.manual_seed(rank)                       # different on purpose: broadcast fixes it
    params = get_params()
    Xtr, ytr = load(True, args.max_train)
    Xte, yte = load(False, None)
    for epoch in range(args.epochs):
        order = np.random.default_rng(epoch).permutation(len(ytr))   # same on every rank
        t0 = time.perf_counter()
        for i in range(0, len(order) - args.batch_size + 1, args.batch_size):
            idx = order[i:i + args.batch_size]
            train_batch(cr.tensor(Xtr[idx]), cr.tensor(ytr[idx]), params, args.lr, rank, world)
        dt = time.perf_counter() - t0
        acc = evaluate_accuracy(params, Xte, yte, rank, world)
        if rank == 0:
            print(f"epoch {epoch + 1}: test acc {acc:.3f}, {dt:.1f} s/epoch on {world} "
                  f"process(es)", flush=True)
    if rank == 0:
        print(f"RESULT test acc {acc:.3f}, {dt:.1f} s/epoch, {world} process(es)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
