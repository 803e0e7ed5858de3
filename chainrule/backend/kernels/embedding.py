"""Row gathers and updates of embedding tables: ``table[index] += values`` with repeated
rows summed, and ``table[index]`` into a reused buffer.

For the large batches of word2vec's fused step (tens of thousands of rows drawn
from a Zipf distribution) NumPy's ``add.at`` over the *flattened* table is about
twice as fast as sorting the rows and summing runs with ``add.reduceat`` (what
:func:`chainrule.backend.scatter_add` does) and three times faster than ``add.at``
over rows: measured 18 ms vs 42 ms vs 60 ms for 72,000 rows of 100 float32 into a
33,000-row table (``benchmarks/bench_word2vec.py`` times the whole step); viewing pairs
of columns as one complex number halves it again (:func:`add_rows`).  The flat
index (``row * d + column``, int64) is as large as the values; building it into a
fresh array each call cost as much as the ``add.at`` itself (page faults of a new
58 MB array), so a :class:`Workspace` keeps it, and the gathered rows, between calls.
"""
import numpy as np

from chainrule.backend.arrays import is_device_array, scatter_add, xp_of

__all__ = ["Workspace", "add_rows", "take_rows", "outer_rows"]


class Workspace:
    """Named scratch buffers reused across calls of a fused step: ``get(name, shape,
    dtype)`` returns an uninitialised array viewing a buffer that only grows.  Not
    thread-safe: word2vec keeps one per model and thread."""

    def __init__(self):
        self._buffers = {}

    def get(self, name, shape, dtype):
        dtype = np.dtype(dtype)
        n = 1
        for s in shape:
            n *= int(s)
        buf = self._buffers.get(name)
        if buf is None or buf.size < n or buf.dtype != dtype:
            buf = np.empty(n + n // 4, dtype)  # headroom: chunk sizes vary a little
            self._buffers[name] = buf
        return buf[:n].reshape(shape)

    def arange(self, n):
        """``np.arange(n)`` (int64), kept."""
        a = self._buffers.get(("arange", n))
        if a is None:
            a = self._buffers[("arange", n)] = np.arange(n, dtype=np.int64)
        return a


def take_rows(table, index, workspace=None, name="rows"):
    """``table[index]`` (rows of a 2-D table; ``index`` any shape, in range), written
    into ``workspace``'s buffer ``name`` when one is given (valid until the next call
    that uses that name)."""
    if workspace is None or is_device_array(table):
        return table[index]
    out = workspace.get(name, tuple(index.shape) + table.shape[1:], table.dtype)
    # mode="clip": with the default "raise" NumPy buffers ``out`` (a second copy)
    return np.take(table, index, axis=0, out=out, mode="clip")


def outer_rows(g, h, out):
    """``out[b, l, :] = g[b, l] * h[b, :]`` for ``g`` (B, L), ``h`` (B, d) and ``out``
    (B, L, d); returns ``out``.  On the CPU through ``einsum`` (15% faster than
    ``multiply``'s broadcast for B = 1,500, L = 6, d = 100)."""
    if is_device_array(out):  # pragma: no cover - GPU path
        return xp_of(out).multiply(g[:, :, None], h[:, None, :], out=out)
    return np.einsum("bl,bd->bld", g, h, out=out)


_PAIR_VIEW = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128}


def add_rows(table, index, values, workspace=None):
    """In place ``table[index] += values`` for a 2-D C-contiguous ``table``, 1-D int
    ``index`` (non-negative, in range) and ``values`` of shape ``(len(index), cols)``.
    ``workspace`` (a :class:`Workspace`) keeps the flat index between calls.

    With an even number of float32 (float64) columns the table and the values are
    viewed as complex64 (complex128): complex addition adds the real and imaginary
    parts separately, so each element of the view adds two columns exactly as two
    float additions would (bit for bit), and ``add.at`` walks half as many
    elements with half as long an index - twice as fast (12 ms instead of 26 ms for
    72,000 rows of 100 float32)."""
    if is_device_array(table) or not table.flags.c_contiguous:
        return scatter_add(table, index, values)
    n, d = len(index), table.shape[1]
    values = np.ascontiguousarray(values, dtype=table.dtype).reshape(n, d)
    flat_table, pair = table.reshape(-1), _PAIR_VIEW.get(table.dtype)
    if pair is not None and d % 2 == 0 and d:
        d //= 2
        flat_table, values = flat_table.view(pair), values.view(pair)
    rows = index.astype(np.int64, copy=False) * d
    if workspace is None:
        flat = rows[:, None] + np.arange(d)
    else:
        flat = np.add(rows[:, None], workspace.arange(d),
                      out=workspace.get("add_rows.flat", (n, d), np.int64))
    np.add.at(flat_table, flat.reshape(-1), values.reshape(-1))
    return table
