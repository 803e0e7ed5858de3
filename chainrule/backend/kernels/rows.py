"""Layout helpers shared by the kernels: blocks, zero padding into channels-last
or channel-major buffers, and row-wise ops over long runs.

NumPy loops over a broadcast ``(R, C) op (C,)`` or a reduction over the outer
axes of a channels-last array ``C`` elements at a time, 3-10x slower than over
long runs; :func:`rows_op` and :func:`row_sum` keep the runs long.  These serve
the convolution bias, channel sums and batch norm.
"""
import numpy as np

from chainrule.backend import arrays as B
from chainrule.backend.cpu import threads as P
from chainrule.backend.cpu.scratch import scratch

_BLOCK_BYTES = 1 << 20        # default block size (bytes of one block's rows)
_MIN_BLOCK_COLS = 256         # ... but at least this many rows per block


def block_rows(xp, width, itemsize, nbytes=None):
    """Rows per block of a ``width``-column matrix (unblocked on GPUs)."""
    if xp is not np:
        return 1 << 62
    nbytes = _BLOCK_BYTES if nbytes is None else nbytes
    return max(_MIN_BLOCK_COLS, nbytes // max(1, width * itemsize))


def as_strided(a, shape, strides):
    return B.xp_of(a).lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


def _fill_pads(grid, lo, hi, axis):
    """Zero the borders of the spatial axes ``axis`` and ``axis + 1`` of ``grid``."""
    (a, l), (b, r) = lo, hi
    hp, wp = grid.shape[axis], grid.shape[axis + 1]
    lead = (slice(None),) * axis
    if a:
        grid[lead + (slice(0, a),)] = 0
    if b:
        grid[lead + (slice(hp - b, hp),)] = 0
    if l:
        grid[lead + (slice(None), slice(0, l))] = 0
    if r:
        grid[lead + (slice(None), slice(wp - r, wp))] = 0


def image_blocks(n, per):
    """``[(start, stop), ...]`` covering ``range(n)`` in steps of ``per``."""
    step = max(1, int(per))
    return [(s, min(s + step, n)) for s in range(0, n, step)]


def _pad_into(grid, src, lo, hi, axis):
    """``grid`` = ``src`` zero-padded by ``lo``/``hi`` on the spatial axes
    ``axis``, ``axis + 1`` (the batch axis is ``axis - 1``); a few blocks of
    images, shared out to the threads."""
    n = src.shape[axis - 1]
    hp, wp = grid.shape[axis], grid.shape[axis + 1]
    lead = (slice(None),) * (axis - 1)
    inner = (slice(lo[0], hp - hi[0]), slice(lo[1], wp - hi[1]))
    parts = 1 if grid.nbytes < (2 << 20) else 2 * P.get_num_threads()

    def block(se):
        g = grid[lead + (slice(*se),)]
        _fill_pads(g, lo, hi, axis)
        g[lead + (slice(None),) + inner] = src[lead + (slice(*se),)]
    P.run(block, image_blocks(n, -(-n // parts)), B.xp_of(grid))


def pad_nhwc(x, pads, tail=0, name="pad"):
    """Copy logical-NCHW ``x`` into a zero-padded channels-last buffer.

    Returns ``(flat, grid)``: ``flat`` of shape ``(N*Hp*Wp + tail, C)`` (the
    last ``tail`` rows zero) and ``grid``, its ``(N, Hp, Wp, C)`` view.
    Negative pads crop.  An unpadded input already channels-last in memory is
    used as is.  The buffer is scratch memory (see :func:`scratch`)."""
    xp = B.xp_of(x)
    n, c, h, w = x.shape
    (pt, pb), (pl, pr) = pads
    hp, wp = h + pt + pb, w + pl + pr
    size = n * hp * wp
    xt = x.transpose(0, 2, 3, 1)
    if not tail and pads == ((0, 0), (0, 0)) and xt.flags.c_contiguous:
        return xt.reshape(size, c), xt
    flat = scratch(xp, name, (size + tail, c), x.dtype)
    grid = flat[:size].reshape(n, hp, wp, c)
    if tail:
        flat[size:] = 0
    _pad_into(grid, xt[:, max(-pt, 0):h - max(-pb, 0), max(-pl, 0):w - max(-pr, 0)],
              (max(pt, 0), max(pl, 0)), (max(pb, 0), max(pr, 0)), 1)
    return flat, grid


def pad_cnhw(x, pads, tail=0, name="pad"):
    """Like :func:`pad_nhwc` but channel-major: ``flat`` is ``(C, N*Hp*Wp + tail)``
    and ``grid`` its ``(C, N, Hp, Wp)`` view."""
    xp = B.xp_of(x)
    n, c, h, w = x.shape
    (pt, pb), (pl, pr) = pads
    hp, wp = h + pt + pb, w + pl + pr
    size = n * hp * wp
    flat = scratch(xp, name, (c, size + tail), x.dtype)
    grid = flat[:, :size].reshape(c, n, hp, wp)
    if tail:
        flat[:, size:] = 0
    src = x.transpose(1, 0, 2, 3)[:, :, max(-pt, 0):h - max(-pb, 0), max(-pl, 0):w - max(-pr, 0)]
    _pad_into(grid, src, (max(pt, 0), max(pl, 0)), (max(pb, 0), max(pr, 0)), 2)
    return flat, grid


def rows_op(op, rows, v, out):
    """``out = op(rows, v)`` for C-contiguous (R, C) ``rows`` and ``out`` and a (C,)
    vector ``v``, over long runs: the rows ``k`` at a time as (R/k, k*C) (a plain
    broadcast loops over R runs of only C elements)."""
    r, c = rows.shape
    k = max(1, 512 // max(c, 1))
    full = r - r % k
    if full:
        op(rows[:full].reshape(-1, k * c), B.xp_of(rows).tile(v, k),
           out=out[:full].reshape(-1, k * c))
    if full < r:
        op(rows[full:], v, out=out[full:])
    return out


def row_sum(rows):
    """Column sums of C-contiguous (R, C) ``rows`` over long runs, accumulated in the
    rows' dtype like NumPy's own sum (pairwise within each run)."""
    r, c = rows.shape
    k = max(1, 1024 // max(c, 1))
    full = r - r % k
    s = rows[:full].reshape(-1, k * c).sum(axis=0).reshape(k, c).sum(axis=0)
    if full < r:
        s += rows[full:].sum(axis=0)
    return s


def add_bias(rows, bias):
    """``rows (R, O) += bias`` for a C-contiguous ``rows``."""
    rows_op(B.xp_of(rows).add, rows, bias, rows)


def channel_sum(a):
    """``a.sum((0, 2, 3))`` of a logical (N, C, H, W) array, fast in every layout.

    NumPy reduces a channels-last array over its outer axes one C-element row
    at a time (10x slower than a contiguous sum); :func:`row_sum` on its
    (N*H*W, C) rows keeps the inner runs long."""
    t = a.transpose(0, 2, 3, 1)
    if not t.flags.c_contiguous or a.shape[1] == 0:
        return a.sum(axis=(0, 2, 3))
    return row_sum(t.reshape(-1, a.shape[1]))


def rows_nhwc(a):
    """Logical (N, C, H, W) -> (N*H*W, C) rows (a view when ``a`` is channels-last)."""
    n, c, h, w = a.shape
    return a.transpose(0, 2, 3, 1).reshape(n * h * w, c)
