"""Raw-array kernels shared by pooling and resampling (private).

Everything works on the last ``nd`` axes of an array of any rank, with no
Python loop over pixels or batch items: a window op loops over the kernel
offsets only (``k`` iterations per spatial dim, each one vectorised over the
whole array) and treats the spatial dims one after the other, since max and
sum over a box are separable.  Indices are torch's: flat per (N, C) plane.
"""
import numpy as np

from chainrule.backend import arrays as B


def along(x, axis, sel):
    """``x`` indexed by ``sel`` (a slice or an int array) along ``axis``."""
    if isinstance(sel, slice):
        return x[(slice(None),) * axis + (sel,)]
    xp = B.xp_of(x)
    return xp.take(x, xp.asarray(sel), axis=axis)


def pad_last(x, pads, value):
    """Pad the last ``len(pads)`` axes by ``(before, after)`` pairs with ``value``."""
    if not any(a or b for a, b in pads):
        return x
    xp = B.xp_of(x)
    lead = x.ndim - len(pads)
    shape = x.shape[:lead] + tuple(n + a + b for n, (a, b) in zip(x.shape[lead:], pads))
    out = xp.full(shape, value, dtype=x.dtype)
    out[(Ellipsis,) + tuple(slice(a, a + n) for n, (a, _) in zip(x.shape[lead:], pads))] = x
    return out


def crop_last(x, pads, sizes):
    """Inverse of :func:`pad_last` (a view)."""
    if not any(a or b for a, b in pads) and tuple(x.shape[-len(sizes):]) == tuple(sizes):
        return x
    return x[(Ellipsis,) + tuple(slice(a, a + n) for (a, _), n in zip(pads, sizes))]


# ---------------------------------------------------------------- windows along one axis
class Windows:
    """The windows of one spatial dim: for kernel offset ``j``, ``picks[j]`` is
    ``(selector, position)``: what to take from the (padded) input along the
    axis, and the unpadded input position of each output's element."""

    def __init__(self, picks, in_size, out_size, pad=(0, 0), phases=1, step=None):
        self.picks = picks
        self.in_size, self.out_size = in_size, out_size
        self.pad = pad              # (before, after) padding of the input
        self.phases = phases        # outputs this far apart never share an input
        self.step = step            # (base, dilation) of regular windows, else None

    def position(self, off, axis):
        """Unpadded input positions (int64) of kernel offsets ``off`` along ``axis``."""
        xp = B.xp_of(off)
        bshape = (-1,) + (1,) * (off.ndim - 1 - axis)
        if self.step is not None:
            base, d = self.step
            pos = off.astype(np.int64)
            if d != 1:
                pos *= d
            return pos + xp.asarray(base, dtype=np.int64).reshape(bshape)
        table = xp.asarray(np.stack([p for _, p in self.picks]), dtype=np.int64)
        col = xp.arange(self.out_size).reshape(bshape)
        return table[off.astype(np.int64), col]

    @classmethod
    def regular(cls, L, o, k, s, p, d):
        """Windows ``[i*s - p + j*d for j < k]`` over an input padded by ``p``."""
        span = s * (o - 1) + 1
        right = max(0, (o - 1) * s + d * (k - 1) + 1 - L - p)
        base = np.arange(o) * s - p
        picks = [(slice(j * d, j * d + span, s), base + j * d) for j in range(k)]
        eff = d * (k - 1) + 1
        return cls(picks, L, o, (p, right), -(-eff // s), (base, d))

    @classmethod
    def adaptive(cls, L, o):
        """torch's adaptive windows ``[floor(i*L/o), ceil((i+1)*L/o))``; short
        windows repeat their last element (harmless for max and argmax)."""
        i = np.arange(o)
        start = (i * L) // o
        end = -((-(i + 1) * L) // o)
        k = int((end - start).max())
        picks = []
        for j in range(k):
            pos = np.minimum(start + j, end - 1)
            picks.append((pos, pos))
        r = 1
        while r < o and np.any(start[r:] < end[:-r]):
            r += 1
        return cls(picks, L, o, (0, 0), r)


def _offset_dtype(k):
    return np.int8 if k <= 127 else np.int32


def _picker(cur, axis, picks):
    """``j -> cur`` taken by ``picks[j]``'s selector along ``axis``.  Strided
    picks along the last axis come from a polyphase split (one strided copy
    per phase) so that every pick is a unit-stride view, which NumPy's SIMD
    loops handle several times faster."""
    sel0 = picks[0][0]
    step = sel0.step if isinstance(sel0, slice) else None
    if step is None or step == 1 or axis != cur.ndim - 1 or len(picks) == 1:
        return lambda j: along(cur, axis, picks[j][0])
    xp = B.xp_of(cur)
    phases = {}

    def pick(j):
        sel = picks[j][0]
        r, q = sel.start % step, sel.start // step
        if r not in phases:
            phases[r] = xp.ascontiguousarray(cur[..., r::step])
        n = len(range(sel.start, sel.stop, step))
        return phases[r][..., q:q + n]
    return pick


def _max_stage(cur, axis, picks, offs, want_idx, nan_aware):
    """Reduce ``axis`` by the max over ``picks``; returns ``(m, off, carried)``."""
    xp = B.xp_of(cur)
    take = _picker(cur, axis, picks)
    dt = _offset_dtype(len(picks))
    m = take(0)
    m = m.copy() if isinstance(picks[0][0], slice) else m
    off = xp.zeros(m.shape, dtype=dt) if want_idx else None
    carried = [xp.array(along(c, axis, picks[0][0])) for c in offs] if want_idx else []
    for j in range(1, len(picks)):
        v = take(j)
        if want_idx:
            u = v > m
            if nan_aware:
                u |= v != v
            off += u.astype(dt) * (dt(j) - off)
            for c, prev in zip(carried, offs):
                c += u.astype(c.dtype) * (along(prev, axis, picks[j][0]) - c)
        xp.maximum(m, v, out=m)
    return m, off, carried


def window_max(x, wins, want_idx):
    """Max over the windows ``wins`` (one :class:`Windows` per trailing dim) of
    ``x`` (already padded with ``-inf``).  Returns ``(y, idx)`` with torch's
    flat-per-plane argmax (first maximum in row-major order; the last NaN
    wins, as in torch) or ``idx=None``.

    Dims are reduced last to first.  While reducing a dim the kernel offset
    of the running maximum is kept as a small int (``off += upd * (j - off)``,
    cheap vectorised arithmetic), and the offsets found for the dims already
    reduced ride along with the selected rows.  NaN-aware comparisons are
    only paid for when a NaN reached the output.
    """
    xp = B.xp_of(x)
    nd = len(wins)
    cur, offs = x, []       # offs[i]: offsets of dim nd-1-i
    for k in reversed(range(nd)):
        axis = x.ndim - nd + k
        m, off, carried = _max_stage(cur, axis, wins[k].picks, offs, want_idx, False)
        if want_idx and xp.isnan(m).any():
            m, off, carried = _max_stage(cur, axis, wins[k].picks, offs, want_idx, True)
        cur = m
        offs = carried + [off] if want_idx else []
    if not want_idx:
        return cur, None
    idx, stride = None, 1
    for k in reversed(range(nd)):
        pos = wins[k].position(offs[nd - 1 - k], x.ndim - nd + k)
        term = pos * stride if stride != 1 else pos
        idx = term if idx is None else idx + term
        stride *= wins[k].in_size
    return cur, idx


def plane_gather(x, idx, nd):
    """``y[..., o] = x[..., idx[..., o]]`` with flat-per-plane indices."""
    xp = B.xp_of(x)
    lead = x.shape[:x.ndim - nd]
    g = int(np.prod(lead)) if lead else 1
    flat = x.reshape(g, -1)
    out = xp.take_along_axis(flat, idx.reshape(g, -1), axis=1)
    return out.reshape(idx.shape)


def plane_scatter(g, idx, in_sizes, phases, accumulate=True, channels_last=False):
    """The adjoint of :func:`plane_gather`: zeros of the input shape with ``g``
    added at ``idx``.  ``phases`` (per dim) says how far apart two outputs
    must be to never share an input, so each phase is a plain fancy-index
    update without duplicates (no slow ``add.at``).

    ``channels_last`` (for ``(N, C, *spatial)``): the result is written in
    channels-last memory (returned as the logical NCHW view), the layout of a
    convolution's output, so the gradient reaching the convolution needs no
    transposing copy."""
    xp = B.xp_of(g)
    nd = len(in_sizes)
    lead = g.shape[:g.ndim - nd]
    n = int(np.prod(lead)) if lead else 1
    plane = int(np.prod(in_sizes))
    out = xp.zeros(n * plane, dtype=g.dtype)
    gidx = idx.reshape((n,) + idx.shape[idx.ndim - nd:])
    cl = channels_last and len(lead) == 2
    if cl:   # position of (b, c, p) in (N, *spatial, C) memory: (b * plane + p) * C + c
        nb, nc = lead
        base = (xp.arange(nb, dtype=np.int64)[:, None] * (plane * nc) +
                xp.arange(nc, dtype=np.int64)[None, :]).reshape((n,) + (1,) * nd)
        gidx = gidx * nc + base
    else:
        gidx = gidx + (xp.arange(n, dtype=np.int64) * plane).reshape((n,) + (1,) * nd)
    gv = g.reshape(gidx.shape)
    if not accumulate or all(r == 1 for r in phases):
        out[gidx.ravel()] = gv.ravel()
    else:
        for ph in np.ndindex(*phases):
            sl = (slice(None),) + tuple(slice(a, None, r) for a, r in zip(ph, phases))
            i = gidx[sl].ravel()
            if i.size:
                out[i] += gv[sl].ravel()
    if cl:
        return out.reshape((lead[0],) + tuple(in_sizes) + (lead[1],)).transpose(
            (0, nd + 1) + tuple(range(1, nd + 1)))
    return out.reshape(lead + tuple(in_sizes))


# ---------------------------------------------------------------- box sums
def window_sum(x, wins):
    """Sum over regular windows (x already zero-padded); separable."""
    nd = len(wins)
    cur = x
    for k in reversed(range(nd)):
        axis = x.ndim - nd + k
        take = _picker(cur, axis, wins[k].picks)
        acc = take(0).copy()
        for j in range(1, len(wins[k].picks)):
            acc += take(j)
        cur = acc
    return cur


def window_sum_t(g, wins):
    """Adjoint of :func:`window_sum`: spread each output over its window,
    returning the padded input shape."""
    xp = B.xp_of(g)
    nd = len(wins)
    cur = g
    for k in range(nd):
        axis = g.ndim - nd + k
        w = wins[k]
        shape = list(cur.shape)
        shape[axis] = w.in_size + w.pad[0] + w.pad[1]
        out = xp.zeros(tuple(shape), dtype=g.dtype)
        for sel, _ in w.picks:
            idx = (slice(None),) * axis + (sel,)
            out[idx] += cur
        cur = out
    return cur


# ---------------------------------------------------------------- separable linear maps
def apply_mats(x, mats):
    """``y = M_1 x M_2^T ...``: multiply each of the last ``len(mats)`` axes
    of ``x`` by a matrix ``(out, in)``."""
    xp = B.xp_of(x)
    nd = len(mats)
    cur = x
    for k in reversed(range(nd)):
        m = mats[k]
        if k == nd - 1:
            shape = cur.shape
            flat = xp.ascontiguousarray(cur).reshape(-1, shape[-1])
            cur = (flat @ m.T).reshape(shape[:-1] + (m.shape[0],))
        else:
            axis = cur.ndim - nd + k
            moved = xp.moveaxis(cur, axis, -1)
            shape = moved.shape
            flat = xp.ascontiguousarray(moved).reshape(-1, shape[-1])
            cur = xp.moveaxis((flat @ m.T).reshape(shape[:-1] + (m.shape[0],)), -1, axis)
    return xp.ascontiguousarray(cur)
