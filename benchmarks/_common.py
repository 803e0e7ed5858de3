"""Shared timing helpers: median wall time of repeated runs, in one process."""
import statistics
import time


def bench(fn, repeat=7, number=None, min_time=0.2):
    """Median seconds per call of ``fn`` (auto-calibrated inner loop)."""
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
