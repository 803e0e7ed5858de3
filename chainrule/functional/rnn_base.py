"""Shared machinery of the fused recurrent layers (``chainrule.functional.rnn``):
the ``_FusedLayer`` Function base (named inputs, step order for forward and
reverse directions and for packed batches, weight gradients as single GEMMs),
``_LayerGrad`` (the differentiable gradient used for double backward) and the
raw-array helpers.
"""
from chainrule import backend as B
from chainrule.core import grad_mode as _gm
from chainrule.core.autograd_api import grad as _grad
from chainrule.core.function import Function
from chainrule.core.tensor import _make
from chainrule.functional.rnn_cells import composed_layer

__all__ = []

ORDER = ("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh", "w_hr", "w_ci", "w_cf", "w_co")


def _sigmoid_(a):
    """In place: sigmoid(a) = 0.5 * tanh(0.5 a) + 0.5 (cannot overflow)."""
    a *= 0.5
    B.xp_of(a).tanh(a, out=a)
    a *= 0.5
    a += 0.5


def _dsigmoid(s, out):
    """``out = s * (1 - s)``: the sigmoid's derivative from its output."""
    B.xp_of(s).subtract(1, s, out=out)
    out *= s
    return out


def _dtanh(t, out):
    """``out = 1 - t^2``: tanh's derivative from its output."""
    xp = B.xp_of(t)
    xp.multiply(t, t, out=out)
    xp.subtract(1, out, out=out)
    return out


def _recurrent_gemm(w_hh, h, buf):
    """``h @ w_hh^T`` as the transpose of ``w_hh @ h^T`` (into ``buf``): with few
    rows in ``h`` this form is much faster in OpenBLAS and needs no copy of
    ``w_hh``; the caller reads the result through the transposed view."""
    out = buf[:w_hh.shape[0] * h.shape[0]].reshape(w_hh.shape[0], h.shape[0])
    return B.xp_of(h).matmul(w_hh, h.T, out=out).T


def _in_proj(x, w_ih, bias=None):
    """All steps' input projections ``x W_ih^T + b`` as one GEMM: (T, N, G)."""
    T, N, I = x.shape
    x2 = x.reshape(T * N, I)
    g = x2 @ w_ih.T
    if bias is not None:
        g += bias
    return g.reshape(T, N, -1), x2


class _FusedLayer(Function):
    """Base of the fused layers: inputs are named by ``names`` (a subset of
    ``ORDER``); subclasses implement ``forward``, ``_bptt`` and ``mode``."""
    save_output = True  # the outputs alias saved state: in-place edits are caught
    mode = None

    def __init__(self, names, reverse=False, batch_sizes=None):
        self.names = names
        self.reverse = reverse
        self.batch_sizes = batch_sizes
        self.a = self.saved = None

    def _steps(self, T, N):
        """``(t, prev, out, active rows)`` in processing order: the state
        before step ``t`` is at index ``prev`` of the (T+1)-long state arrays."""
        bs = self.batch_sizes
        if self.reverse:
            return [(t, t + 1, t, N if bs is None else bs[t]) for t in range(T - 1, -1, -1)]
        return [(t, t, t + 1, N if bs is None else bs[t]) for t in range(T)]

    def _alloc(self, xp):
        """Arrays whose inactive (padded) rows must read as zero."""
        return xp.empty if self.batch_sizes is None else xp.zeros

    def _outputs(self, Hs, *states):
        """``y`` (a view of the saved states, or a masked copy for packed
        batches) and the final states (copies)."""
        T = Hs.shape[0] - 1
        y = Hs[:T] if self.reverse else Hs[1:]
        if self.batch_sizes is not None:
            y = y.copy()
            for t, n in enumerate(self.batch_sizes):
                y[t, n:] = 0
        end = 0 if self.reverse else T
        return (y,) + tuple(s[end].copy() for s in (Hs,) + states)

    def _prev_states(self, S):
        """The state before each step, stacked in time order: (T, N, *)."""
        return S[1:] if self.reverse else S[:-1]

    def _weight_grads(self, res, d_in, d_h, x2, hprev):
        """The weight gradients as single GEMMs over all stacked steps."""
        a, need = self.a, self._need
        T, N, G = d_in.shape
        di2 = d_in.reshape(T * N, G)
        dh2 = d_h.reshape(T * N, G)
        if need["x"]:
            res["x"] = (di2 @ a["w_ih"]).reshape(a["x"].shape)
        if need["w_ih"]:
            res["w_ih"] = di2.T @ x2
        if need["w_hh"]:
            res["w_hh"] = dh2.T @ hprev.reshape(T * N, -1)
        if "b_ih" in a:
            res["b_ih"] = di2.sum(0)
            res["b_hh"] = res["b_ih"].copy() if dh2 is di2 else dh2.sum(0)

    def backward(self, *gys):
        if _gm._State.enabled:  # create_graph: the gradient must itself be differentiable
            grads = _LayerGrad(self)(*self.inputs, *gys)
            return tuple(g if e is not None else None for g, e in zip(grads, self._edges))
        self._need = dict(zip(self.names, self.needs_input_grad))
        res = self._bptt(*[g._data for g in gys])
        return tuple(_make(res[k]) if k in res and self._need[k] else None for k in self.names)

    def _release_extra(self):
        self.a = self.saved = None

    def composed(self, tensors):
        """The same layer, cell by cell from differentiable ops (the oracle)."""
        t = dict(zip(self.names, tensors))
        w = {k: t[k] for k in ("w_ih", "w_hh", "b_ih", "b_hh", "w_hr") if k in t}
        if "w_ci" in t:
            w["peephole"] = (t["w_ci"], t["w_cf"], t["w_co"])
        hx = (t["h0"], t["c0"]) if "c0" in t else (t["h0"],)
        return composed_layer(self.mode, t["x"], hx, w, self.reverse, self.batch_sizes)


class _LayerGrad(Function):
    """The gradient of a fused layer as an op of (its inputs, its output
    gradients), used when backward runs with ``create_graph=True``.  Forward is
    the hand-written BPTT; backward (the second derivative) differentiates the
    composed cell-by-cell graph."""

    def __init__(self, layer):
        self.layer = layer

    def forward(self, *arrays):
        layer = self.layer
        n = len(layer.names)
        layer._need = dict.fromkeys(layer.names, True)
        res = layer._bptt(*arrays[n:])
        return tuple(res[k] for k in layer.names)

    def backward(self, *ggs):
        if _gm._State.enabled:
            raise NotImplementedError(
                f"{self.layer.mode}: third-order gradients through the fused recurrent "
                f"layer are not supported; set fused=False on the module (or call "
                f"composed_layer) for a fully composed graph")
        n = len(self.layer.names)
        leaves = [_make(t._data, requires_grad=True) for t in self.inputs]
        with _gm.enable_grad():
            outs = self.layer.composed(leaves[:n])
            firsts = _grad(list(outs), leaves[:n], leaves[n:], create_graph=True,
                           allow_unused=True)
        pairs = [(f, g) for f, g in zip(firsts, ggs) if f is not None and f.requires_grad]
        if not pairs:
            return (None,) * len(leaves)
        return tuple(_grad([f for f, _ in pairs], leaves, [g for _, g in pairs],
                           allow_unused=True))
