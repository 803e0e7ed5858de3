"""Small GEMMs run on one BLAS thread (chainrule.backend.cpu.threads.gemm_threads)
and restore the thread count afterwards, also when nested in kernel blocks."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.backend.cpu import threads as P

blas = pytest.mark.skipif(P._find_openblas() is None, reason="needs OpenBLAS control")


@pytest.fixture(autouse=True)
def blas_control(monkeypatch):
    """BLAS control as chainrule's CLI enables it, undone after the test."""
    monkeypatch.setattr(P._State, "blas", P._find_openblas())
    monkeypatch.setattr(P._State, "threads", P._State.threads)


@blas
def test_small_gemm_runs_single_threaded_and_restores():
    before = cr.get_num_threads()
    cr.set_num_threads(2)
    try:
        seen = []
        with P.gemm_threads(64, 64, 64):
            seen.append(P._State.blas[1]())
        seen.append(P._State.blas[1]())
        with P.gemm_threads(4096, 4096, 4096):  # large: left alone
            seen.append(P._State.blas[1]())
        assert seen == [1, 2, 2]
        # inside kernel blocks (BLAS already at 1) the count comes back to 2 after both
        P.run(lambda b: P.gemm_threads(8, 8, 8).__enter__().__exit__(), [0, 1, 2])
        assert P._State.blas[1]() == 2 and P._State.blas_users == 0
    finally:
        cr.set_num_threads(before)


def test_linear_and_matmul_results_unchanged():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((32, 40)), rng.standard_normal((24, 40))
    t = cr.tensor(x, requires_grad=True)
    y = cr.nn.functional.linear(t, cr.tensor(w))
    np.testing.assert_allclose(y.detach().numpy(), x @ w.T, rtol=1e-12)
    (cr.tensor(x) @ cr.tensor(w.T)).sum()
    y.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), np.ones((32, 24)) @ w, rtol=1e-12)
