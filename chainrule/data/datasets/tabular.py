"""Tabular regression data: Kaggle house prices, airfoil self-noise, synthetic linear."""
import csv

import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor, from_array
from chainrule.data.datasets.base import ArrayDataset
from chainrule.data.download import find_file, local_file

__all__ = ["read_csv_columns", "preprocess_house", "KaggleHouse", "AirfoilSelfNoise",
           "synthetic_linear", "SyntheticLinear"]

D2L_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"
_MISSING = ("", "NA")  # what the Ames files use for "not available"


def read_csv_columns(path):
    """``(header, rows)`` of a CSV file as lists of strings (``csv`` module)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [r for r in reader if r]
    for i, r in enumerate(rows):
        if len(r) != len(header):
            raise ValueError(f"{path}: row {i + 2} has {len(r)} fields, header has {len(header)}")
    return header, rows


def _numeric(values):
    out = np.empty(len(values), np.float64)
    for i, v in enumerate(values):
        out[i] = np.nan if v in _MISSING else float(v)
    return out


def _is_numeric(values):
    try:
        _numeric(values)
        return True
    except ValueError:
        return False


def preprocess_house(train_rows, test_rows, header):
    """d2l's preprocessing of the Kaggle house data, without pandas.

    Features of train and test (``Id`` and ``SalePrice`` dropped) are stacked;
    numeric columns are standardized with the mean and sample std (ddof=1) of all
    rows, then missing values set to 0; every other column is one-hot encoded with
    sorted category names plus a missing-value indicator (``dummy_na=True``), after
    the numeric columns, as ``pandas.get_dummies`` orders them.  Only ``NA`` and empty
    fields count as missing (``"None"`` is a real category, e.g. no masonry veneer).

    Returns ``(features float32 (n_train + n_test, F), column names)``.
    """
    names = header[1:-1] if header[-1] == "SalePrice" else header[1:]
    n_feat = len(names)
    rows = [r[1:1 + n_feat] for r in train_rows] + [r[1:1 + n_feat] for r in test_rows]
    cols = list(zip(*rows))
    numeric, categorical, out_names = [], [], []
    for name, col in zip(names, cols):
        if _is_numeric(col):
            x = _numeric(col)
            x = (x - np.nanmean(x)) / np.nanstd(x, ddof=1)
            numeric.append(np.nan_to_num(x, nan=0.0))
            out_names.append(name)
        else:
            categorical.append((name, col))
    blocks = [np.stack(numeric, 1)] if numeric else []
    for name, col in categorical:
        col = np.asarray(col, dtype=object)
        missing = np.isin(col, _MISSING)
        cats = sorted(set(col[~missing].tolist()))
        onehot = np.zeros((len(col), len(cats) + 1), np.float64)
        pos = {c: j for j, c in enumerate(cats)}
        onehot[np.arange(len(col)), [len(cats) if m else pos[c]
                                     for c, m in zip(col, missing)]] = 1
        blocks.append(onehot)
        out_names += [f"{name}_{c}" for c in cats] + [f"{name}_nan"]
    return np.concatenate(blocks, 1).astype(np.float32), out_names


class KaggleHouse(ArrayDataset):
    """Kaggle "House Prices" (Ames, Iowa) with d2l's preprocessing.

    ``train=True``: 1460 rows of 331 float32 features and ``log(SalePrice)`` labels
    of shape (1,) (``log_target=False`` for the raw price); ``train=False``: the 1459
    unlabeled test rows (labels NaN) preprocessed together with the train rows.
    ``ids`` holds the ``Id`` column, ``feature_names`` the 331 column names.
    """
    dataset_dir = "kaggle_house"
    sample_as_tensor = True
    resources = {
        "kaggle_house_pred_train.csv":
            "1e18addf81e5e4d347cc17ee6075bbe4a42b7fa26b9e5b063e8f692a5f929d41",
        "kaggle_house_pred_test.csv":
            "8fdd3d829d4d986b58f845c9553b225e67dd8383624d90fb6ca1d4bed5798c1e",
    }

    def __init__(self, root=None, train=True, download=True, log_target=True,
                 transform=None, target_transform=None):
        paths = [find_file(self.dataset_dir, f, D2L_URL + f, h, root, download_ok=download)
                 for f, h in self.resources.items()]
        header, train_rows = read_csv_columns(paths[0])
        test_header, test_rows = read_csv_columns(paths[1])
        if header[:-1] != test_header or header[-1] != "SalePrice":
            raise ValueError(f"{paths[1]}: columns differ from {paths[0]} (minus SalePrice)")
        feats, self.feature_names = preprocess_house(train_rows, test_rows, header)
        n = len(train_rows)
        self.train = train
        rows = train_rows if train else test_rows
        self.ids = np.array([int(r[0]) for r in rows])
        if train:
            y = np.array([float(r[-1]) for r in train_rows], np.float64)
            y = np.log(y) if log_target else y
        else:
            y = np.full(len(test_rows), np.nan)
        super().__init__(feats[:n] if train else feats[n:], y.astype(np.float32)[:, None],
                         transform, target_transform)

    @property
    def split(self):
        return "Train" if self.train else "Test"

    @classmethod
    def available(cls, root=None):
        return all(local_file(cls.dataset_dir, f, None, root) for f in cls.resources)


class AirfoilSelfNoise(ArrayDataset):
    """NASA airfoil self-noise (UCI), as d2l loads it for optimization chapters.

    All 6 tab-separated columns are standardized ((x - mean) / std, ddof=0, as
    ``np.std``); features are the first 5 columns, the label is the (standardized)
    sound pressure level, a float32 scalar.  1503 rows (``num_examples`` keeps the
    first rows; d2l uses 1500).
    """
    dataset_dir = "airfoil"
    sample_as_tensor = True
    resources = {"airfoil_self_noise.dat":
                 "74c75fd71783f1e6b71f8a622b993dc592897a97cd689c5090a07147a1b097b3"}

    def __init__(self, root=None, download=True, num_examples=None, transform=None,
                 target_transform=None):
        (f, h), = self.resources.items()
        path = find_file(self.dataset_dir, f, D2L_URL + f, h, root, download_ok=download)
        data = load_airfoil_array(path)
        data = (data - data.mean(0)) / data.std(0)
        data = data[:num_examples]
        super().__init__(np.ascontiguousarray(data[:, :5]), np.ascontiguousarray(data[:, 5]),
                         transform, target_transform)

    @classmethod
    def available(cls, root=None):
        return all(local_file(cls.dataset_dir, f, None, root) for f in cls.resources)


def load_airfoil_array(path):
    """The raw (N, 6) float32 table of a tab-separated airfoil file (CRLF or LF)."""
    rows = []
    with open(path, encoding="ascii") as f:
        for i, line in enumerate(f):
            line = line.strip()
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) != 6:
                raise ValueError(f"{path}: line {i + 1} has {len(parts)} tab-separated "
                                 "fields, expected 6")
            rows.append([float(p) for p in parts])
    return np.asarray(rows, dtype=np.float32)


def synthetic_linear(w, b, num_examples, noise=0.01, seed=None):
    """d2l's synthetic regression data: ``y = X w + b + noise * N(0, 1)``.

    ``X`` is (num_examples, len(w)) standard normal; returns float32 tensors
    ``(X, y)`` with ``y`` of shape (num_examples, 1).  ``seed=None`` draws from the
    global chainrule RNG (reproducible under ``chainrule.manual_seed``).

    >>> X, y = synthetic_linear([2, -3.4], 4.2, 5, seed=0)
    >>> X.shape, y.shape
    (chainrule.Size([5, 2]), chainrule.Size([5, 1]))
    """
    w = np.asarray(w.array if isinstance(w, Tensor) else w, np.float64).reshape(-1)
    b = float(b.item() if hasattr(b, "item") else b)
    g = np.random.default_rng(seed) if seed is not None else B.get_rng()
    X = g.standard_normal((int(num_examples), len(w)))
    y = X @ w + b + noise * g.standard_normal(int(num_examples))
    return from_array(X.astype(np.float32)), from_array(y.astype(np.float32).reshape(-1, 1))


class SyntheticLinear(ArrayDataset):
    """:func:`synthetic_linear` as a dataset of ``(x, y)`` rows (``y`` of shape (1,))."""
    sample_as_tensor = True

    def __init__(self, w=(2.0, -3.4), b=4.2, num_examples=1000, noise=0.01, seed=None):
        X, y = synthetic_linear(w, b, num_examples, noise, seed)
        self.true_w, self.true_b = np.asarray(w, np.float32), float(b)
        super().__init__(X.array, y.array)
