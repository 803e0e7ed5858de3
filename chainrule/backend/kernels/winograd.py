"""Winograd F(2x2, 3x3) convolution kernels (private; used by ``_conv_kernels``).

A 3x3 stride-1 convolution computed on 2x2 output tiles from overlapping 4x4
input tiles ``d``:  ``y = A^T [(G g G^T) * (B^T d B)] A``, where ``*`` is an
elementwise product over the 16 tile positions and a GEMM over channels.
That is 16 GEMMs ``(tiles, C) @ (C, O)`` with 2.25x fewer multiplications than
im2col's one ``(positions, 9C) @ (9C, O)``; the transforms are additions
(Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).

The weight gradient uses the same transforms:
``gw = G^T [sum_tiles (A gy A^T) * (B^T d B)] G``.

Everything is channels-last and blocked over images (or tile rows of one
large image) so that a block's transformed tiles stay in cache; each
transform is a handful of whole-block NumPy additions.
"""
import numpy as np

from chainrule.backend import arrays as B
from chainrule.backend.cpu import threads as P
from chainrule.backend.cpu.scratch import scratch
from chainrule.backend.kernels.rows import add_bias, as_strided, pad_nhwc

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
_BLOCK_BYTES = 1 << 20        # bytes of transformed tiles per block
_MIN_BLOCK_TILES = 256        # ... but at least this many tiles (Python overhead per block)


def _blocks(n, th, tw, per_block):
    """(n0, n1, t0, t1): image range and tile-row range of each block."""
    if th * tw >= per_block:
        rows = max(1, per_block // tw)
        for i in range(n):
            for t0 in range(0, th, rows):
                yield i, i + 1, t0, min(t0 + rows, th)
    else:
        nb = max(1, per_block // (th * tw))
        for s in range(0, n, nb):
            yield s, min(s + nb, n), 0, th


def _geometry(g):
    """Tile counts and the padding that makes the input exactly cover them."""
    (h, w), (ho, wo) = g.size, g.out
    (pt, _), (pl, _) = g.pads
    th, tw = (ho + 1) // 2, (wo + 1) // 2
    return th, tw, ((pt, 2 * th + 2 - h - pt), (pl, 2 * tw + 2 - w - pl))


def _input_tiles(grid, n0, n1, t0, t1, tw):
    """``V = B^T d B`` of the 4x4 input tiles of a block: (16, tiles, C)."""
    xp = B.xp_of(grid)
    s_n, s_h, s_w, s_c = grid.strides
    c = grid.shape[3]
    src = grid[n0:n1, 2 * t0:]
    shape = (4, 4, n1 - n0, t1 - t0, tw, c)
    d = scratch(xp, "d", shape, grid.dtype)
    d[...] = as_strided(src, shape, (s_h, s_w, s_n, 2 * s_h, 2 * s_w, s_c))
    e = scratch(xp, "e", shape, grid.dtype)
    xp.subtract(d[0], d[2], out=e[0])   # rows: B^T d
    xp.add(d[1], d[2], out=e[1])
    xp.subtract(d[2], d[1], out=e[2])
    xp.subtract(d[1], d[3], out=e[3])
    xp.subtract(e[:, 0], e[:, 2], out=d[:, 0])  # columns: (B^T d) B
    xp.add(e[:, 1], e[:, 2], out=d[:, 1])
    xp.subtract(e[:, 2], e[:, 1], out=d[:, 2])
    xp.subtract(e[:, 1], e[:, 3], out=d[:, 3])
    return d.reshape(16, -1, c)


def _filter(w, dtype):
    """``U = G g G^T`` for every (c, o): (16, C, O)."""
    xp = B.xp_of(w)
    gm = xp.asarray(_G, dtype=np.float64)
    u = gm @ w.astype(np.float64) @ gm.T                       # (O, C, 4, 4)
    return xp.ascontiguousarray(u.transpose(2, 3, 1, 0).reshape(16, w.shape[1], w.shape[0])
                                .astype(dtype))


def forward(x, w, g, bias=None):
    """``conv(x, w) (+ bias)`` for a 3x3, stride-1, ungrouped geometry ``g``."""
    xp = B.xp_of(x)
    n, c = x.shape[:2]
    o = w.shape[0]
    ho, wo = g.out
    th, tw, pads = _geometry(g)
    _, grid = pad_nhwc(x, pads)
    u = _filter(w, x.dtype)
    y = xp.empty((n, th, 2, tw, 2, o), dtype=x.dtype)
    per = max(_MIN_BLOCK_TILES, _BLOCK_BYTES // (16 * max(c, o) * x.itemsize))

    def block(b):
        n0, n1, t0, t1 = b
        shape = (4, 4, n1 - n0, t1 - t0, tw, o)
        m = scratch(xp, "m", shape, x.dtype)
        xp.matmul(_input_tiles(grid, n0, n1, t0, t1, tw), u, out=m.reshape(16, -1, o))
        s = scratch(xp, "s", (2,) + shape[1:], x.dtype)
        xp.add(m[0], m[1], out=s[0])        # rows: A^T m
        s[0] += m[2]
        xp.subtract(m[1], m[2], out=s[1])
        s[1] -= m[3]
        dst = y[n0:n1, t0:t1].transpose(2, 4, 0, 1, 3, 5)  # (2, 2, tiles..., O)
        xp.add(s[:, 0], s[:, 1], out=dst[:, 0])   # columns: (A^T m) A
        dst[:, 0] += s[:, 2]
        xp.subtract(s[:, 1], s[:, 2], out=dst[:, 1])
        dst[:, 1] -= s[:, 3]
        if bias is not None:  # a contiguous slab of y: whole rows of tiles
            add_bias(y[n0:n1, t0:t1].reshape(-1, o), bias)
    P.run(block, _blocks(n, th, tw, per), xp)
    return y.reshape(n, 2 * th, 2 * tw, o)[:, :ho, :wo].transpose(0, 3, 1, 2)


def weight_grad(x, gy, g):
    """The weight gradient of :func:`forward`: (O, C, 3, 3)."""
    xp = B.xp_of(x)
    n, c = x.shape[:2]
    o, ho, wo = gy.shape[1:]
    th, tw, pads = _geometry(g)
    _, grid = pad_nhwc(x, pads)
    _, ggrid = pad_nhwc(gy, ((0, 2 * th - ho), (0, 2 * tw - wo)), name="pad2")
    s_n, s_h, s_w, s_o = ggrid.strides
    per = max(_MIN_BLOCK_TILES, _BLOCK_BYTES // (16 * max(c, o) * x.itemsize))

    def block(b):
        n0, n1, t0, t1 = b
        v = _input_tiles(grid, n0, n1, t0, t1, tw)
        shape = (2, 2, n1 - n0, t1 - t0, tw, o)
        q = as_strided(ggrid[n0:n1, 2 * t0:], shape, (s_h, s_w, s_n, 2 * s_h, 2 * s_w, s_o))
        r = scratch(xp, "r", (4,) + shape[1:], gy.dtype)   # rows: A q
        r[0] = q[0]
        xp.add(q[0], q[1], out=r[1])
        xp.subtract(q[0], q[1], out=r[2])
        xp.negative(q[1], out=r[3])
        mt = scratch(xp, "m", (4, 4) + shape[2:], gy.dtype)  # columns: (A q) A^T
        mt[:, 0] = r[:, 0]
        xp.add(r[:, 0], r[:, 1], out=mt[:, 1])
        xp.subtract(r[:, 0], r[:, 1], out=mt[:, 2])
        xp.negative(r[:, 1], out=mt[:, 3])
        return xp.matmul(v.transpose(0, 2, 1), mt.reshape(16, -1, o))
    acc = P.reduce(block, _blocks(n, th, tw, per), xp)
    if acc is None:
        return xp.zeros((o, c, 3, 3), dtype=gy.dtype)
    gm = xp.asarray(_G, dtype=np.float64)
    gu = acc.reshape(4, 4, c, o).transpose(3, 2, 0, 1).astype(np.float64)   # (O, C, 4, 4)
    return (gm.T @ gu @ gm).astype(gy.dtype)
