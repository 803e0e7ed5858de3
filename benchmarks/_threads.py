"""Pin the BLAS/OpenMP thread count from ``--threads N`` (default 2) before NumPy
or torch loads, so both frameworks run their GEMMs on the same number of
threads, and apply chainrule's CPU tuning (allocator, BLAS thread control) as
chainrule's CLI does, unless ``--untuned`` is given (then chainrule runs as a
plain ``import chainrule`` leaves it).  Import this first in a benchmark script."""
import os
import sys


def _threads_from_argv(default="2"):
    argv = sys.argv
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return default


THREADS = _threads_from_argv()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, THREADS)
os.environ.setdefault("BENCH_THREADS", THREADS)
UNTUNED = "--untuned" in sys.argv
if UNTUNED:
    sys.argv.remove("--untuned")
os.environ.setdefault("CHAINRULE_CPU_TUNE", "0" if UNTUNED else "1")
