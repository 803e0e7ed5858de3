"""Pin the BLAS/OpenMP thread count from ``--threads N`` (default 2) before NumPy
or torch loads, so both frameworks run their GEMMs on the same number of
threads.  Import this first in a benchmark script."""
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
