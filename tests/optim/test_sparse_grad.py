"""Sparse gradients of ``nn.Embedding(sparse=True)`` and the optimizers that apply them
to the used rows only (SGD, Adagrad, SparseAdam), against torch."""
import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import optim


def _pair(padding_idx=None):
    cr.manual_seed(0)
    e = cr.nn.Embedding(7, 3, sparse=True, padding_idx=padding_idx)
    t = torch.nn.Embedding(7, 3, sparse=True, padding_idx=padding_idx)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(e.weight.detach().numpy()))
    return e, t


BATCHES = [[[1, 2, 1], [0, 5, 2]], [[3, 3, 1], [6, 0, 0]], [[2, 2, 2], [4, 1, 0]]]


def _loss(emb, x, lib):
    y = emb(lib.tensor(x))
    return (y * y).sum() + y.sum()


def test_sparse_grad_matches_torch():
    e, t = _pair(padding_idx=0)
    _loss(e, BATCHES[0], cr).backward()
    _loss(t, BATCHES[0], torch).backward()
    g, tg = e.weight.grad, t.weight.grad
    assert g.is_sparse and not g.is_coalesced() and tuple(g.shape) == (7, 3)
    np.testing.assert_array_equal(g._indices().numpy(), tg._indices().numpy())
    np.testing.assert_allclose(g._values().numpy(), tg._values().numpy(), rtol=1e-6)
    c, tc = g.coalesce(), tg.coalesce()
    np.testing.assert_array_equal(c.indices().numpy(), tc.indices().numpy())
    np.testing.assert_allclose(c.values().numpy(), tc.values().numpy(), rtol=1e-6)
    np.testing.assert_allclose(g.to_dense().numpy(), tg.to_dense().numpy(), rtol=1e-6)
    _loss(e, BATCHES[1], cr).backward()  # accumulates by concatenation, like torch
    _loss(t, BATCHES[1], torch).backward()
    assert e.weight.grad._nnz() == t.weight.grad._nnz()
    np.testing.assert_allclose(e.weight.grad.to_dense().numpy(),
                               t.weight.grad.to_dense().numpy(), rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda lib, p: lib.optim.SGD(p, lr=0.1),
    lambda lib, p: lib.optim.Adagrad(p, lr=0.5, lr_decay=0.01),
    lambda lib, p: lib.optim.SparseAdam(p, lr=0.05),
], ids=["sgd", "adagrad", "sparse_adam"])
def test_sparse_optimizers_match_torch(make):
    e, t = _pair()
    oe, ot = make(cr, list(e.parameters())), make(torch, list(t.parameters()))
    for x in BATCHES:
        oe.zero_grad()
        ot.zero_grad()
        _loss(e, x, cr).backward()
        _loss(t, x, torch).backward()
        oe.step()
        ot.step()
        np.testing.assert_allclose(e.weight.detach().numpy(), t.weight.detach().numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_rows_not_used_are_untouched_and_dense_optimizers_refuse():
    e, _ = _pair()
    before = e.weight.detach().numpy().copy()
    opt = optim.SparseAdam(e.parameters(), lr=0.1)
    _loss(e, [[1, 2]], cr).backward()
    opt.step()
    after = e.weight.detach().numpy()
    changed = np.flatnonzero((after != before).any(1)).tolist()
    assert changed == [1, 2]
    with pytest.raises(RuntimeError, match="does not support sparse"):
        optim.Adam(e.parameters()).step()
    with pytest.raises(RuntimeError, match="momentum=0"):
        optim.SGD(e.parameters(), lr=0.1, momentum=0.9).step()
    d = cr.nn.Embedding(4, 2)
    d(cr.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense"):
        optim.SparseAdam(d.parameters()).step()


def test_sparse_embedding_functional_and_double_backward_dense():
    w = cr.randn(5, 2, requires_grad=True)
    y = cr.nn.functional.embedding(cr.tensor([0, 4, 4]), w, sparse=True)
    (y ** 2).sum().backward()
    np.testing.assert_allclose(w.grad.to_dense().numpy()[4],
                               4 * w.detach().numpy()[4], rtol=1e-6)
    w2 = cr.randn(5, 2, requires_grad=True)
    y = cr.nn.functional.embedding(cr.tensor([1, 1]), w2 * 1.0, sparse=True)  # non-leaf
    (y ** 2).sum().backward()
    assert not w2.grad.is_sparse
    np.testing.assert_allclose(w2.grad.numpy()[1], 4 * w2.detach().numpy()[1], rtol=1e-6)
