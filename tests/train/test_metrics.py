"""Running meters against hand-computed values, over batches of unequal size."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.train import metrics as M
from chainrule.utils.errors import UnknownNameError

LOGITS = np.array([[2.0, 1.0, 0.1], [0.1, 0.2, 3.0], [1.0, 3.0, 2.0], [0.5, 0.4, 0.3],
                   [0.0, 0.0, 1.0]])
TARGET = np.array([0, 2, 2, 1, 0])


def _feed(meter, out, target, losses=None, splits=(2, 5)):
    lo = 0
    for i, hi in enumerate(splits):
        meter.update(cr.tensor(out[lo:hi]), cr.tensor(target[lo:hi]),
                     None if losses is None else cr.tensor(losses[i]))
        lo = hi
    return meter.compute()


def test_accuracy_and_topk():
    # argmax: 0, 2, 1, 0, 2 -> right: 0 and 1 -> 2/5
    assert _feed(M.Accuracy(), LOGITS, TARGET) == pytest.approx(2 / 5)
    # top-2 sets: {0,1} {2,1} {1,2} {0,1} {2, 0 or 1}: hits 0, 2, 2, 1 -> 4/5 (last: tie)
    assert _feed(M.TopKAccuracy(2), LOGITS[:4], TARGET[:4], splits=(2, 4)) == 1.0
    assert _feed(M.TopKAccuracy(1), LOGITS, TARGET) == pytest.approx(2 / 5)
    assert _feed(M.TopKAccuracy(5), LOGITS, TARGET) == 1.0  # k > classes: all hit
    assert M.TopKAccuracy(3).name == "top3_acc"


def test_loss_average_is_weighted_by_batch_size():
    # batch means 1.0 (2 samples) and 4.0 (3 samples) -> (2 + 12) / 5
    assert _feed(M.Loss(), LOGITS, TARGET, losses=[1.0, 4.0]) == pytest.approx(14 / 5)


def test_perplexity_is_exp_of_mean_token_loss():
    assert _feed(M.Perplexity(), LOGITS, TARGET, losses=[1.0, 4.0]) == pytest.approx(
        math.exp(14 / 5))
    p = M.Perplexity(ignore_index=-1)
    p.update(None, np.array([[1, 2, -1]]), 2.0)   # 2 real tokens, mean loss 2
    p.update(None, np.array([[3, -1, -1]]), 5.0)  # 1 real token, loss 5
    assert p.compute() == pytest.approx(math.exp((2 * 2 + 5) / 3))
    with pytest.raises(ValueError, match="needs the batch loss"):
        M.Perplexity().update(None, np.array([1]))


def test_regression_errors():
    pred = np.array([[1.0], [2.0], [4.0], [8.0]])
    y = np.array([[1.5], [2.0], [3.0], [10.0]])
    err = pred - y
    assert _feed(M.MAE(), pred, y, splits=(1, 4)) == pytest.approx(np.abs(err).mean())
    assert _feed(M.RMSE(), pred, y, splits=(3, 4)) == pytest.approx(
        math.sqrt((err ** 2).mean()))
    # d2l's log_rmse: predictions clamped to >= 1 before the log
    price = np.array([0.5, 100.0, 250.0])
    truth = np.array([2.0, 110.0, 200.0])
    want = math.sqrt(np.mean((np.log(np.maximum(price, 1)) - np.log(truth)) ** 2))
    assert _feed(M.LogRMSE(), price, truth, splits=(1, 3)) == pytest.approx(want)
    assert M.RMSE(name="log_rmse").name == "log_rmse"


def test_reset_empty_and_modes():
    m = M.Accuracy()
    assert math.isnan(m.compute())
    m.update(LOGITS, TARGET)
    m.reset()
    assert math.isnan(m.compute())
    assert (M.Accuracy.mode, M.RMSE.mode, M.Loss().mode, M.Perplexity.mode) == (
        "max", "min", "min", "min")


def test_get_metric_by_name():
    assert isinstance(M.get_metric("acc"), M.Accuracy)
    assert M.get_metric("top3_acc").k == 3
    assert isinstance(M.get_metric("log_rmse"), M.LogRMSE)
    with pytest.raises(UnknownNameError, match="did you mean 'rmse'"):
        M.get_metric("rmsee")
