"""One MPI rank of the data-parallel tests (run by tests/distributed/test_ddp.py through
``mpiexec -n N python ddp_worker.py SCENARIO OUTDIR``), and the single-process
references they are compared with (``reference_*``, imported by the test).

Every scenario trains on a fixed global batch per step; with W ranks, rank r takes
rows [r*B/W, (r+1)*B/W) of it.  Ranks start from different random initialisations
(seed 100 + rank): DDP must broadcast rank 0's.
"""
import os
import signal
import sys

import numpy as np

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as Fn

GLOBAL_BATCH = 12


def data(step, kind):
    g = np.random.default_rng(1000 + step)
    if kind in ("mlp", "dynamic"):
        x = g.standard_normal((GLOBAL_BATCH, 6)).astype(np.float32)
    else:
        x = g.standard_normal((GLOBAL_BATCH, 1, 6, 6)).astype(np.float32)
    y = g.integers(0, 3, GLOBAL_BATCH)
    return cr.tensor(x), cr.tensor(y)


class SharedMLP(nn.Module):
    """An MLP whose middle Linear runs twice (its gradient reaches it twice per backward)."""

    repeats = 2

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(6, 16)
        self.mid = nn.Linear(16, 16)
        self.out = nn.Linear(16, 3)

    def forward(self, x):
        h = Fn.relu(self.inp(x))
        for _ in range(self.repeats):
            h = Fn.relu(self.mid(h))
        return self.out(h)


def bn_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3))


def make(kind, seed):
    cr.manual_seed(seed)
    model = bn_cnn() if kind in ("bn", "syncbn") else SharedMLP()
    if kind == "syncbn":
        import chainrule.distributed as dist
        if dist.is_initialized():
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, opt


def ddp_step(model, opt, step, kind, rank, world, accumulate=1):
    """One optimizer step of DDP on this rank's share; with ``accumulate`` micro-batches
    the first ones run under no_sync()."""
    x, y = data(step, kind)
    if kind == "dynamic":         # the shared layer runs 1, 2 or 3 times: the gradient
        model.module.repeats = 1 + step % 3    # count per backward changes
    per = GLOBAL_BATCH // world
    xs, ys = x[rank * per:(rank + 1) * per], y[rank * per:(rank + 1) * per]
    opt.zero_grad()
    m = per // accumulate
    for i in range(accumulate):
        xb, yb = xs[i * m:(i + 1) * m], ys[i * m:(i + 1) * m]
        if i < accumulate - 1:
            with model.no_sync():
                (Fn.cross_entropy(model(xb), yb) / accumulate).backward()
        else:
            (Fn.cross_entropy(model(xb), yb) / accumulate).backward()
    opt.step()


def reference(kind, steps, world, accumulate_from=None):
    """One process, the same global batches: the MLP takes the mean loss over the whole
    batch.  The BN CNN runs each of the ``world`` shares through the model separately
    (BN normalises each share with its own statistics, as each DDP rank does) and keeps
    the running statistics of share 0 (DDP broadcasts rank 0's buffers).  SyncBatchNorm
    is compared with plain BatchNorm on the whole batch ("syncbn")."""
    model, opt = make(kind, 100)
    for step in range(steps):
        x, y = data(step, kind)
        opt.zero_grad()
        if kind == "dynamic":
            model.repeats = 1 + step % 3
        if kind in ("mlp", "dynamic", "syncbn"):
            Fn.cross_entropy(model(x), y).backward()
        else:
            per = GLOBAL_BATCH // world
            bufs = {k: v.clone() for k, v in model.named_buffers()}
            losses = []
            for r in reversed(range(world)):      # share 0 last: its statistics stay
                with cr.no_grad():
                    for k, v in model.named_buffers():
                        v.copy_(bufs[k])
                losses.append(Fn.cross_entropy(model(x[r * per:(r + 1) * per]),
                                               y[r * per:(r + 1) * per]))
            (sum(losses) / world).backward()
        opt.step()
    return model


def state(model):
    return {k: v.detach().array.copy() for k, v in model.state_dict().items()}


def collectives(dist, rank, world):
    """Each collective against its definition; an AssertionError aborts the job."""
    R = dist.ReduceOp
    base = np.arange(6, dtype=np.float32).reshape(2, 3)
    total = sum(base + r for r in range(world))
    for op, want in [(R.SUM, total), (R.AVG, total / world),
                     (R.MAX, base + world - 1), (R.MIN, base),
                     (R.PRODUCT, np.prod([base + r for r in range(world)], axis=0))]:
        t = cr.tensor(base + rank)
        assert dist.all_reduce(t, op=op) is None
        np.testing.assert_allclose(t.numpy(), want, err_msg=op)
    t = cr.tensor(base + rank)
    w = dist.all_reduce(t, async_op=True)
    w.wait()
    np.testing.assert_allclose(t.numpy(), total)
    s = cr.tensor(base + rank).t()                     # not contiguous: written back
    dist.all_reduce(s)
    np.testing.assert_allclose(s.numpy(), total.T)
    s = cr.tensor(base + rank)[:, ::2]                  # strided: copied and written back
    dist.all_reduce(s)
    np.testing.assert_allclose(s.numpy(), total[:, ::2])
    b = cr.tensor(base * (rank + 1))
    dist.broadcast(b, src=world - 1)
    np.testing.assert_allclose(b.numpy(), base * world)
    outs = [cr.zeros(2, 3) for _ in range(world)]
    dist.all_gather(outs, cr.tensor(base + rank))
    for r in range(world):
        np.testing.assert_allclose(outs[r].numpy(), base + r)
    flat = cr.zeros(2 * world, 3)
    dist.all_gather_into_tensor(flat, cr.tensor(base + rank))
    np.testing.assert_allclose(flat.numpy(), np.concatenate([base + r for r in range(world)]))
    out = cr.zeros(2, 3)
    dist.reduce_scatter(out, [cr.tensor(base * (i + 1) + rank) for i in range(world)])
    np.testing.assert_allclose(out.numpy(), sum(base * (rank + 1) + r for r in range(world)))
    out = cr.zeros(2, 3)
    inp = np.concatenate([base * (i + 1) for i in range(world)])
    dist.reduce_scatter_tensor(out, cr.tensor(inp + rank))
    np.testing.assert_allclose(out.numpy(), sum(base * (rank + 1) + r for r in range(world)))
    red = cr.tensor(base + rank)
    dist.reduce(red, dst=0)
    if rank == 0:
        np.testing.assert_allclose(red.numpy(), total)
    i = cr.tensor(np.array([rank + 1, 6], np.int64))
    dist.all_reduce(i, op=R.BAND)
    assert i.tolist()[1] == 6
    dist.barrier()
    for bad, msg in [(lambda: dist.all_reduce(base), "must be a Tensor"),
                     (lambda: dist.all_reduce(cr.tensor(base), op="mean"), "unknown op"),
                     (lambda: dist.broadcast(cr.tensor(base), src=world), "is not a rank"),
                     (lambda: dist.all_gather([cr.zeros(2)], cr.tensor(base)), "tensor_list")]:
        try:
            bad()
        except (TypeError, ValueError) as e:
            assert msg in str(e), (msg, str(e))
        else:
            raise AssertionError(f"no error: {msg}")
    print(f"rank {rank}: collectives ok")


def main():
    scenario, out = sys.argv[1], sys.argv[2]
    import chainrule.distributed as dist
    from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if scenario in ("mlp", "bn", "dynamic", "syncbn"):
        model, opt = make(scenario, 100 + rank)
        ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.0005)
        for step in range(6):
            ddp_step(ddp, opt, step, scenario, rank, world,
                     accumulate=2 if scenario == "mlp" and step >= 4 else 1)
        np.savez(os.path.join(out, f"rank{rank}.npz"), **state(model))
    elif scenario in ("raise", "kill", "exit"):
        model, opt = make("mlp", 100)
        ddp = nn.parallel.DistributedDataParallel(model)
        for step in range(1000):
            if rank == 1 and step == 2:
                if scenario == "raise":
                    raise ValueError("rank 1 fails on purpose at step 2")
                if scenario == "exit":      # a clean exit: no exception hook runs
                    sys.exit(3)
                os.kill(os.getpid(), signal.SIGKILL)
            ddp_step(ddp, opt, step % 10, "mlp", rank, world)
    elif scenario.startswith("resume"):
        # resume-<first steps>-<total steps>: train from the checkpoint in OUTDIR if any
        _, first, total = scenario.split("-")
        ckpt = os.path.join(out, "ckpt.safetensors")
        model, opt = make("mlp", 100 + rank)
        start = 0
        if os.path.exists(ckpt):
            start = load_checkpoint(ckpt, model, opt)["epoch"]
        ddp = nn.parallel.DistributedDataParallel(model)
        stop = int(first) if start == 0 else int(total)
        for step in range(start, stop):
            ddp_step(ddp, opt, step, "mlp", rank, world)
        if rank == 0:
            save_checkpoint(ckpt, model, opt, epoch=stop)
        dist.barrier()
        np.savez(os.path.join(out, f"world{world}_rank{rank}.npz"), **state(model))
    elif scenario == "collectives":
        collectives(dist, rank, world)
    else:
        raise SystemExit(f"unknown scenario {scenario}")


if __name__ == "__main__":
    main()
