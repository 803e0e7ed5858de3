"""Raw-array kernels of 2-D convolution (private; ``conv.py`` wraps them).

Three kernels cover a convolution and all its derivatives:

* :func:`conv_forward`      ``y = conv(x, w)``;
* ``conv_input_grad``       ``gx = conv^T(gy, w)``, the transposed convolution
  (in ``_conv_transpose_kernels.py``);
* :func:`conv_weight_grad`  ``gw`` from ``x`` and ``gy``.

None loops over pixels or batch items in Python.  The algorithms:

im2col GEMM.  Arrays are logically NCHW like torch's, but the kernels work
channels-last: the input is copied once into a zero-padded NHWC buffer, the
im2col matrix has one row per output position, ``(rows, kh*kw*C)``, and the
GEMM ``col @ W (kh*kw*C, O)`` writes an ``(N, Ho, Wo, O)`` array, returned as
the transposed view ``(N, O, Ho, Wo)``: logically NCHW, physically NHWC -
the layout the next convolution wants.  (This GEMM orientation, many rows
times a narrow weight, is also the fastest one for OpenBLAS.)  Inputs with few
channels (the first layer) are gathered channel-major instead, where the
contiguous runs are image rows rather than ``C``-element pixels.

Blocking.  The im2col matrix is never materialised whole (it is kh*kw times
the input): the GEMM runs over row blocks of about ``_COL_BLOCK_BYTES``, each
copied from a strided view into a buffer that stays in the L2 cache, so the
copy costs a fraction of the GEMM instead of a pass over main memory.  (With
1 MiB blocks LeNet's first-layer weight gradient ran 1.7x slower on one thread
than with 256-512 KiB: a block plus the GEMM's packed operands no longer fit
the 1 MiB L2; below 512 KiB the per-block overhead shows on two threads.)

Full grid.  For stride 1 a kernel offset (i, j) is a constant shift
``i*dh*Wp + j*dw`` of the flattened padded buffer, so im2col rows for every
position of the padded grid are plain shifted slices.  The outputs at the
positions past the valid ``Ho x Wo`` window are computed and dropped; used
when that waste is small (``_FULL_GRID_WASTE``).

Winograd.  3x3 stride-1 convolutions (most of a ResNet) use Winograd's
F(2x2, 3x3) algorithm, 2.25x fewer multiplications (``winograd.py``).

Threads.  The blocks are independent; ``_parallel.py`` shares them out to a
few threads (NumPy releases the GIL in copies, additions and GEMMs).

Scratch memory.  Padded buffers and blocks live in per-thread scratch memory
reused across calls (:func:`scratch`): fresh multi-megabyte allocations are
mmapped and page-fault on first touch, which cost about as much as the copies.
"""
from chainrule.backend import arrays as B
from chainrule.backend.cpu import threads as P
from chainrule.backend.cpu.scratch import scratch
from chainrule.backend.kernels import winograd
from chainrule.backend.kernels.rows import (
    _pad_into, add_bias, as_strided, block_rows, pad_cnhw, pad_nhwc, rows_nhwc)

_COL_BLOCK_BYTES = 1 << 19    # im2col block size: block + its GEMM operands stay in L2
_FULL_GRID_WASTE = 1.35       # max (Hp*Wp) / (Ho*Wo) for the full-grid path
_SMALL_C = 8                  # fewer input channels: gather channel-major
_WINOGRAD_MIN_CHANNELS = 16   # Winograd when min(C, O) reaches this (and 3x3, stride 1)
_SHIFT_SUM_WASTE = 2.5        # the same for the full-grid conv^T of few-channel inputs


class Geom:
    """Geometry of a 2-D convolution ``x (N, C, *size) -> y (N, O, *out)``.

    ``pads`` is ``((top, bottom), (left, right))`` (negative amounts crop);
    ``out`` may be smaller than the natural output size (a transposed
    convolution whose output_padding reaches past the last window)."""
    __slots__ = ("size", "out", "kernel", "stride", "dilation", "pads", "groups")

    def __init__(self, size, kernel, stride, dilation, pads, groups, out=None):
        self.size, self.kernel, self.stride = tuple(size), tuple(kernel), tuple(stride)
        self.dilation, self.pads, self.groups = tuple(dilation), tuple(pads), groups
        self.out = tuple(out) if out is not None else self.natural_out()

    def natural_out(self):
        return tuple((n + a + b - d * (k - 1) - 1) // s + 1 for n, (a, b), k, s, d in
                     zip(self.size, self.pads, self.kernel, self.stride, self.dilation))

    def padded(self):
        return tuple(n + a + b for n, (a, b) in zip(self.size, self.pads))

    def full_grid(self):
        """Use the full-grid (stride-1) im2col?"""
        if self.stride != (1, 1):
            return False
        hp, wp = self.padded()
        return hp * wp <= _FULL_GRID_WASTE * self.out[0] * self.out[1]

    def winograd(self, c, o):
        """Use Winograd F(2x2, 3x3) for ``c`` input and ``o`` output channels?"""
        return (self.kernel == (3, 3) and self.stride == (1, 1) and self.dilation == (1, 1)
                and self.groups == 1 and min(c, o) >= _WINOGRAD_MIN_CHANNELS)


def weight_matrix(w, groups, order):
    """(O, C/G, kh, kw) -> (G, K/G, O/G), the im2col weight; K ordered
    ``'ijc'`` (channels-last columns) or ``'cij'`` (channel-major columns)."""
    o, cg, kh, kw = w.shape
    wg = w.reshape(groups, o // groups, cg, kh, kw)
    wg = wg.transpose(0, 3, 4, 2, 1) if order == "ijc" else wg.transpose(0, 2, 3, 4, 1)
    return wg.reshape(groups, cg * kh * kw, o // groups)


def weight_from_matrix(m, shape, order):
    """Inverse of :func:`weight_matrix`: (G, K/G, O/G) -> (O, C/G, kh, kw)."""
    o, cg, kh, kw = shape
    groups = m.shape[0]
    if order == "ijc":
        wg = m.reshape(groups, kh, kw, cg, o // groups).transpose(0, 4, 3, 1, 2)
    else:
        wg = m.reshape(groups, cg, kh, kw, o // groups).transpose(0, 4, 1, 2, 3)
    return wg.reshape(shape)


def _group_rows(blk, groups):
    """(rows, kh, kw, C) channels-last block -> (G, rows, kh*kw*C/G), copied
    into scratch memory."""
    r, kh, kw, c = blk.shape
    cg = c // groups
    out = scratch(B.xp_of(blk), "cols", (groups, r, kh, kw, cg), blk.dtype)
    out[...] = blk.reshape(r, kh, kw, groups, cg).transpose(3, 0, 1, 2, 4)
    return out.reshape(groups, r, kh * kw * cg)


def _matmul_rows(a, wm, out):
    """``out (rows, G*O/G) = a (G, rows, K/G) @ wm (G, K/G, O/G)`` per group."""
    xp = B.xp_of(wm)
    groups, _, og = wm.shape
    if groups == 1:
        B.matmul(a[0], wm[0], out=out)
    else:
        out.reshape(out.shape[0], groups, og)[...] = B.matmul(a, wm).transpose(1, 0, 2)


def _gather_view(grid, g):
    """Strided im2col view ``(N, Ho, Wo, kh, kw, C)`` of a padded NHWC grid."""
    (kh, kw), (dh, dw), (sh, sw) = g.kernel, g.dilation, g.stride
    n, c = grid.shape[0], grid.shape[3]
    ho, wo = g.out
    s_n, s_h, s_w, s_c = grid.strides
    return as_strided(grid, (n, ho, wo, kh, kw, c),
                      (s_n, sh * s_h, sw * s_w, dh * s_h, dw * s_w, s_c))


class _Cols:
    """Row blocks of the im2col matrix of ``x`` for geometry ``g``.

    ``kind`` is ``'full'`` (rows over the whole padded grid), or ``'gather'``
    (rows over the ``Ho x Wo`` outputs); ``order`` is ``'ijc'`` or ``'cij'``
    (the column order; see :func:`weight_matrix`).  ``block(s, e)`` returns
    rows ``s:e`` as ``(G, e - s, K/G)``; ``step`` is the preferred block size."""

    def __init__(self, x, g):
        xp = B.xp_of(x)
        n, c = x.shape[:2]
        (kh, kw), (dh, dw) = g.kernel, g.dilation
        self.groups, self.kind = g.groups, "full" if g.full_grid() else "gather"
        it = x.itemsize
        if self.kind == "full":
            hp, wp = g.padded()
            self.nrows = n * hp * wp
            self.unit = 1
            tail = dh * (kh - 1) * wp + dw * (kw - 1)
            if c < _SMALL_C:
                self.order = "cij"
                flat, _ = pad_cnhw(x, g.pads, tail)
                self.view = as_strided(flat, (c, kh, kw, self.nrows),
                                       (flat.strides[0], dh * wp * it, dw * it, it))
            else:
                self.order = "ijc"
                flat, _ = pad_nhwc(x, g.pads, tail)
                s_r, s_c = flat.strides
                self.view = as_strided(flat, (self.nrows, kh, kw, c),
                                       (s_r, dh * wp * s_r, dw * s_r, s_c))
        else:
            self.order = "ijc"
            ho, wo = g.out
            self.nrows, self.unit = n * ho * wo, ho * wo
            _, grid = pad_nhwc(x, g.pads)
            self.view = _gather_view(grid, g)
        self.step = max(1, block_rows(xp, c * kh * kw, it, _COL_BLOCK_BYTES)
                        // self.unit) * self.unit

    def blocks(self):
        return [(s, min(s + self.step, self.nrows)) for s in range(0, self.nrows, self.step)]

    def block(self, s, e):
        if self.order == "cij":
            c, kh, kw = self.view.shape[:3]
            k = scratch(B.xp_of(self.view), "cols", (c, kh, kw, e - s), self.view.dtype)
            k[...] = self.view[..., s:e]
            return k.reshape(self.groups, -1, e - s).transpose(0, 2, 1)  # (G, rows, K/G)
        if self.kind == "full":
            return _group_rows(self.view[s:e], self.groups)
        u = self.unit
        v = self.view[s // u:e // u]
        return _group_rows(v.reshape((e - s,) + v.shape[3:]), self.groups)


# ---------------------------------------------------------------- kernels
def conv_forward(x, w, g, bias=None):
    """``y = conv(x, w) (+ bias)``: x (N, C, H, W), w (O, C/G, kh, kw) -> (N, O, Ho, Wo)."""
    xp = B.xp_of(x)
    n, c = x.shape[:2]
    o = w.shape[0]
    if g.winograd(c, o):
        return winograd.forward(x, w, g, bias)
    cols = _Cols(x, g)
    wm = xp.ascontiguousarray(weight_matrix(w, g.groups, cols.order))
    y = xp.empty((cols.nrows, o), dtype=x.dtype)

    def block(se):
        _matmul_rows(cols.block(*se), wm, y[se[0]:se[1]])
        if bias is not None:
            add_bias(y[se[0]:se[1]], bias)
    P.run(block, cols.blocks(), xp)
    ho, wo = g.out
    if cols.kind == "full":
        hp, wp = g.padded()
        return y.reshape(n, hp, wp, o)[:, :ho, :wo].transpose(0, 3, 1, 2)
    return y.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)


def conv_weight_grad(x, gy, g):
    """``gw[o, c, i, j] = sum_{n,h,w} gy[n, o, h, w] * xpad[n, c, h*s + i*d, w*s + j*d]``."""
    xp = B.xp_of(x)
    n, c = x.shape[:2]
    o, ho, wo = gy.shape[1:]
    groups = g.groups
    kh, kw = g.kernel
    shape = (o, c // groups, kh, kw)
    if g.winograd(c, o):
        return winograd.weight_grad(x, gy, g)
    geo = Geom(g.size, g.kernel, g.stride, g.dilation, g.pads, groups, out=(ho, wo))
    cols = _Cols(x, geo)
    if cols.kind == "full":
        hp, wp = g.padded()
        gf = scratch(xp, "pad2", (n, hp, wp, o), gy.dtype)
        _pad_into(gf, gy.transpose(0, 2, 3, 1), (0, 0), (hp - ho, wp - wo), 1)
        rows = gf.reshape(-1, o)
    else:
        rows = rows_nhwc(gy)
    og = o // groups

    def block(se):
        s, e = se
        blk = cols.block(s, e).transpose(0, 2, 1)                    # (G, K/G, rows)
        r = rows[s:e].reshape(e - s, groups, og).transpose(1, 0, 2)  # (G, rows, O/G)
        return B.matmul(blk, r)
    acc = P.reduce(block, cols.blocks(), xp)
    if acc is None:
        return xp.zeros(shape, dtype=gy.dtype)
    return weight_from_matrix(acc, shape, cols.order)
