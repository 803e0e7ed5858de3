"""Fused recurrent layers: one Function per layer and direction.

Forward projects the inputs of all time steps in one GEMM, then runs one GEMM
per step for all gates (``h W_hh^T``, computed as ``(W_hh h^T)^T``, the fast
form for a small batch) and the gate nonlinearities in place on preallocated
arrays (for LSTM one ``tanh`` over the whole gate block), saving the activated
gates.  Backward is a hand-written backpropagation through time on raw arrays:
per step the local derivative factors (while that step's data is in cache) and
one GEMM for ``dh``; after the loop each weight gradient is a single GEMM over
the stacked steps (``dW_hh = sum_t dgates_t^T h_{t-1}``), and the input
gradient another.  The base class and helpers live in ``rnn_base``.

Variable-length batches pass ``batch_sizes`` (active rows per step, sorted
non-increasing as in a ``PackedSequence``): inactive rows keep their state and
output zeros, so each sequence ends (and, in reverse, starts) at its own last
step.

Double backward (``create_graph=True``) goes through :class:`_LayerGrad`: its
forward is the same hand-written BPTT, and its own backward differentiates the
composed cell-by-cell graph of ``chainrule.functional.rnn_cells``, which is
also the test oracle of these layers.
"""
from chainrule import backend as B
from chainrule.core import dtype as D
from chainrule.functional.autocast import autocast_op
from chainrule.functional.rnn_base import (ORDER, _FusedLayer, _dsigmoid, _dtanh, _in_proj,
                                           _recurrent_gemm, _sigmoid_)
from chainrule.functional.rnn_cells import composed_layer

__all__ = ["recurrent_layer", "FusedLSTM", "FusedGRU", "FusedRNN"]


# ---------------------------------------------------------------- LSTM
class FusedLSTM(_FusedLayer):
    """One LSTM layer direction (gates i, f, g, o), optionally with a
    projection ``w_hr`` and diagonal peepholes ``w_ci, w_cf, w_co``.

    The rows of the sigmoid gates (i, f, o) in copies of the weights are
    scaled by 1/2, so that one ``tanh`` over the contiguous gate block followed
    by one affine map gives every activation (sigmoid(x) = (1 + tanh(x/2)) / 2).
    """
    mode = "LSTM"

    def forward(self, *arrays):
        a = self.a = dict(zip(self.names, arrays))
        x, w_hh = a["x"], a["w_hh"]
        xp = B.xp_of(x)
        T, N, _ = x.shape
        H, P, dt = a["w_ih"].shape[0] // 4, w_hh.shape[1], x.dtype
        proj, peep = "w_hr" in a, "w_ci" in a
        scale, shift = _lstm_affine(xp, H, dt)
        bias = None if "b_ih" not in a else (a["b_ih"] + a["b_hh"]) * scale
        G, x2 = _in_proj(x, a["w_ih"] * scale[:, None], bias)
        w_hh = w_hh * scale[:, None]
        tmp_r = xp.empty(P * N, dt) if proj else None
        if peep:
            w_ci, w_cf, w_co = (a[k] * 0.5 for k in ("w_ci", "w_cf", "w_co"))
        k = 3 * H if peep else 4 * H       # gates activated in one block
        Hs, Cs = xp.empty((T + 1, N, P), dt), xp.empty((T + 1, N, H), dt)
        TC = self._alloc(xp)((T, N, H), dt)
        R = self._alloc(xp)((T, N, H), dt) if proj else None
        start = T if self.reverse else 0
        Hs[start], Cs[start] = a["h0"], a["c0"]
        tmp, tmp_t, tmp_h = (xp.empty((N, 4 * H), dt), xp.empty(4 * H * N, dt),
                             xp.empty((N, H), dt))
        for t, ip, io, n in self._steps(T, N):
            if n < N:  # finished sequences keep their state
                Hs[io, n:], Cs[io, n:] = Hs[ip, n:], Cs[ip, n:]
            g, z, cp, c, th = G[t, :n], tmp[:n], Cs[ip, :n], Cs[io, :n], tmp_h[:n]
            xp.add(g, _recurrent_gemm(w_hh, Hs[ip, :n], tmp_t), out=z)  # scaled pre-activations
            if peep:
                z[:, :H] += xp.multiply(cp, w_ci, out=th)
                z[:, H:2 * H] += xp.multiply(cp, w_cf, out=th)
            ga = g[:, :k]
            xp.tanh(z[:, :k], out=ga)
            ga *= scale[:k]
            ga += shift[:k]                 # i, f, o = sigmoid; g = tanh
            gi, gf, gg, go = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
            xp.multiply(gf, cp, out=c)      # c = f * c_prev + i * g
            c += xp.multiply(gi, gg, out=th)
            if peep:                        # o sees the new cell state
                zo = z[:, 3 * H:]
                zo += xp.multiply(c, w_co, out=th)
                xp.tanh(zo, out=go)
                go *= 0.5
                go += 0.5
            tc = xp.tanh(c, out=TC[t, :n])
            if proj:                        # h = (o * tanh(c)) W_hr^T
                r = xp.multiply(go, tc, out=R[t, :n])
                Hs[io, :n] = _recurrent_gemm(a["w_hr"], r, tmp_r)
            else:                           # h = o * tanh(c)
                xp.multiply(go, tc, out=Hs[io, :n])
        self.saved = (G, x2, Hs, Cs, TC, R)
        return self._outputs(Hs, Cs)

    @staticmethod
    def _local_step(xp, g, d, cp, tc, a):
        """One step's factors that do not depend on the incoming gradients
        (computed while the step's data is in cache): ``d`` (n, 4, H) with
        ``dgates = [dc, dc, dc, dh] * d`` and ``a`` with ``dc += dh * a``."""
        xp.subtract(1, g, out=d)
        d *= g                              # s (1 - s) for the sigmoid gates
        gi, gg, d_g = g[:, 0], g[:, 2], d[:, 2]
        xp.multiply(gg, gg, out=d_g)
        xp.subtract(1, d_g, out=d_g)        # 1 - g^2 for the tanh gate
        d[:, 0] *= gg                       # di: dc * g * i (1 - i)
        d[:, 1] *= cp                       # df: dc * c_prev * f (1 - f)
        d_g *= gi                           # dg: dc * i * (1 - g^2)
        d[:, 3] *= tc                       # do: dh * tanh(c) * o (1 - o)
        xp.multiply(tc, tc, out=a)
        xp.subtract(1, a, out=a)
        a *= g[:, 3]                        # dc += dh * o * (1 - tanh(c)^2)

    def _bptt(self, gy, ghn, gcn):
        a = self.a
        G, x2, Hs, Cs, TC, R = self.saved
        xp = B.xp_of(G)
        T, N, H4 = G.shape
        H, P, dt = H4 // 4, Hs.shape[2], G.dtype
        D = self._alloc(xp)((T, N, 4, H), dt)  # d(gates), (T, N, 4H) once reshaped
        G4 = G.reshape(T, N, 4, H)
        dHs = self._alloc(xp)((T, N, P), dt) if R is not None else None
        dh, dc = xp.array(ghn, dt), xp.array(gcn, dt)
        tmp_h, tmp_a, dr_buf = (xp.empty((N, H), dt) for _ in range(3))
        peep = "w_ci" in a
        for t, ip, io, n in reversed(self._steps(T, N)):
            dh_n, dc_n, th, d = dh[:n], dc[:n], tmp_h[:n], D[t, :n]
            self._local_step(xp, G4[t, :n], d, Cs[ip, :n], TC[t, :n], tmp_a[:n])
            dh_n += gy[t, :n]
            dr = dh_n
            if dHs is not None:             # through the projection: dr = dh W_hr
                dHs[t, :n] = dh_n
                dr = xp.matmul(dh_n, a["w_hr"], out=dr_buf[:n])
            d[:, 3] *= dr                   # d(o)
            dc_n += xp.multiply(dr, tmp_a[:n], out=th)
            if peep:
                dc_n += xp.multiply(d[:, 3], a["w_co"], out=th)
            d[:, :3] *= dc_n[:, None, :]    # d(i), d(f), d(g)
            dc_n *= G4[t, :n, 1]            # dc_prev = dc * f (+ peepholes)
            if peep:
                dc_n += xp.multiply(d[:, 0], a["w_ci"], out=th)
                dc_n += xp.multiply(d[:, 1], a["w_cf"], out=th)
            xp.matmul(d.reshape(n, H4), a["w_hh"], out=dh_n)  # dh_prev = dgates W_hh
        dG = D.reshape(T, N, H4)
        res = {"h0": dh, "c0": dc}
        self._weight_grads(res, dG, dG, x2, self._prev_states(Hs))
        if dHs is not None and self._need["w_hr"]:
            res["w_hr"] = dHs.reshape(T * N, P).T @ R.reshape(T * N, H)
        if peep:
            cprev, cnew = self._prev_states(Cs), (Cs[:T] if self.reverse else Cs[1:])
            res["w_ci"] = (D[:, :, 0] * cprev).sum((0, 1))
            res["w_cf"] = (D[:, :, 1] * cprev).sum((0, 1))
            res["w_co"] = (D[:, :, 3] * cnew).sum((0, 1))
        return res


def _lstm_affine(xp, H, dt):
    """Per-gate-row ``(scale, shift)``: 1/2 and 1/2 for the sigmoid gates
    (i, f, o), 1 and 0 for g."""
    scale = xp.full(4 * H, 0.5, dt)
    scale[2 * H:3 * H] = 1
    shift = scale.copy()
    shift[2 * H:3 * H] = 0
    return scale, shift


# ---------------------------------------------------------------- GRU
class FusedGRU(_FusedLayer):
    """One GRU layer direction (gates r, z, n), torch's formulation:
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) n + z h``."""
    mode = "GRU"

    def forward(self, *arrays):
        a = self.a = dict(zip(self.names, arrays))
        x, w_hh, b_hh = a["x"], a["w_hh"], a.get("b_hh")
        xp = B.xp_of(x)
        T, N, _ = x.shape
        H, dt = w_hh.shape[1], x.dtype
        Gi, x2 = _in_proj(x, a["w_ih"], a.get("b_ih"))
        Hs = xp.empty((T + 1, N, H), dt)
        Ghn = self._alloc(xp)((T, N, H), dt)
        Hs[T if self.reverse else 0] = a["h0"]
        tmp, tmp_t, tmp_h = (xp.empty((N, 3 * H), dt), xp.empty(3 * H * N, dt),
                             xp.empty((N, H), dt))
        for t, ip, io, n in self._steps(T, N):
            if n < N:
                Hs[io, n:] = Hs[ip, n:]
            gi, gh, hp, h = Gi[t, :n], tmp[:n], Hs[ip, :n], Hs[io, :n]
            zt = _recurrent_gemm(w_hh, hp, tmp_t)
            if b_hh is not None:
                xp.add(zt, b_hh, out=gh)
            else:
                gh[...] = zt
            gi[:, :2 * H] += gh[:, :2 * H]
            _sigmoid_(gi[:, :2 * H])        # r, z
            r, z, nn = gi[:, :H], gi[:, H:2 * H], gi[:, 2 * H:]
            Ghn[t, :n] = gh[:, 2 * H:]
            nn += xp.multiply(r, gh[:, 2 * H:], out=tmp_h[:n])
            xp.tanh(nn, out=nn)             # n
            xp.subtract(hp, nn, out=h)      # h = n + z (h_prev - n)
            h *= z
            h += nn
        self.saved = (Gi, x2, Hs, Ghn)
        return self._outputs(Hs)

    def _bptt(self, gy, ghn):
        Gi, x2, Hs, Ghn = self.saved
        xp = B.xp_of(Gi)
        T, N, H3 = Gi.shape
        H, dt = H3 // 3, Gi.dtype
        alloc = self._alloc(xp)
        dGh, dN = alloc((T, N, H3), dt), alloc((T, N, H), dt)
        dh = xp.array(ghn, dt)
        t1, tmp = xp.empty((N, H), dt), xp.empty((N, H), dt)
        w_hh = self.a["w_hh"]
        for t, ip, io, n in reversed(self._steps(T, N)):
            dh_n, a1 = dh[:n], t1[:n]
            dh_n += gy[t, :n]
            g, hp, d, dn = Gi[t, :n], Hs[ip, :n], dGh[t, :n], dN[t, :n]
            r, z, nn = g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
            dr, dz, dnh = d[:, :H], d[:, H:2 * H], d[:, 2 * H:]
            xp.subtract(1, z, out=dn)       # dn = dh (1 - z) (1 - n^2)
            dn *= dh_n
            dn *= _dtanh(nn, a1)
            xp.subtract(hp, nn, out=dz)     # dz = dh (h_prev - n) z (1 - z)
            dz *= dh_n
            dz *= _dsigmoid(z, a1)
            xp.multiply(dn, Ghn[t, :n], out=dr)  # dr = dn (W_hn h + b_hn) r (1 - r)
            dr *= _dsigmoid(r, a1)
            xp.multiply(dn, r, out=dnh)     # the hidden-side n pre-activation: dn r
            dh_n *= z                       # dh_prev = dh z + dgates_h W_hh
            dh_n += xp.matmul(d, w_hh, out=tmp[:n])
        dGi = dGh.copy()
        dGi[..., 2 * H:] = dN
        res = {"h0": dh}
        self._weight_grads(res, dGi, dGh, x2, self._prev_states(Hs))
        return res


# ---------------------------------------------------------------- Elman RNN
class FusedRNN(_FusedLayer):
    """One Elman RNN layer direction: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""
    mode = "RNN_TANH"

    def __init__(self, names, reverse=False, batch_sizes=None, nonlinearity="tanh"):
        super().__init__(names, reverse, batch_sizes)
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, *arrays):
        a = self.a = dict(zip(self.names, arrays))
        x, w_hh = a["x"], a["w_hh"]
        xp = B.xp_of(x)
        T, N, _ = x.shape
        H, dt = w_hh.shape[1], x.dtype
        bias = a["b_ih"] + a["b_hh"] if "b_ih" in a else None
        G, x2 = _in_proj(x, a["w_ih"], bias)
        Hs = xp.empty((T + 1, N, H), dt)
        Hs[T if self.reverse else 0] = a["h0"]
        tmp_t = xp.empty(H * N, dt)
        tanh = self.mode == "RNN_TANH"
        for t, ip, io, n in self._steps(T, N):
            if n < N:
                Hs[io, n:] = Hs[ip, n:]
            g = G[t, :n]
            g += _recurrent_gemm(w_hh, Hs[ip, :n], tmp_t)
            if tanh:
                xp.tanh(g, out=Hs[io, :n])
            else:
                xp.maximum(g, 0, out=Hs[io, :n])
        self.saved = (x2, Hs)
        return self._outputs(Hs)

    def _bptt(self, gy, ghn):
        x2, Hs = self.saved
        xp = B.xp_of(Hs)
        T, N, H = Hs.shape[0] - 1, Hs.shape[1], Hs.shape[2]
        dt = Hs.dtype
        dG = self._alloc(xp)((T, N, H), dt)
        dh = xp.array(ghn, dt)
        w_hh = self.a["w_hh"]
        tanh = self.mode == "RNN_TANH"
        for t, ip, io, n in reversed(self._steps(T, N)):
            dh_n, h, d = dh[:n], Hs[io, :n], dG[t, :n]
            dh_n += gy[t, :n]
            if tanh:                        # d = dh (1 - h^2)
                _dtanh(h, d)
                d *= dh_n
            else:                           # d = dh [h > 0]
                xp.multiply(dh_n, h > 0, out=d)
            xp.matmul(d, w_hh, out=dh_n)
        res = {"h0": dh}
        self._weight_grads(res, dG, dG, x2, self._prev_states(Hs))
        return res


# ---------------------------------------------------------------- entry point
_FUSED = {"LSTM": FusedLSTM, "GRU": FusedGRU}


@autocast_op("recurrent_layer")
def recurrent_layer(mode, input, hx, weights, reverse=False, batch_sizes=None, fused=True):
    """Run one direction of one recurrent layer over a whole sequence.

    Args:
        mode: ``'LSTM'``, ``'GRU'``, ``'RNN_TANH'`` or ``'RNN_RELU'``.
        input: ``(T, N, I)``.
        hx: ``(h0,)``, or ``(h0, c0)`` for LSTM, each ``(N, *)``.
        weights: dict with ``w_ih``, ``w_hh`` and optionally ``b_ih``, ``b_hh``,
            ``w_hr`` (LSTM projection) and ``peephole = (w_ci, w_cf, w_co)``.
        reverse: process the steps from last to first.
        batch_sizes: active (leading) rows per step, non-increasing, or None.
        fused: the fused Function (default) or the composed cell-by-cell graph.

    Returns ``(output (T, N, H_out), h_n)``, plus ``c_n`` for LSTM.
    """
    if not fused:
        return composed_layer(mode, input, hx, weights, reverse, batch_sizes)
    named = {"x": input, "h0": hx[0], "w_ih": weights["w_ih"], "w_hh": weights["w_hh"]}
    if mode == "LSTM":
        named["c0"] = hx[1]
        if weights.get("w_hr") is not None:
            named["w_hr"] = weights["w_hr"]
        if weights.get("peephole") is not None:
            named.update(zip(("w_ci", "w_cf", "w_co"), weights["peephole"]))
    if weights.get("b_ih") is not None:
        named["b_ih"], named["b_hh"] = weights["b_ih"], weights["b_hh"]
    names = tuple(k for k in ORDER if k in named)
    tensors = [named[k] for k in names]
    dts = {t._data.dtype for t in tensors}
    if len(dts) > 1:
        raise RuntimeError(f"{mode}: input, states and weights must have the same dtype, got "
                           f"{sorted(str(D.from_np_dtype(d)) for d in dts)}; cast them first")
    if batch_sizes is not None:
        batch_sizes = [int(b) for b in batch_sizes]
    if mode in ("RNN_TANH", "RNN_RELU"):
        fn = FusedRNN(names, reverse, batch_sizes, "tanh" if mode == "RNN_TANH" else "relu")
    else:
        fn = _FUSED[mode](names, reverse, batch_sizes)
    return fn(*tensors)
