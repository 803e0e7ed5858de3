"""chainrule.compile against eager chainrule and eager torch on the CPU, in one run.

Workloads (float32, the same data in every variant; weights drawn per framework with
the same seeds, so chainrule eager and compiled start identical):

* ``chain``: the 100-op chain of bench_overhead.py (mul/add/tanh x 34 on 16 elements),
  forward + backward: what per-op dispatch costs;
* ``mlp``: 784-256-256-10 ReLU MLP, batch 128, SGD step;
* ``lenet``: LeNet-5 (bench_conv.py), 1x28x28, batch 128, SGD step;
* ``resnet``: the small ResNet of bench_conv.py, 3x32x32, batch 64, momentum SGD step;
* ``lstm``: the char LSTM LM of bench_lstm.py (vocab 1027, embed/hidden 256, T=35,
  batch 32), SGD step with clip_grad_norm_;
* ``transformer``: a 2-layer encoder (d_model 128, 4 heads, ff 512, seq 32, batch 16,
  dropout ``--dropout``, 0 by default as in the earlier tables; compiled programs draw
  dropout masks afresh at every call, as eager mode does), MSE, Adam.

For each: the best over ``--rounds`` of the median step time, the variants interleaved
round by round (after warm-up; compiled steps after the two traced calls),
the compile cost (``compile_s``: the two traced eager calls, the passes and the plan),
whether the step really ran compiled, and with ``--memory`` the peak memory a step adds
(each variant in its own child process).  Ratios: torch's time / ours.

Run it as the issue asks, once per thread count, with the old-OpenBLAS variables unset:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_compile.py --threads 1
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_compile.py --threads 2

Options: ``--workload chain,mlp,...`` (default all), ``--memory``, ``--rounds N``,
``--clock wall|cpu`` (cpu: process CPU time, for a loaded machine), ``--untuned``,
``--isolate`` (torch timed in a process of its own: at 2 threads, in one process,
OpenBLAS's spinning threads and torch's OpenMP threads slow each other; torch's
Transformer step took 11.9 ms in one run and 23.8 ms in the next).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import _threads  # noqa: F401,E402  (pins BLAS threads before NumPy loads)

import numpy as np  # noqa: E402
from _common import (fmt_bytes, fmt_time, peak_rss_bytes,  # noqa: E402
                     print_setup, reset_peak_rss, rss_bytes)

WORKLOADS = ("chain", "mlp", "lenet", "resnet", "lstm", "transformer")
VARIANTS = ("eager", "compiled", "torch")
PASSES = None                     # --passes; the default is chainrule.compile's
DROPOUT = 0.0                     # --dropout (the transformer's)


def _lib(variant):
    if variant == "torch":
        import torch as m
        return m, m.nn, m.optim, m.from_numpy
    import chainrule as m
    return m, m.nn, m.optim, m.tensor


def _model(workload, m, nn):
    import bench_conv
    m.manual_seed(0)
    if workload == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                             nn.Linear(256, 10))
    if workload == "lenet":
        model = bench_conv.lenet(nn)
        bench_conv._copy_init(model, m)
        return model
    if workload == "resnet":
        model = bench_conv.resnet(nn)
        bench_conv._copy_init(model, m)
        return model
    if workload == "lstm":
        class LM(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(1027, 256)
                self.rnn = nn.LSTM(256, 256)
                self.out = nn.Linear(256, 1027)

            def forward(self, tokens):
                h, _ = self.rnn(self.embed(tokens))
                return self.out(h.reshape(-1, 256))
        return LM()
    if workload == "transformer":
        kw = {"enable_nested_tensor": False} if m.__name__ == "torch" else {}
        layer = nn.TransformerEncoderLayer(128, 4, 512, dropout=DROPOUT, batch_first=True)
        return nn.TransformerEncoder(layer, 2, **kw)
    raise ValueError(workload)


def _data(workload):
    rng = np.random.default_rng(0)
    if workload == "mlp":
        return rng.standard_normal((128, 784)).astype(np.float32), rng.integers(0, 10, 128)
    if workload == "lenet":
        return (rng.standard_normal((128, 1, 28, 28)).astype(np.float32),
                rng.integers(0, 10, 128))
    if workload == "resnet":
        return rng.standard_normal((64, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 64)
    if workload == "lstm":
        return rng.integers(0, 1027, (35, 32)), rng.integers(0, 1027, 35 * 32)
    return (rng.standard_normal((16, 32, 128)).astype(np.float32),
            rng.standard_normal((16, 32, 128)).astype(np.float32))


def _chain(x):
    y = x
    for _ in range(34):  # 3 ops each -> 102 ops
        y = (y * 1.001 + 0.01).tanh()
    return y.sum()


def make_step(workload, variant):
    """(step closure, the compiled callable or None)."""
    m, nn, optim, from_numpy = _lib(variant)
    compiled = None
    if workload == "chain":
        a = np.random.default_rng(0).standard_normal(16).astype(np.float32)
        f = _chain
        if variant == "compiled":
            f = compiled = m.compile(_chain, passes=PASSES)

        def step():
            x = m.tensor(a, requires_grad=True)
            f(x).backward()
        return step, compiled
    x, y = _data(workload)
    if workload == "transformer":
        xt, yt = from_numpy(x), from_numpy(y)
    else:
        xt = from_numpy(np.ascontiguousarray(x))
        yt = from_numpy(np.asarray(y, np.int64))
    model = _model(workload, m, nn)
    params = list(model.parameters())
    if workload == "transformer":
        opt, loss_fn = optim.Adam(params, lr=1e-3), nn.MSELoss()
    elif workload == "resnet":
        opt, loss_fn = optim.SGD(params, lr=0.05, momentum=0.9), nn.CrossEntropyLoss()
    else:
        opt, loss_fn = optim.SGD(params, lr=0.05), nn.CrossEntropyLoss()
    run = model
    if variant == "compiled":
        run = compiled = m.compile(model, passes=PASSES)
    clip = nn.utils.clip_grad_norm_ if workload == "lstm" else None

    def step():
        opt.zero_grad()
        loss = loss_fn(run(xt), yt)
        loss.backward()
        if clip is not None:
            clip(params, 1.0)
        opt.step()
        return loss
    return step, compiled


def _set_threads(n, torch_too=True):
    import chainrule
    if not _threads.UNTUNED:
        chainrule.set_num_threads(n)
    if not torch_too:
        return
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass


def time_worker(spec, rounds, clock):
    """``--isolate``: one variant's best-of-rounds median step time, in its own
    process (printed as JSON)."""
    workload, variant = spec.split(":")
    _set_threads(int(os.environ.get("BENCH_THREADS", "2")))
    step, _ = make_step(workload, variant)
    for _ in range(3):
        step()
    t = measure({variant: step}, rounds, _clock(clock), 50 if workload == "chain" else 5)
    print(json.dumps({"time": t[variant]}))


def memory_worker(spec, steps=5):
    """Peak bytes one training step adds: NumPy's heap through tracemalloc for
    chainrule (NumPy reports its array allocations there; exact, unlike RSS, which the
    allocator's caching flattens), the resident set for torch (its allocator is not
    traced)."""
    import tracemalloc
    workload, variant = spec.split(":")
    _set_threads(int(os.environ.get("BENCH_THREADS", "2")))
    step, _ = make_step(workload, variant)
    for _ in range(3):   # past the traced calls: measure the planned steps
        step()
    peak = 0
    if variant == "torch":
        reset_peak_rss()
        base = rss_bytes()
        for _ in range(steps):
            step()
        peak = max(0, peak_rss_bytes() - base)
    else:
        tracemalloc.start()
        for _ in range(steps):
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            step()
            peak = max(peak, tracemalloc.get_traced_memory()[1] - before)
        tracemalloc.stop()
    print(json.dumps({"step_peak_bytes": peak}))


def _clock(kind):
    return time.perf_counter if kind == "wall" else time.process_time


def measure(steps, rounds, clock, per_round):
    """Best over ``rounds`` of the median step time, the variants interleaved round by
    round (the least disturbed round on a shared machine)."""
    import statistics
    best = {v: float("inf") for v in steps}
    for _ in range(rounds):
        for v, step in steps.items():
            ts = []
            for _ in range(per_round):
                t0 = clock()
                step()
                ts.append(clock() - t0)
            best[v] = min(best[v], statistics.median(ts))
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workload", default=",".join(WORKLOADS))
    p.add_argument("--memory", action="store_true", help="also measure peak step memory")
    p.add_argument("--rounds", type=int, default=3)
    from chainrule.compile.passes import DEFAULT_PASSES
    p.add_argument("--passes", default=",".join(DEFAULT_PASSES),
                   help="passes of the compiled variant ('none': no pass), to measure each")
    p.add_argument("--no-rules", action="store_true",
                   help="compiled backward calls every op's own backward (no array rules)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="cpu: process CPU time per step (resists a loaded machine)")
    p.add_argument("--dropout", type=float, default=0.0, help="the transformer's dropout")
    p.add_argument("--isolate", action="store_true",
                   help="time torch in a child process of its own: in one process, the "
                        "spinning worker threads of one library's thread pool (OpenBLAS, "
                        "OpenMP) take the cores from the other's at 2 threads")
    p.add_argument("--memory-worker", help=argparse.SUPPRESS)
    p.add_argument("--time-worker", help=argparse.SUPPRESS)
    a = p.parse_args()
    os.environ["BENCH_THREADS"] = str(a.threads)
    global PASSES, DROPOUT
    DROPOUT = a.dropout
    PASSES = () if a.passes == "none" else tuple(a.passes.split(","))
    if a.no_rules:
        from chainrule.compile import program
        program._use_rules[0] = False
    if a.memory_worker:
        return memory_worker(a.memory_worker)
    if a.time_worker:
        return time_worker(a.time_worker, a.rounds, a.clock)
    print_setup()
    _set_threads(a.threads, torch_too=not a.isolate)
    print(f"{a.threads} thread(s), {a.clock} clock, best of {a.rounds} rounds; passes "
          f"{list(PASSES)}{', no backward rules' if a.no_rules else ''}; load average "
          f"{os.getloadavg()[0]:.1f} at start" + ("; torch timed in its own process"
                                                    if a.isolate else ""))
    print(f"{'workload':12s} {'eager':>11s} {'compiled':>11s} {'torch':>11s} "
          f"{'compiled/eager':>15s} {'vs torch: eager':>16s} {'compiled':>9s} "
          f"{'compile_s':>10s}")
    clock = _clock(a.clock)
    for w in a.workload.split(","):
        steps, comp = {}, None
        for v in VARIANTS:
            if v == "torch":
                if a.isolate:
                    continue
                try:
                    import torch  # noqa: F401
                except ImportError:
                    continue
            step, c = make_step(w, v)
            if c is not None:
                comp = c
            for _ in range(3):   # warm up (the compiled variant: its two traced calls)
                step()
            steps[v] = step
        per_round = 50 if w == "chain" else 5
        times = measure(steps, a.rounds, clock, per_round)
        if a.isolate:
            import subprocess
            extra = ["--threads", str(a.threads), "--passes", a.passes, "--dropout",
                     str(a.dropout), "--rounds", str(a.rounds), "--clock", a.clock]
            out = subprocess.run([sys.executable, __file__, "--time-worker", f"{w}:torch",
                                  *extra], capture_output=True, text=True)
            if out.returncode == 0:
                times["torch"] = json.loads(out.stdout.strip().splitlines()[-1])["time"]
        entry = next(iter(comp._cache.values()))
        ok = "yes" if entry.program is not None else f"NO ({entry.reason})"
        t_e, t_c, t_t = times["eager"], times["compiled"], times.get("torch")
        vs = (lambda t: f"{t_t / t:.2f}x") if t_t else (lambda t: "-")
        print(f"{w:12s} {fmt_time(t_e):>11s} {fmt_time(t_c):>11s} "
              f"{fmt_time(t_t) if t_t else '-':>11s} {t_e / t_c:14.2f}x {vs(t_e):>16s} "
              f"{vs(t_c):>9s} {entry.compile_s:9.3f}s  compiled: {ok}", flush=True)
        if a.memory:
            extra = ["--threads", str(a.threads), "--passes", a.passes,
                     "--dropout", str(a.dropout)] + (
                ["--no-rules"] if a.no_rules else [])
            mem = {v: memory_in_child_spec(w, v, extra) for v in VARIANTS if v in times}
            print(f"{'':12s} peak step memory: " + ", ".join(
                f"{v} {fmt_bytes(b).strip()}" for v, b in mem.items()) +
                " (chainrule: NumPy heap via tracemalloc; torch: RSS)", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def memory_in_child_spec(workload, variant, extra):
    import subprocess
    out = subprocess.run([sys.executable, __file__, "--memory-worker", f"{workload}:{variant}",
                          *extra], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["step_peak_bytes"]


if __name__ == "__main__":
    main()
