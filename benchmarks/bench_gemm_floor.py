"""The GEMM floor: how fast can any NumPy-based step be against torch's?

Two measurements, in one run, at ``--threads`` (both frameworks pinned to it):

1. The GEMMs of the workloads, one shape at a time: NumPy's ``matmul`` (the BLAS
   chainrule calls) against ``torch.mm`` on the same float32 operands, ``A @ B`` and
   the weight-gradient orientation ``A^T @ G``.  Where these agree, a chainrule step
   can spend no less time in GEMMs than torch does.
2. torch's own training step of each bench_compile.py workload, timed, then profiled
   with ``torch.profiler``: the self time of its GEMM kernels (``mm``, ``addmm``,
   ``bmm``, oneDNN's fused RNN layers, convolutions) against the whole step.

``torch step / torch GEMM time`` is then the largest speed ratio against torch that a
step whose GEMMs run at torch's speed can reach, even with everything else free.  It is
generous: oneDNN's RNN layer also does the LSTM's elementwise work inside the time
counted as GEMM here.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_gemm_floor.py --threads 1
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_gemm_floor.py --threads 2
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import _threads  # noqa: F401,E402  (pins BLAS threads before NumPy loads)

import numpy as np  # noqa: E402

# (M, K, N) of the GEMMs that dominate each workload's step
SHAPES = {
    "mlp": [(128, 784, 256), (128, 256, 256)],
    "lstm": [(1120, 256, 1024), (1120, 256, 1027), (32, 256, 1024)],
    "transformer": [(512, 128, 384), (512, 128, 128), (512, 128, 512), (512, 512, 128)],
}
GEMM_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::_addmm_activation",
            "aten::mkldnn_rnn_layer", "aten::mkldnn_rnn_layer_backward",
            "aten::mkldnn_convolution", "aten::convolution_backward", "aten::dot", "aten::mv"}


def _time(f, n):
    for _ in range(5):
        f()
    t = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t) / n


def gemm_parity(workloads, reps):
    import torch
    rng = np.random.default_rng(0)
    print("GEMM shape (M x K x N)      numpy A@B  torch A@B  torch/numpy   numpy A^T@G  torch A^T@G  "
          "torch/numpy")
    for wl in workloads:
        for m, k, n in SHAPES.get(wl, []):
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = rng.standard_normal((k, n)).astype(np.float32)
            g = rng.standard_normal((m, n)).astype(np.float32)
            o = np.empty((m, n), np.float32)
            at, bt, gt, ot = (torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(g),
                              torch.empty(m, n))
            n1 = _time(lambda: np.matmul(a, b, out=o), reps)
            t1 = _time(lambda: torch.mm(at, bt, out=ot), reps)
            n2 = _time(lambda: a.T @ g, reps)
            t2 = _time(lambda: at.T @ gt, reps)
            print(f"{wl:>11} {m:5d}x{k:4d}x{n:4d}  {n1 * 1e6:8.1f} us {t1 * 1e6:8.1f} us  "
                  f"{t1 / n1:6.2f}x     {n2 * 1e6:8.1f} us  {t2 * 1e6:8.1f} us  {t2 / n2:6.2f}x")


def torch_floor(workloads, steps):
    import bench_compile as bc
    from torch.profiler import ProfilerActivity, profile
    print("\nworkload     torch step   its GEMM time  GEMM share   largest reachable ratio vs torch")
    out = {}
    for wl in workloads:
        step, _ = bc.make_step(wl, "torch")
        for _ in range(10):
            step()
        ts = []
        for _ in range(steps):
            t = time.perf_counter()
            step()
            ts.append(time.perf_counter() - t)
        t_step = statistics.median(ts)
        n = max(5, steps // 2)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(n):
                step()
        gemm = sum(e.self_cpu_time_total for e in prof.key_averages()
                   if e.key in GEMM_OPS) / 1e6 / n
        out[wl] = t_step / gemm
        print(f"{wl:<12} {t_step * 1e3:8.2f} ms  {gemm * 1e3:8.2f} ms    {gemm / t_step:6.1%}      "
              f"{t_step / gemm:5.2f}x")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workload", default="mlp,lstm,transformer")
    p.add_argument("--reps", type=int, default=100)
    p.add_argument("--steps", type=int, default=30)
    a = p.parse_args()
    import bench_compile as bc
    bc._set_threads(a.threads)
    from threadpoolctl import threadpool_info, threadpool_limits
    threadpool_limits(a.threads)
    blas = [(i["internal_api"], i.get("version"), i.get("architecture"), i["num_threads"])
            for i in threadpool_info()]
    print(f"{a.threads} thread(s); BLAS {blas}; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    wls = a.workload.split(",")
    gemm_parity(wls, a.reps)
    torch_floor(wls, a.steps)


if __name__ == "__main__":
    main()
