"""Array-level backward rules for the hottest ops.

The plan's backward calls an op's own ``backward`` (written in Tensor ops, so it makes
Tensors and dispatches each inner op) unless the op has a rule here: the same
derivative computed on the arrays directly, in the same floating-point order as the
op's backward (so results match eager mode bitwise), with temporaries reused in place
where the op's backward would allocate a new array.  A rule gets the op, its input and
output arrays of this call (only those the op keeps for backward), its output
gradients and which inputs need a gradient; it returns one array (or None) per input.
"""
from chainrule.backend import kernels_of, xp_of
from chainrule.functional import binary as _bin
from chainrule.functional import elementwise as _ew
from chainrule.functional import linalg as _la
from chainrule.functional import reduction as _red
from chainrule.functional import shape as _shape

__all__ = ["RULES"]


def _add(fn, xs, ys, gys, need):
    g = gys[0]
    return g if need[0] else None, g if need[1] else None


def _sub(fn, xs, ys, gys, need):
    g = gys[0]
    return g if need[0] else None, -g if need[1] else None


def _aligned(g, y):
    """``g`` in ``y``'s memory layout when they differ (as the ops' own Tensor
    backward does through its binary ops: NumPy runs mixed layouts ~10x slower)."""
    return kernels_of(y).align_layouts(g, y)[0]


def _mul(fn, xs, ys, gys, need):
    g = gys[0]
    a, b = xs
    return (_aligned(g, b) * b if need[0] else None,
            _aligned(g, a) * a if need[1] else None)


def _div(fn, xs, ys, gys, need):
    g = gys[0]
    a, b = xs
    return (_aligned(g, b) / b if need[0] else None,
            -_aligned(g, a) * a / (b * b) if need[1] else None)


def _neg(fn, xs, ys, gys, need):
    return (-gys[0],)


def _tanh(fn, xs, ys, gys, need):   # gy * (1 - y^2), one temporary
    xp = xp_of(ys[0])
    t = ys[0] * ys[0]
    xp.subtract(1, t, out=t)
    xp.multiply(_aligned(gys[0], t), t, out=t)
    return (t,)


def _exp(fn, xs, ys, gys, need):
    return (_aligned(gys[0], ys[0]) * ys[0],)


def _sigmoid(fn, xs, ys, gys, need):   # gy * y * (1 - y)
    xp = xp_of(ys[0])
    y = ys[0]
    t = _aligned(gys[0], y) * y
    u = xp.subtract(1, y)
    xp.multiply(t, u, out=t)
    return (t,)


def _relu(fn, xs, ys, gys, need):   # gy where y > 0
    g, y = kernels_of(ys[0]).align_layouts(gys[0], ys[0])   # as the op: one layout
    return (xp_of(g).multiply(g, y > 0, dtype=g.dtype),)


def _expand(g, in_shape, axes, keepdim):
    if not keepdim and axes:
        nd = len(in_shape)
        red = {a % nd for a in axes}
        g = g.reshape(tuple(1 if i in red else d for i, d in enumerate(in_shape)))
    return xp_of(g).broadcast_to(g, in_shape)


def _sum(fn, xs, ys, gys, need):
    return (_expand(gys[0], fn._in_meta[0][0], fn.axes, fn.keepdim),)


def _mean(fn, xs, ys, gys, need):
    return (_expand(gys[0] / fn.n, fn._in_meta[0][0], fn.axes, fn.keepdim),)


def _reshape(fn, xs, ys, gys, need):
    return (gys[0].reshape(fn._in_meta[0][0]),)


def _permute(fn, xs, ys, gys, need):
    inv = [0] * len(fn.axes)
    for i, a in enumerate(fn.axes):
        inv[a] = i
    return (gys[0].transpose(inv),)


def _linear(fn, xs, ys, gys, need):   # gx = gy W, gW = gy^T x, gb = sum gy
    x, w = xs[0], xs[1]
    out_f, in_f = w.shape
    lead = 1
    for d in x.shape[:-1]:
        lead *= d
    g2 = gys[0].reshape(lead, out_f)
    gemm = kernels_of(w).gemm_threads   # as the op's Matmul: small GEMMs on one thread
    gx = gw = None
    if need[0]:
        with gemm(lead, in_f, out_f):
            gx = (g2 @ w).reshape(x.shape)
    if need[1]:
        with gemm(out_f, in_f, lead):
            gw = g2.T @ x.reshape(lead, in_f)
    if len(xs) > 2:
        return gx, gw, (g2.sum(0) if need[2] else None)
    return gx, gw


RULES = {
    _bin.Add: _add, _bin.Sub: _sub, _bin.Mul: _mul, _bin.Div: _div, _ew.Neg: _neg,
    _ew.Tanh: _tanh, _ew.Exp: _exp, _ew.Sigmoid: _sigmoid, _ew.Relu: _relu,
    _red.Sum: _sum, _red.Mean: _mean, _shape.Reshape: _reshape, _shape.Permute: _permute,
    _la.Linear: _linear,
}
