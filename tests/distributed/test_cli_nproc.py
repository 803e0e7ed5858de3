"""``chainrule train --nproc 2``: rank 0 writes the run folder, the checkpoint holds the
unwrapped model, and the run resumes in one process (and a one-process run resumes on
two), each within a timeout so that a hang fails the test."""
import json
import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("mpi4py", reason="the MPI tests need mpi4py (pip install mpi4py mpich)")
if shutil.which("mpiexec") is None:
    pytest.skip("the MPI tests need mpiexec (pip install mpich)", allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAST = ["mlp", "--data", "digits", "--hidden-sizes", "32", "--batch-size", "64",
        "--no-progress"]


def cli(*args, timeout=180):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-m", "chainrule", "train", *args], env=env,
                       capture_output=True, text=True, timeout=timeout)
    return p


def test_nproc_two_then_resume_on_one_and_back(tmp_path):
    out = tmp_path / "run"
    p = cli(*FAST, "--epochs", "1", "--out", str(out), "--nproc", "2")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "data parallel on 2 processes (MPI): 32 samples per process" in p.stdout
    assert p.stdout.count("epoch 1/1") == 1                 # rank 0 speaks alone
    assert sorted(os.listdir(out)) == ["best.ckpt", "curves.png", "history.csv",
                                       "history.json", "last.ckpt"]
    p = cli(*FAST, "--epochs", "2", "--out", str(out), "--resume", str(out / "last.ckpt"))
    assert p.returncode == 0, p.stderr[-3000:]
    assert "after epoch 1" in p.stdout and "epoch 2/2" in p.stdout
    p = cli(*FAST, "--epochs", "3", "--out", str(out), "--resume", str(out / "last.ckpt"),
            "--nproc", "2")
    assert p.returncode == 0, p.stderr[-3000:]
    hist = json.load(open(out / "history.json"))
    rows = hist if isinstance(hist, list) else hist["history"]
    assert [r["epoch"] for r in rows] == [1, 2, 3]


def test_nproc_batch_must_divide(tmp_path):
    p = cli(*FAST[:-3], "--batch-size", "63", "--no-progress", "--epochs", "1",
            "--out", str(tmp_path / "r"), "--nproc", "2", timeout=120)
    assert p.returncode != 0
    assert "63" in p.stderr and "multiple of the number of processes (2)" in p.stderr
