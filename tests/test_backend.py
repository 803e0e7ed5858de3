"""The backend's scatter-add: the sorted-rows fast path equals np.add.at."""
import numpy as np
import pytest

from chainrule import backend as B


@pytest.mark.parametrize("index", [[3, 0, 3, 1, 3], [-1, 0, -1, 2], [4, 4], [2, 1, 0]])
def test_scatter_add_rows_matches_add_at(index):
    rng = np.random.default_rng(0)
    index = np.array(index)
    values = rng.standard_normal((len(index), 3, 2))
    want = np.zeros((5, 3, 2))
    np.add.at(want, index, values)
    got = B.scatter_add(np.zeros((5, 3, 2)), index, values)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_scatter_add_rows_out_of_range_raises():
    with pytest.raises(IndexError):
        B.scatter_add(np.zeros((3, 2)), np.array([0, 3]), np.ones((2, 2)))
