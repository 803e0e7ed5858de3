"""Data-parallel training on real MPI ranks: ``mpiexec -n N`` in a subprocess, with a
timeout so that a hang fails the test instead of stalling CI.

What is compared (see ddp_worker.reference):
* MLP (one weight used twice per forward, so its gradient arrives twice; several small
  buckets; the last two steps accumulate two micro-batches under ``no_sync``): every
  rank's parameters after 6 SGD-momentum steps equal, to 1e-6, one process's trained on
  the same global batches.
* dynamic: the same MLP with its shared layer run 1, 2 or 3 times by turns, so the
  number of gradients per backward changes and buckets reduced early must be reduced
  again.
* syncbn: the BN CNN with SyncBatchNorm on 2 ranks equals plain BatchNorm on the whole
  batch in one process, parameters and every rank's running statistics.
* BN CNN: each DDP rank normalises its own share (torch's DDP semantics), so the single
  process runs each share through BatchNorm separately and averages the losses; the
  parameters of every rank and rank 0's running statistics (DDP broadcasts rank 0's
  buffers before each forward) must match it to 1e-6.
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="the MPI tests need mpi4py (pip install mpi4py mpich)")
if shutil.which("mpiexec") is None:
    pytest.skip("the MPI tests need mpiexec (pip install mpich)", allow_module_level=True)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import ddp_worker as W  # noqa: E402


def mpirun(n, scenario, out, timeout=90, **env_vars):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", **env_vars)
    return subprocess.run(["mpiexec", "-n", str(n), sys.executable,
                           os.path.join(HERE, "ddp_worker.py"), scenario, str(out)],
                          capture_output=True, text=True, timeout=timeout, env=env)


def _ok(p):
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]


def _close(got, ref, keys=None):
    for k in keys or ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("kind", ["mlp", "bn", "dynamic", "syncbn"])
def test_ddp_two_ranks_match_one_process(tmp_path, kind):
    _ok(mpirun(2, kind, tmp_path))
    ref = W.state(W.reference(kind, 6, 2))
    params = [k for k in ref if "running" not in k and "num_batches" not in k]
    for r in (0, 1):
        _close(np.load(tmp_path / f"rank{r}.npz"), ref, params if kind == "bn" else None)
    _close(np.load(tmp_path / "rank0.npz"), ref)          # rank 0's buffers too
    # the comparison can fail: the ranks started from different weights, and without
    # averaging the gradients the result is far from the reference
    init = W.state(W.make(kind, 101)[0])
    assert max(np.abs(init[k] - ref[k]).max() for k in params) > 1e-2


@pytest.mark.parametrize("how", ["raise", "kill", "exit"])
def test_failing_rank_ends_the_job(tmp_path, how):
    # a hang raises TimeoutExpired; "exit" (sys.exit on rank 1, which runs no exception
    # hook) is ended by rank 0's collective timeout, set to 3 s here
    p = mpirun(2, how, tmp_path, timeout=60, CHAINRULE_DIST_TIMEOUT="3")
    assert p.returncode != 0
    if how == "raise":
        assert "rank 1 failed" in p.stderr and "fails on purpose" in p.stderr
    if how == "exit":
        assert "rank 0: all_reduce did not complete within 3 s" in p.stderr


@pytest.mark.parametrize("first,then", [(2, 1), (1, 3)])
def test_checkpoint_resume_across_world_sizes(tmp_path, first, then):
    _ok(mpirun(first, "resume-3-6", tmp_path))
    assert (tmp_path / "ckpt.safetensors").exists()
    _ok(mpirun(then, "resume-3-6", tmp_path))
    ref = W.state(W.reference("mlp", 6, 1))
    for r in range(then):
        _close(np.load(tmp_path / f"world{then}_rank{r}.npz"), ref)


@pytest.mark.parametrize("n", [2, 3])
def test_collectives(tmp_path, n):
    p = mpirun(n, "collectives", tmp_path)
    _ok(p)
    assert p.stdout.count("collectives ok") == n
