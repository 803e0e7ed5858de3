"""Raw-array kernels of the transposed convolution, i.e. of the input
gradient of a convolution (see ``conv.py`` for the layout,
blocking and scratch-memory conventions).

:func:`conv_input_grad` picks one of:

* a stride-1 convolution of ``gy`` with the flipped, in/out-swapped kernel
  (Winograd or full-grid im2col, via ``conv_forward``) when the result has
  enough channels for a good GEMM;
* for few result channels and stride 1, "GEMM first": ``z = W^T gy`` over the
  padded grid, then ``kh*kw`` contiguous shifted adds;
* otherwise col2im: ``gcol = gy W^T`` per block of images, scattered back with
  ``kh*kw`` strided adds, channels-last (or channel-major for few channels).
"""
from chainrule.backend import arrays as B
from chainrule.backend.cpu import threads as P
from chainrule.backend.cpu.scratch import scratch
from chainrule.backend.kernels import conv as K
from chainrule.backend.kernels.conv import Geom, weight_matrix
from chainrule.backend.kernels.rows import _pad_into, add_bias, block_rows, image_blocks, rows_nhwc

__all__ = ["conv_input_grad", "adjoint_geom", "flip_transpose"]


def flip_transpose(w, groups):
    """Weights of the adjoint stride-1 convolution: (O, C/G, kh, kw) ->
    (C, O/G, kh, kw), channels swapped within each group, kernel flipped."""
    o, cg, kh, kw = w.shape
    wt = w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4)
    return wt.reshape(groups * cg, o // groups, kh, kw)[:, :, ::-1, ::-1]


def adjoint_geom(g, gy_size):
    """Geometry of the stride-1 convolution of ``gy`` that computes ``conv^T``."""
    (h, wd), (kh, kw), (dh, dw) = g.size, g.kernel, g.dilation
    (pt, _), (pl, _) = g.pads
    ho, wo = gy_size
    qt, ql = dh * (kh - 1) - pt, dw * (kw - 1) - pl
    return Geom((ho, wo), g.kernel, (1, 1), g.dilation,
                ((qt, h - ho + pt), (ql, wd - wo + pl)), g.groups, out=(h, wd))


def conv_input_grad(gy, w, g, bias=None):
    """``gx = conv^T(gy, w) (+ bias)``: the adjoint of :func:`conv_forward` in
    ``x`` (the transposed convolution); returns (N, C, H, W) with (H, W) =
    ``g.size``."""
    xp = B.xp_of(gy)
    o, cg = w.shape[:2]
    c = cg * g.groups
    if g.stride == (1, 1):
        adj = adjoint_geom(g, gy.shape[2:])
        if adj.winograd(o, c) or (adj.full_grid() and c >= K._SMALL_C):
            # a stride-1 convolution of gy with the flipped, transposed kernel
            wt = xp.ascontiguousarray(flip_transpose(w, g.groups))
            return K.conv_forward(gy, wt, adj, bias)
    if c >= K._SMALL_C:
        return _col2im_nhwc(gy, w, g, bias)
    if g.stride == (1, 1):
        hp, wp = g.padded()
        if hp * wp <= K._SHIFT_SUM_WASTE * gy.shape[2] * gy.shape[3]:
            return _shift_sum_cnhw(gy, w, g, bias)
    return _col2im_cnhw(gy, w, g, bias)


def _scatter(dst, gcol, g, axis):
    """``dst[..., i*dh + h*sh, j*dw + w*sw, ...] += gcol[i, j][..., h, w, ...]``
    over the kernel offsets (spatial axes of ``dst`` at ``axis``, ``axis+1``)."""
    (kh, kw), (dh, dw), (sh, sw) = g.kernel, g.dilation, g.stride
    ho, wo = gcol.shape[2 + axis], gcol.shape[3 + axis]
    lead = (slice(None),) * axis
    for i in range(kh):
        for j in range(kw):
            dst[lead + (slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                        slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))] += gcol[i, j]


def _col2im_nhwc(gy, w, g, bias):
    """conv^T by scattering ``gcol = gy W^T`` back with kh*kw strided adds
    (channels-last: the adds run over C-element pixels)."""
    xp = B.xp_of(gy)
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = w.shape
    groups = g.groups
    c = cg * groups
    (h, wd), (pt, _), (pl, _) = g.size, g.pads[0], g.pads[1]
    hp, wp = g.padded()
    wm = xp.ascontiguousarray(weight_matrix(w, groups, "ijc").transpose(0, 2, 1))
    rows = rows_nhwc(gy)
    gx = xp.zeros((n, hp, wp, groups, cg), dtype=gy.dtype)
    unit = ho * wo

    def block(se):
        s, e = se
        r = rows[s * unit:e * unit].reshape(-1, groups, o // groups).transpose(1, 0, 2)
        gcol = B.matmul(r, wm).reshape(groups, e - s, ho, wo, kh, kw, cg)
        _scatter(gx[s:e], gcol.transpose(4, 5, 1, 2, 3, 0, 6), g, 1)
        if bias is not None:
            add_bias(gx[s:e].reshape(-1, c), bias)
    P.run(block, image_blocks(n, block_rows(xp, c * kh * kw, gy.itemsize) // unit), xp)
    gx = gx.reshape(n, hp, wp, c)
    return gx[:, pt:pt + h, pl:pl + wd].transpose(0, 3, 1, 2)


def _col2im_cnhw(gy, w, g, bias):
    """Channel-major col2im, for few input channels: the adds run over image rows."""
    xp = B.xp_of(gy)
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = w.shape
    groups = g.groups
    c = cg * groups
    (h, wd), (pt, _), (pl, _) = g.size, g.pads[0], g.pads[1]
    hp, wp = g.padded()
    wm = xp.ascontiguousarray(weight_matrix(w, groups, "cij"))             # (G, K/G, O/G)
    gyt = gy.transpose(1, 0, 2, 3).reshape(groups, o // groups, n, ho * wo)
    gx = xp.zeros((groups, cg, n, hp, wp), dtype=gy.dtype)

    def block(se):
        s, e = se
        gcol = B.matmul(wm, gyt[:, :, s:e].reshape(groups, o // groups, -1))
        gcol = gcol.reshape(groups, cg, kh, kw, e - s, ho, wo)
        _scatter(gx[:, :, s:e], gcol.transpose(2, 3, 0, 1, 4, 5, 6), g, 3)
        if bias is not None:
            gx[:, :, s:e] += bias.reshape(groups, cg, 1, 1, 1)
    P.run(block, image_blocks(n, block_rows(xp, c * kh * kw, gy.itemsize) // (ho * wo)), xp)
    gx = gx.reshape(c, n, hp, wp)
    return gx[:, :, pt:pt + h, pl:pl + wd].transpose(1, 0, 2, 3)


def _shift_sum_cnhw(gy, w, g, bias):
    """Stride-1 conv^T for few output channels, GEMM first: ``z = W^T gy`` over
    the whole padded grid (``C*kh*kw`` rows, one column per grid position),
    then ``gx[c, p] = sum_ij z[c, i, j, p - shift_ij]``, long contiguous adds.

    (The other order, shifting ``gy`` into an im2col matrix first, ends in a
    GEMM with only ``C`` output columns, which BLAS runs slowly.)  Each block
    of grid positions recomputes the ``max shift`` columns of ``z`` before it,
    so that blocks write disjoint ranges."""
    xp = B.xp_of(gy)
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = w.shape
    groups = g.groups
    c = cg * groups
    (h, wd), (pt, _), (pl, _) = g.size, g.pads[0], g.pads[1]
    (dh, dw) = g.dilation
    hp, wp = g.padded()
    size = n * hp * wp
    wm = xp.ascontiguousarray(weight_matrix(w, groups, "cij"))             # (G, K/G, O/G)
    gyf = scratch(xp, "pad2", (o, n, hp, wp), gy.dtype)
    _pad_into(gyf, gy.transpose(1, 0, 2, 3), (0, 0), (hp - ho, wp - wo), 2)
    gyf = gyf.reshape(groups, o // groups, size)
    shifts = [(i, j, i * dh * wp + j * dw) for i in range(kh) for j in range(kw)]
    top = shifts[-1][2]
    gx = xp.empty((c, size), dtype=gy.dtype)
    # larger blocks than the im2col ones: each costs kh*kw NumPy calls
    step = max(4 * block_rows(xp, c * kh * kw, gy.itemsize), 2 * top)

    def block(se):
        s, e = se
        s0 = max(0, s - top)
        z = scratch(xp, "cols", (groups, c * kh * kw // groups, e - s0), gy.dtype)
        B.matmul(wm, gyf[:, :, s0:e], out=z)
        z = z.reshape(c, kh, kw, e - s0)
        dst = gx[:, s:e]
        dst[...] = 0
        for i, j, sh in shifts:
            lo = max(s - sh, 0)
            dst[:, lo + sh - s:] += z[:, i, j, lo - s0:e - sh - s0]
        if bias is not None:
            dst += bias.reshape(c, 1)
    P.run(block, image_blocks(size, step), xp)
    gx = gx.reshape(c, n, hp, wp)
    return gx[:, :, pt:pt + h, pl:pl + wd].transpose(1, 0, 2, 3)
