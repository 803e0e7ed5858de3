"""Tensor ``repr`` matches torch's layout character for character (dtype names aside):
element width, fixed/scientific/int mode, elements per line, summarisation, suffixes."""
import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(0)
CASES = {
    "small float": np.array([0.1667, -0.2883, 0.6902], np.float32),
    "int-valued float": np.array([1.0, -20.0, 3.0], np.float32),
    "wide row (8 a line)": RNG.uniform(-1, 1, (3, 20)).astype(np.float32),
    "wide nonneg row (9 a line)": RNG.uniform(0, 1, (3, 20)).astype(np.float32),
    "sci by ratio": np.array([1e-3, 2.5, -7.0], np.float32),
    "sci by tiny": np.array([1e-5, -2e-5], np.float64),
    "summarised, mode from the edges only": np.concatenate(
        [np.full(3, 0.0123), np.full(2000, 1e-7), np.full(3, -0.0347)]).reshape(2, 1003),
    "summarised 2-d": RNG.normal(0, 0.02, (512, 784)).astype(np.float32),
    "3-d": RNG.normal(size=(2, 3, 4)).astype(np.float32),
    "ints": np.array([[1, -200], [30, 4]], np.int64),
    "int32": np.array([5, 6], np.int32),
    "bools": np.array([True, False, True]),
    "nan/inf": np.array([np.nan, np.inf, 1.5], np.float32),
    "nan/inf int-valued": np.array([np.nan, -np.inf, 2.0], np.float32),
    "zeros": np.zeros((2, 2), np.float32),
    "0-d": np.array(3.25, np.float32),
    "float64": np.array([0.5, 1.25], np.float64),
    "empty 2-d": np.zeros((0, 3), np.float32),
}


@pytest.mark.parametrize("name", list(CASES))
def test_repr_matches_torch(name):
    a = CASES[name]
    ours = repr(cr.tensor(a.copy()))
    theirs = repr(torch.tensor(a.copy())).replace("torch.", "chainrule.")
    assert ours == theirs, f"\n{ours}\n---\n{theirs}"


def test_requires_grad_suffix_wraps_like_torch():
    a = RNG.uniform(-1, 1, (2, 9)).astype(np.float64)
    ours = repr(cr.tensor(a, requires_grad=True))
    theirs = repr(torch.tensor(a, requires_grad=True)).replace("torch.", "chainrule.")
    assert ours == theirs, f"\n{ours}\n---\n{theirs}"
