"""LBFGS against torch.optim.LBFGS (the oracle): the same iterates."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _run(lib, **kw):
    rng = np.random.RandomState(0)
    A, b = rng.randn(6, 3), rng.randn(6)
    w = lib.zeros(3, dtype=lib.float64, requires_grad=True)
    At, bt = lib.tensor(A), lib.tensor(b)
    opt = lib.optim.LBFGS([w], **kw)

    def closure():
        opt.zero_grad()
        loss = ((At @ w - bt) ** 2).sum() + (w ** 4).sum()
        loss.backward()
        return loss
    losses = [float(opt.step(closure)) for _ in range(3)]
    return w.detach().numpy(), losses


@pytest.mark.parametrize("kw", [dict(lr=0.8, max_iter=5, history_size=3), dict(lr=1),
                                dict(lr=0.1, max_iter=2)])
def test_lbfgs_matches_torch(kw):
    ours, theirs = _run(cr, **kw), _run(torch, **kw)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9)


def test_lbfgs_arguments():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="strong_wolfe"):
        cr.optim.LBFGS([w], line_search_fn="strong_wolfe")
    with pytest.raises(RuntimeError, match="closure"):
        cr.optim.LBFGS([w]).step(None)
