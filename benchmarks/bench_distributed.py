"""Data parallelism on MPI ranks on this machine: all-reduce bandwidth of
``chainrule.distributed.all_reduce`` against mpi4py's raw ``Allreduce`` on the same
buffers, the alpha-beta fit of the ring all-reduce used in docs/distributed.md, and
training throughput of 2 ranks (DDP) against 1 process with the same global batch.

    python benchmarks/bench_distributed.py [--sizes ...] [--batch 256] [--json out.json]

The script launches itself under ``mpiexec`` (``--worker``).  Each rank runs with one
BLAS thread; the one-process baselines run with 1 and with 2 threads (2 ranks on a
2-core machine use both cores).  Unset OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE in the
environment, as the other benchmarks do.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# MPICH: ranks on one machine talk through shared memory; with these settings through
# the network module instead, libfabric's TCP provider over the loopback interface
TCP_LOOPBACK = {"MPIR_CVAR_NOLOCAL": "1", "MPIR_CVAR_CH4_NETMOD": "ofi", "FI_PROVIDER": "tcp"}


def _env(threads, extra=None):
    env = dict(os.environ, **(extra or {}))
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(k, None)
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    env["CHAINRULE_CPU_TUNE"] = "1"
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _median_time(fn, repeat, number):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        ts.append((time.perf_counter() - t0) / number)
    return statistics.median(ts)


# ------------------------------------------------------------------ worker side
def worker_allreduce(sizes):
    """Per size (float32 elements): seconds per all-reduce, chainrule and raw mpi4py,
    interleaved in rounds so load from other processes hits both alike."""
    import numpy as np
    from mpi4py import MPI
    import chainrule.distributed as dist
    from chainrule.core.tensor import from_array
    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD
    out = []
    for n in sizes:
        arr = np.ones(n, np.float32)
        t = from_array(arr)
        number = max(1, min(200, int(2e7 // max(n, 1))))

        def ours():
            dist.all_reduce(t)

        def raw():
            comm.Allreduce(MPI.IN_PLACE, arr, op=MPI.SUM)
        a, b = [], []
        for rnd in range(10):               # rounds; which one goes first alternates
            for which in ((ours, a), (raw, b))[::1 if rnd % 2 else -1]:
                comm.Barrier()
                which[1].append(_median_time(which[0], 3, number))
        # every rank must agree on the time: take the slowest rank's
        ta = comm.allreduce(statistics.median(a), op=MPI.MAX)
        tb = comm.allreduce(statistics.median(b), op=MPI.MAX)
        # the fastest round: closest to the intrinsic cost on a loaded machine
        ma = comm.allreduce(min(a), op=MPI.MAX)
        mb = comm.allreduce(min(b), op=MPI.MAX)
        out.append({"elements": n, "bytes": 4 * n, "chainrule_s": ta, "mpi4py_s": tb,
                    "chainrule_min_s": ma, "mpi4py_min_s": mb})
    if comm.Get_rank() == 0:
        print(json.dumps({"allreduce": out, "world": comm.Get_size()}))


def _mlp_step(global_batch, rank, world, ddp):
    import numpy as np
    import chainrule as cr
    import chainrule.nn as nn
    import chainrule.nn.functional as Fn
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    if ddp:
        model = nn.parallel.DistributedDataParallel(model)
    opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    g = np.random.default_rng(0)
    per = global_batch // world
    x = cr.tensor(g.standard_normal((global_batch, 784)).astype(np.float32)[rank * per:
                                                                          (rank + 1) * per])
    y = cr.tensor(g.integers(0, 10, global_batch)[rank * per:(rank + 1) * per])

    def step():
        opt.zero_grad()
        Fn.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def worker_throughput(global_batch, steps):
    """Samples per second of the MLP on this world (DDP when world > 1)."""
    from mpi4py import MPI
    import chainrule.distributed as dist
    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD
    rank, world = comm.Get_rank(), comm.Get_size()
    step = _mlp_step(global_batch, rank, world, ddp=world > 1)
    for _ in range(3):
        step()
    ts = []
    for _ in range(steps):
        comm.Barrier()
        t0 = time.perf_counter()
        step()
        ts.append(comm.allreduce(time.perf_counter() - t0, op=MPI.MAX))
    if rank == 0:
        s = statistics.median(ts)
        print(json.dumps({"world": world, "step_s": s, "samples_per_s": global_batch / s}))


# ------------------------------------------------------------------ launcher side
def _run(n, args, threads, extra_env=None):
    cmd = ["mpiexec", "-n", str(n), sys.executable, os.path.abspath(__file__), "--worker"] + args
    p = subprocess.run(cmd, capture_output=True, text=True, env=_env(threads, extra_env),
                       timeout=900)
    if p.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def fit_alpha_beta(rows, world):
    """Least squares for the ring model t = 2(p-1) alpha + 2 (p-1)/p n beta (n bytes)."""
    import numpy as np
    p = world
    A = np.array([[2 * (p - 1), 2 * (p - 1) / p * r["bytes"]] for r in rows])
    t = np.array([r["mpi4py_s"] for r in rows])
    # weight by 1/t so the small messages (latency) count as much as the large ones
    w = 1 / t
    (alpha, beta), *_ = np.linalg.lstsq(A * w[:, None], t * w, rcond=None)
    return float(alpha), float(beta)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--what", default="allreduce", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", type=int, nargs="*",
                    default=[1, 256, 4096, 65536, 262144, 1 << 20, 4 << 20, 16 << 20])
    ap.add_argument("--batch", type=int, default=256, help="global batch (default 256)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--transport", choices=["both", "shared", "tcp"], default="both",
                    help="all-reduce through shared memory, TCP loopback, or both")
    ap.add_argument("--no-throughput", action="store_true", help="all-reduce only")
    args = ap.parse_args()
    if args.worker:
        if args.what == "allreduce":
            worker_allreduce(args.sizes)
        else:
            worker_throughput(args.batch, args.steps)
        return
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()} at start", flush=True)
    res = {"load_start": os.getloadavg()}
    for transport, extra in [("shared memory", None), ("TCP loopback", TCP_LOOPBACK)]:
        if args.transport not in ("both", transport.split()[0].lower()):
            continue
        ar = _run(2, ["--what", "allreduce", "--sizes"] + [str(s) for s in args.sizes], 1,
                  extra)
        key = "shm" if extra is None else "tcp"
        res[f"allreduce_{key}"] = ar["allreduce"]
        print(f"all-reduce over 2 ranks, {transport} (float32, in place; slowest rank; "
              f"median of 10 rounds, and the fastest round)")
        print(f"{'bytes':>10s} {'chainrule':>12s} {'mpi4py':>12s} {'ratio':>7s} "
              f"{'GB/s (bus)':>11s} {'min: chainrule':>15s} {'mpi4py':>12s} {'ratio':>7s}")
        for r in ar["allreduce"]:
            r["ratio"] = r["mpi4py_s"] / r["chainrule_s"]
            r["ratio_min"] = r["mpi4py_min_s"] / r["chainrule_min_s"]
            bus = r["bytes"] / r["chainrule_s"] / 1e9        # 2(p-1)/p = 1 for p = 2
            print(f"{r['bytes']:10d} {r['chainrule_s'] * 1e6:10.1f}us "
                  f"{r['mpi4py_s'] * 1e6:10.1f}us {r['ratio']:6.2f}x {bus:10.2f} "
                  f"{r['chainrule_min_s'] * 1e6:13.1f}us {r['mpi4py_min_s'] * 1e6:10.1f}us "
                  f"{r['ratio_min']:6.2f}x")
        alpha, beta = fit_alpha_beta(ar["allreduce"], 2)
        res[f"alpha_{key}_s"], res[f"beta_{key}_s_per_byte"] = alpha, beta
        if key == "tcp" or "alpha_s" not in res:
            res["alpha_s"], res["beta_s_per_byte"] = alpha, beta     # the model's input
        print(f"ring fit (2 ranks, {transport}): alpha = {alpha * 1e6:.2f} us, "
              f"1/beta = {1 / beta / 1e9:.2f} GB/s", flush=True)
    if args.transport == "tcp":
        return _finish(res, args)
    if args.no_throughput:
        return _finish(res, args)
    base = f"MLP 784-512-512-10, global batch {args.batch}, SGD momentum"
    rows = []
    for n, threads in [(1, 1), (1, 2), (2, 1)]:
        r = _run(n, ["--what", "throughput", "--batch", str(args.batch),
                     "--steps", str(args.steps)], threads)
        rows.append({"ranks": n, "threads_per_rank": threads, **r})
        print(f"{base}: {n} rank(s) x {threads} thread(s): {r['step_s'] * 1e3:8.2f} ms/step, "
              f"{r['samples_per_s']:9.0f} samples/s", flush=True)
    res["throughput"] = rows
    one1, one2, two = (r["samples_per_s"] for r in rows)
    print(f"2 ranks vs 1 process: {two / one1:.2f}x (1 thread), {two / one2:.2f}x (2 threads)")
    return _finish(res, args)


def _finish(res, args):
    res["load_end"] = os.getloadavg()
    print(f"load average at end {res['load_end']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
