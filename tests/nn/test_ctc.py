"""F.ctc_loss / nn.CTCLoss beyond the op table rows: torch's values on infinite losses
and unbatched input, the errors, the refused second derivative, and a model that learns
an alignment from CTC alone."""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


def _both(x, *args, **kw):
    xt = torch.tensor(x, requires_grad=True)
    lt = torch.nn.functional.ctc_loss(xt.log_softmax(-1), *[torch.as_tensor(a) for a in args],
                                      **kw)
    lt.sum().backward()
    xc = cr.tensor(x, requires_grad=True)
    lc = F.ctc_loss(xc.log_softmax(-1), *[cr.tensor(np.asarray(a)) for a in args], **kw)
    lc.sum().backward()
    return (lt.detach().numpy(), xt.grad.numpy()), (lc.detach().numpy(), xc.grad.numpy())


def test_infinite_loss_gives_nan_gradients_like_torch():
    x = np.random.default_rng(0).standard_normal((3, 2, 5))
    (lt, gt), (lc, gc) = _both(x, [[1, 1, 2], [3, 0, 0]], [3, 3], [3, 1], reduction="none")
    assert np.isinf(lc[0]) and np.isinf(lt[0])
    np.testing.assert_allclose(lc[1], lt[1], rtol=1e-12)
    assert np.isnan(gc[:, 0]).all() and np.isnan(gt[:, 0]).all()
    np.testing.assert_allclose(gc[:, 1], gt[:, 1], atol=1e-12)


def test_unbatched_and_int_lengths_match_torch():
    x = np.random.default_rng(1).standard_normal((6, 4))
    (lt, gt), (lc, gc) = _both(x, [1, 2, 1], 6, 3)
    np.testing.assert_allclose(lc, lt, rtol=1e-12)
    np.testing.assert_allclose(gc, gt, atol=1e-12)


def test_module_matches_functional():
    lp = cr.randn(5, 2, 4).log_softmax(2)
    tg = cr.tensor([[1, 2], [3, 3]])
    ref = F.ctc_loss(lp, tg, [5, 5], [2, 2], blank=0, reduction="sum")
    assert nn.CTCLoss(reduction="sum")(lp, tg, [5, 5], [2, 2]).item() == ref.item()


@pytest.mark.parametrize("kw, message", [
    (dict(input_lengths=[7, 3]), "input_lengths to have value at most 6"),
    (dict(target_lengths=[4, 1]), "size at least 4 at dimension 1"),
    (dict(targets=[[5, 1, 1]]), "size 2 at dimension 0"),
    (dict(targets=[[0, 1, 1], [1, 1, 1]]), "other than blank=0"),
    (dict(blank=4), "blank must be in label range \\[0, 4\\)"),
    (dict(input_lengths=[6]), "input_lengths must have 2 entries"),
])
def test_errors_name_the_op_and_the_values(kw, message):
    args = dict(targets=[[1, 2, 3], [2, 2, 0]], input_lengths=[6, 6], target_lengths=[3, 2])
    args.update(kw)
    blank = args.pop("blank", 0)
    lp = cr.randn(6, 2, 4).log_softmax(2)
    with pytest.raises(RuntimeError, match="ctc_loss: .*" + message):
        F.ctc_loss(lp, cr.tensor(args.pop("targets")), **args, blank=blank)


def test_second_derivative_is_refused_not_silently_zero():
    x = cr.randn(4, 1, 3, dtype=cr.float64, requires_grad=True)
    loss = F.ctc_loss(x.log_softmax(2), cr.tensor([[1, 2]]), [4], [2])
    (g,) = cr.autograd.grad(loss, x, create_graph=True)
    with pytest.raises(RuntimeError, match="second derivative of ctc_loss"):
        g.sum().backward()


def test_a_model_learns_alignments_from_ctc_alone():
    # 8 random sequences of 2-3 labels, each spread over 12 frames of noisy one-hot
    # input with repeats; a BiGRU + linear layer trained on CTC decodes them greedily
    rng = np.random.default_rng(0)
    cr.manual_seed(0)
    C, T, N = 5, 12, 8
    targets = [rng.integers(1, C, rng.integers(2, 4)).tolist() for _ in range(N)]
    x = np.zeros((T, N, C), dtype=np.float32)
    for n, tg in enumerate(targets):
        frames = np.repeat(tg, T // len(tg))[:T]
        x[np.arange(len(frames)), n, frames] = 1
    x += 0.1 * rng.standard_normal(x.shape).astype(np.float32)
    rnn, head = nn.GRU(C, 16, bidirectional=True), nn.Linear(32, C)
    opt = cr.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=0.03)
    flat = cr.tensor([t for tg in targets for t in tg])
    lens = [len(t) for t in targets]
    for _ in range(60):
        out, _ = rnn(cr.tensor(x))
        loss = F.ctc_loss(head(out).log_softmax(2), flat, [T] * N, lens)
        opt.zero_grad()
        loss.backward()
        opt.step()
    best = head(rnn(cr.tensor(x))[0]).argmax(2).numpy().T
    decoded = [[int(k) for i, k in enumerate(row) if k != 0 and (i == 0 or row[i - 1] != k)]
               for row in best]
    assert loss.item() < 0.3 and decoded == targets
