"""d2l's "Concise Implementation for Multiple GPUs" (chapter 13.6), with MPI ranks in
place of GPUs: the model wrapped in ``nn.parallel.DistributedDataParallel``, the data
split by ``DistributedSampler``.

    mpiexec -n 2 python examples/multi_gpu_concise.py [--epochs 2] [--model resnet18]

d2l trains its ResNet-18 on Fashion-MNIST (batch 256 on 2 GPUs, lr 0.1 .. 0.2); on this
CPU machine the default is the zoo's ``lenet_bn`` on ``--max-train`` images
(``--model resnet_small`` or ``resnet18`` for d2l's network, many times slower).  Each
rank takes ``--batch-size / world`` images per step (the global batch is the same at
any number of processes); the test accuracy is counted on each rank's share and summed.
The same training from the command line: ``chainrule train lenet_bn --data
fashion_mnist --nproc 2``.
"""
import argparse
import sys
import time

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule import models
from chainrule.data import DataLoader, DistributedSampler, TensorDataset
from chainrule.data.datasets import get_dataset


def load(train, limit):
    ds = get_dataset("fashion_mnist", train=train)
    X = (np.asarray(ds.data, np.float32) / 255.0)[:limit, None]
    return TensorDataset(cr.tensor(X), cr.tensor(np.asarray(ds.targets, np.int64)[:limit]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="lenet_bn")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=256, help="global batch")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--max-train", type=int, default=6000)
    args = ap.parse_args(argv)
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    cr.manual_seed(0)
    net = models.get_model(args.model, input_shape=(1, 28, 28), num_classes=10)
    model = nn.parallel.DistributedDataParallel(net)
    train = load(True, args.max_train)
    test = load(False, None)
    sampler = DistributedSampler(train, shuffle=True, seed=0)
    loader = DataLoader(train, batch_size=args.batch_size // world, sampler=sampler)
    opt = cr.optim.SGD(model.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        model.train()
        t0 = time.perf_counter()
        for X, y in loader:
            opt.zero_grad()
            F.cross_entropy(model(X), y).backward()
            opt.step()
        dt = time.perf_counter() - t0
        model.eval()
        shard = DataLoader(test, batch_size=512,
                           sampler=DistributedSampler(test, shuffle=False, drop_last=True))
        correct, seen = 0, 0
        with cr.no_grad():
            for X, y in shard:
                correct += int((model(X).argmax(dim=1) == y).sum().item())
                seen += len(y)
        t = cr.tensor(np.array([correct, seen], np.int64))
        dist.all_reduce(t)
        c, n = t.tolist()
        if rank == 0:
            print(f"epoch {epoch + 1}: test acc {c / n:.3f}, {dt:.1f} s/epoch on {world} "
                  f"process(es)", flush=True)
    if rank == 0:
        print(f"RESULT test acc {c / n:.3f}, {dt:.1f} s/epoch, {world} process(es)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
