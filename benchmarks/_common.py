"""Shared timing helpers: median wall time of repeated runs, in one process."""
import os
import statistics
import sys
import time


SETTLE_S = 0.3


def bench(fn, repeat=7, number=None, min_time=0.2, settle=SETTLE_S):
    """Median seconds per call of ``fn`` (auto-calibrated inner loop).

    Sleeps ``settle`` seconds first: after a multi-threaded call OpenBLAS's workers
    and torch's OpenMP threads spin for a while, and in one process the pool of
    the framework timed just before would take a core from this one (torch's
    LeNet step measured 6.4-12.4 ms without the pause)."""
    if settle:
        time.sleep(settle)
    fn()  # warm up
    if number is None:
        number = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            if time.perf_counter() - t0 >= min_time / repeat or number >= 1 << 20:
                break
            number *= 2
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def fmt_time(s):
    return f"{s * 1e6:9.2f} us" if s < 1e-3 else f"{s * 1e3:9.3f} ms"


def report(rows):
    """rows: (name, chainrule_seconds, torch_seconds or None)."""
    print(f"{'workload':44s} {'chainrule':>12s} {'torch':>12s} {'speed vs torch':>15s}")
    for name, c, t in rows:
        ratio = f"{t / c:14.2f}x" if t else "            -"
        print(f"{name:44s} {fmt_time(c):>12s} {fmt_time(t) if t else '-':>12s} {ratio}")


def rss_bytes():
    """Current resident set size of this process (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def peak_rss_bytes():
    """Peak resident set size of this process (VmHWM on Linux).  Unlike
    ``getrusage``'s maxrss it is not inherited across fork+exec, so a child
    started by a parent that imported torch does not report torch's size."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss():
    """Reset the peak RSS to the current RSS (Linux; a no-op elsewhere), so
    that a later ``peak_rss_bytes()`` sees only what came after setup."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def memory_in_child(script, framework, extra_args=()):
    """Run ``script --memory FRAMEWORK`` in a fresh process and return the
    bytes its training steps added to the peak RSS over the RSS after setup
    (each framework in its own process so neither sees the other's heap)."""
    import json
    import subprocess
    out = subprocess.run([sys.executable, script, "--memory", framework, *extra_args],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["step_peak_bytes"]


def fmt_bytes(n):
    return f"{n / 2**20:8.1f} MiB"


def print_setup():
    """One line naming the BLAS kernel that runs (threadpoolctl), its threads, and
    whether chainrule's CPU tuning is on, so that ratios can be compared."""
    import chainrule
    from chainrule.backend import cpu
    try:
        from threadpoolctl import threadpool_info
        blas = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                f"x{i.get('num_threads')}" for i in threadpool_info()
                if i.get("user_api") == "blas"]
    except ImportError:
        blas = ["unknown (pip install threadpoolctl)"]
    tuned = "tuned" if cpu.blas_control_enabled() or cpu.malloc_tuned() else "untuned"
    print(f"BLAS: {'; '.join(blas)} | chainrule {tuned}, {chainrule.get_num_threads()} "
          f"kernel threads | OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}",
          flush=True)
