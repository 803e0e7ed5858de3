"""Running metrics ("meters"): accumulate over batches, then ``compute()``.

Meters work on NumPy copies of the outputs, so they never touch the autograd
graph.  Each has a ``name`` (the history column), ``mode`` (``'max'`` if larger
is better, else ``'min'``), ``reset()``, ``update(output, target, loss=None)`` and
``compute()``.  Averages are weighted by the number of samples, so the last
(smaller) batch counts for what it holds.

>>> import numpy as np
>>> m = Accuracy()
>>> m.update(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
>>> m.compute()
0.5
"""
import math

import numpy as np

from chainrule import backend as B
from chainrule.utils.errors import UnknownNameError, suggest

__all__ = ["Meter", "Mean", "Loss", "Accuracy", "TopKAccuracy", "Perplexity", "MAE", "RMSE",
           "LogRMSE", "get_metric", "METRICS", "to_numpy"]


def to_numpy(x):
    """A NumPy array from a Tensor (detached), NumPy array, or number."""
    data = getattr(x, "_data", None)
    if data is not None:
        return B.asnumpy(data)
    return np.asarray(x)


class Meter:
    """Base class: a running, sample-weighted metric."""
    name = "metric"
    mode = "max"

    def __init__(self):
        self.reset()

    def reset(self):
        self.total, self.count = 0.0, 0

    def compute(self):
        return self.total / self.count if self.count else float("nan")

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Meter):
    """The running mean of a value given per batch with its batch size."""
    mode = "min"

    def __init__(self, name="mean"):
        self.name = name
        super().__init__()

    def add(self, value, n=1):
        self.total += float(value) * n
        self.count += int(n)


class Loss(Mean):
    """The sample-weighted average of the batch losses (the batch mean times its size)."""

    def __init__(self, name="loss"):
        super().__init__(name)

    def update(self, output, target, loss=None):
        if loss is not None:
            self.add(to_numpy(loss).item(), len(to_numpy(target)))


class Accuracy(Meter):
    """Fraction of samples whose arg-max class (dim 1) equals the target.

    Targets are class indices; logits may have extra trailing dims (N, C, d1...).
    """
    name = "acc"

    def update(self, output, target, loss=None):
        pred = to_numpy(output).argmax(1)
        t = to_numpy(target)
        self.total += float((pred == t).sum())
        self.count += t.size


class TopKAccuracy(Meter):
    """Fraction of samples whose target is among the ``k`` highest scores."""

    def __init__(self, k=5, name=None):
        if k < 1:
            raise ValueError(f"TopKAccuracy: k must be >= 1, got {k}")
        self.k, self.name = int(k), name or f"top{k}_acc"
        super().__init__()

    def update(self, output, target, loss=None):
        out, t = to_numpy(output), to_numpy(target)
        k = min(self.k, out.shape[1])
        top = np.argpartition(-out, k - 1, axis=1)[:, :k]
        self.total += float((top == np.expand_dims(t, 1)).any(1).sum())
        self.count += t.size


class Perplexity(Meter):
    """``exp`` of the mean cross-entropy per target (per token for language models).

    Needs the batch's mean loss; tokens equal to ``ignore_index`` do not count.
    """
    name = "ppl"
    mode = "min"

    def __init__(self, ignore_index=None):
        self.ignore_index = ignore_index
        super().__init__()

    def update(self, output, target, loss=None):
        if loss is None:
            raise ValueError("Perplexity needs the batch loss")
        t = to_numpy(target)
        n = t.size if self.ignore_index is None else int((t != self.ignore_index).sum())
        self.total += float(to_numpy(loss).item()) * n
        self.count += n

    def compute(self):
        return math.exp(super().compute()) if self.count else float("nan")


class _Regression(Meter):
    mode = "min"

    def _err(self, output, target):
        out = to_numpy(output).astype(np.float64)
        t = to_numpy(target).astype(np.float64)
        return out.reshape(t.shape) if out.size == t.size else out, t


class MAE(_Regression):
    """Mean absolute error over all elements."""
    name = "mae"

    def update(self, output, target, loss=None):
        out, t = self._err(output, target)
        self.total += float(np.abs(out - t).sum())
        self.count += t.size


class RMSE(_Regression):
    """Root mean squared error over all elements (``name`` may label it, e.g. on a
    log target RMSE *is* the log-RMSE)."""

    def __init__(self, name="rmse"):
        self.name = name
        super().__init__()

    def update(self, output, target, loss=None):
        out, t = self._err(output, target)
        self.total += float(((out - t) ** 2).sum())
        self.count += t.size

    def compute(self):
        return math.sqrt(super().compute()) if self.count else float("nan")


class LogRMSE(RMSE):
    """RMSE between ``log(max(prediction, 1))`` and ``log(target)`` (Kaggle's house
    price score, as d2l computes it: predictions below 1 are clamped to 1)."""

    def __init__(self, name="log_rmse"):
        super().__init__(name)

    def update(self, output, target, loss=None):
        out, t = self._err(output, target)
        super().update(np.log(np.maximum(out, 1.0)), np.log(t))


METRICS = {"acc": Accuracy, "accuracy": Accuracy, "top5_acc": lambda: TopKAccuracy(5),
           "ppl": Perplexity, "perplexity": Perplexity, "mae": MAE, "rmse": RMSE,
           "log_rmse": LogRMSE}


def get_metric(name):
    """A fresh meter from a name (``acc``, ``topK_acc``, ``ppl``, ``mae``, ``rmse``,
    ``log_rmse``) or the meter itself if one is given."""
    if isinstance(name, Meter):
        return name
    if isinstance(name, str) and name.startswith("top") and name.endswith("_acc"):
        k = name[3:-4]
        if k.isdigit():
            return TopKAccuracy(int(k))
    if name not in METRICS:
        raise UnknownNameError(suggest(name, METRICS, "metric"))
    return METRICS[name]()
