"""Row updates of embedding tables: ``table[index] += values`` with repeated rows summed.

For the large batches of word2vec's fused step (tens of thousands of rows drawn
from a Zipf distribution) NumPy's ``add.at`` over the *flattened* table is about
twice as fast as sorting the rows and summing runs with ``add.reduceat`` (what
:func:`chainrule.backend.scatter_add` does) and three times faster than ``add.at``
over rows: measured 18 ms vs 42 ms vs 60 ms for 72,000 rows of 100 float32 into a
33,000-row table (``benchmarks/bench_word2vec.py`` times the whole step).
"""
import numpy as np

from chainrule.backend.arrays import is_device_array, scatter_add

__all__ = ["add_rows"]


def add_rows(table, index, values):
    """In place ``table[index] += values`` for a 2-D C-contiguous ``table``, 1-D int
    ``index`` (non-negative, in range) and ``values`` of shape ``(len(index), cols)``."""
    if is_device_array(table) or not table.flags.c_contiguous:
        return scatter_add(table, index, values)
    d = table.shape[1]
    flat = (index.astype(np.int64)[:, None] * d + np.arange(d)).reshape(-1)
    np.add.at(table.reshape(-1), flat, values.astype(table.dtype, copy=False).reshape(-1))
    return table
