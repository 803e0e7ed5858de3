"""Candidates for fused elementwise kernels (issue #16), measured on the elementwise
work of our own training steps: chained NumPy ufuncs writing in place with ``out=``
(what ``chainrule.compile``'s ``fuse`` pass and the fused LSTM layer do today), plain
NumPy expressions (a fresh array per operation, eager mode's cost), numexpr's
``evaluate`` and numba ``@njit`` loops.

Workloads (float32, the shapes of the benchmarks in this folder):

* ``lstm_cell``: one time step of the fused LSTM layer's forward pointwise work for
  bench_lstm's model (batch 32, hidden 256): the gate block's activations through one
  tanh and an affine map, ``c = f c' + i g``, ``h = o tanh(c)``;
* ``lstm_local``: the same step's backward factors (``_local_step``);
* ``adam``: the Adam update of the Transformer benchmark's 396,544 parameters as one
  flat buffer;
* ``gelu``: tanh-GELU of a (512, 2048) activation (a Transformer feed-forward block);
* ``bias_relu``: the GEMM epilogue ``max(x + b, 0)`` of the MLP's (128, 256) layer;
* ``mul_add_tanh``: ``tanh(x * 1.001 + 0.01)`` on 16 elements (the 100-op chain's
  fused group: pure dispatch cost).

Each variant's median time per call over ``--repeat`` calls (after warm-up; numba's
compile time is reported apart), its largest difference from a float64 reference,
and whether it equals chained NumPy bit for bit.  BLAS and the candidates' own
thread pools are pinned to ``--threads``.

    unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
    python benchmarks/bench_fused_kernels.py --threads 1

numexpr and numba are benchmark dependencies only (``pip install -e ".[bench]"``); a
column whose library is missing is left out.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import _threads  # noqa: F401,E402  (pins BLAS threads before NumPy loads)

import numpy as np  # noqa: E402

from _common import print_setup  # noqa: E402

F32 = np.float32


# --------------------------------------------------------------------------- data
def _data(name, rng):
    if name in ("lstm_cell", "lstm_local"):
        N, H = 32, 256
        return {"z": rng.standard_normal((N, 4 * H)).astype(F32),
                "cp": rng.standard_normal((N, H)).astype(F32),
                "g": (rng.random((N, 4 * H)) * 2 - 1).astype(F32),
                "tc": (rng.random((N, H)) * 2 - 1).astype(F32), "H": H}
    if name == "adam":
        n = 396_544
        return {"p": rng.standard_normal(n).astype(F32),
                "g": rng.standard_normal(n).astype(F32) * F32(0.01),
                "m": rng.standard_normal(n).astype(F32) * F32(0.001),
                "v": rng.random(n).astype(F32) * F32(1e-5)}
    if name == "gelu":
        return {"x": rng.standard_normal((512, 2048)).astype(F32)}
    if name == "bias_relu":
        return {"x": rng.standard_normal((128, 256)).astype(F32),
                "b": rng.standard_normal(256).astype(F32)}
    return {"x": rng.standard_normal(16).astype(F32)}


ADAM = dict(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, step=10)
C_GELU = float(np.sqrt(2 / np.pi))


def _adam_consts():
    """``(step_size, sqrt(bias_correction2), beta1, beta2, eps)`` of the Adam workload."""
    a = ADAM
    bc1, bc2 = 1 - a["b1"] ** a["step"], 1 - a["b2"] ** a["step"]
    return a["lr"] / bc1, bc2 ** 0.5, a["b1"], a["b2"], a["eps"]


def _local_args(d):
    """The LSTM backward-factor workload's inputs (gates as (N, 4, H), c_prev, tanh(c))
    and its two output buffers."""
    g3 = d["g"].reshape(d["g"].shape[0], 4, d["H"])
    return g3, d["cp"], d["tc"], np.empty_like(g3), np.empty_like(d["tc"])


# --------------------------------------------------------------------------- NumPy
def numpy_out(name, d):
    """Chained ufuncs into preallocated buffers (the fuse pass's style)."""
    if name == "lstm_cell":
        H, z, cp = d["H"], d["z"], d["cp"]
        g, c, th = np.empty_like(z), np.empty_like(cp), np.empty_like(cp)
        scale = np.full(4 * H, 0.5, F32)
        scale[2 * H:3 * H] = 1
        shift = np.full(4 * H, 0.5, F32)
        shift[2 * H:3 * H] = 0
        h = np.empty_like(cp)

        def run():
            np.tanh(z, out=g)
            np.multiply(g, scale, out=g)
            np.add(g, shift, out=g)
            np.multiply(g[:, H:2 * H], cp, out=c)
            np.add(c, np.multiply(g[:, :H], g[:, 2 * H:3 * H], out=th), out=c)
            np.tanh(c, out=th)
            np.multiply(g[:, 3 * H:], th, out=h)
            return h, c
        return run
    if name == "lstm_local":
        g3, cp, tc, dd, a = _local_args(d)

        def run():
            np.subtract(1, g3, out=dd)
            np.multiply(dd, g3, out=dd)
            gi, gg, d_g = g3[:, 0], g3[:, 2], dd[:, 2]
            np.multiply(gg, gg, out=d_g)
            np.subtract(1, d_g, out=d_g)
            np.multiply(dd[:, 0], gg, out=dd[:, 0])
            np.multiply(dd[:, 1], cp, out=dd[:, 1])
            np.multiply(d_g, gi, out=d_g)
            np.multiply(dd[:, 3], tc, out=dd[:, 3])
            np.multiply(tc, tc, out=a)
            np.subtract(1, a, out=a)
            np.multiply(a, g3[:, 3], out=a)
            return dd, a
        return run
    if name == "adam":
        step_size, bc2s, b1, b2, eps = _adam_consts()
        p0, g, m0, v0 = d["p"], d["g"], d["m"], d["v"]
        p, m, v, t = p0.copy(), m0.copy(), v0.copy(), np.empty_like(p0)

        def run():
            p[:], m[:], v[:] = p0, m0, v0
            np.add(m, (g - m) * F32(1 - b1), out=m)  # lerp
            np.multiply(v, F32(b2), out=v)
            np.multiply(g, g, out=t)
            np.multiply(t, F32(1 - b2), out=t)
            np.add(v, t, out=v)
            np.sqrt(v, out=t)
            np.divide(t, F32(bc2s), out=t)
            np.add(t, F32(eps), out=t)
            np.divide(m, t, out=t)
            np.multiply(t, F32(-step_size), out=t)
            np.add(p, t, out=p)
            return p, m, v
        return run
    if name == "gelu":
        x = d["x"]
        y, t = np.empty_like(x), np.empty_like(x)

        def run():
            np.multiply(x, x, out=t)
            np.multiply(t, F32(0.044715), out=t)
            np.add(t, F32(1), out=t)
            np.multiply(t, x, out=t)
            np.multiply(t, F32(C_GELU), out=t)
            np.tanh(t, out=t)
            np.add(t, F32(1), out=t)
            np.multiply(x, t, out=y)
            np.multiply(y, F32(0.5), out=y)
            return (y,)
        return run
    if name == "bias_relu":
        x, b = d["x"], d["b"]
        y = np.empty_like(x)

        def run():
            np.add(x, b, out=y)
            np.maximum(y, 0, out=y)
            return (y,)
        return run
    x = d["x"]
    y = np.empty_like(x)

    def run():
        np.multiply(x, F32(1.001), out=y)
        np.add(y, F32(0.01), out=y)
        np.tanh(y, out=y)
        return (y,)
    return run


def numpy_plain(name, d):
    """Plain NumPy expressions: a new array per operation."""
    if name == "lstm_cell":
        H, z, cp = d["H"], d["z"], d["cp"]

        def run():   # z holds the layer's pre-scaled pre-activations (see numpy_out)
            i = F32(0.5) + F32(0.5) * np.tanh(z[:, :H])
            f = F32(0.5) + F32(0.5) * np.tanh(z[:, H:2 * H])
            gg = np.tanh(z[:, 2 * H:3 * H])
            o = F32(0.5) + F32(0.5) * np.tanh(z[:, 3 * H:])
            c = f * cp + i * gg
            return o * np.tanh(c), c
        return run
    if name == "lstm_local":
        return None
    if name == "adam":
        step_size, bc2s, b1, b2, eps = _adam_consts()
        p, g, m, v = d["p"], d["g"], d["m"], d["v"]

        def run():
            m2 = m * F32(b1) + g * F32(1 - b1)
            v2 = v * F32(b2) + g * g * F32(1 - b2)
            return p - F32(step_size) * m2 / (np.sqrt(v2) / F32(bc2s) + F32(eps)), m2, v2
        return run
    if name == "gelu":
        x = d["x"]
        return lambda: (F32(0.5) * x * (1 + np.tanh(F32(C_GELU) * (x + F32(0.044715) * x ** 3))),)
    if name == "bias_relu":
        x, b = d["x"], d["b"]
        return lambda: (np.maximum(x + b, 0),)
    x = d["x"]
    return lambda: (np.tanh(x * F32(1.001) + F32(0.01)),)


# --------------------------------------------------------------------------- numexpr
def numexpr_variant(name, d):
    import numexpr as ne
    half, one = F32(0.5), F32(1)
    if name == "lstm_cell":
        H, z, cp = d["H"], d["z"], d["cp"]
        c, h = np.empty_like(cp), np.empty_like(cp)

        def run():   # numexpr takes the gate slices as strided views
            env = {"i": z[:, :H], "f": z[:, H:2 * H], "g": z[:, 2 * H:3 * H],
                   "o": z[:, 3 * H:], "cp": cp, "h": half}
            ne.evaluate("(h + h * tanh(f)) * cp + (h + h * tanh(i)) * tanh(g)",
                        local_dict=env, out=c)
            ne.evaluate("(h + h * tanh(o)) * tanh(c)",
                        local_dict={"o": env["o"], "c": c, "h": half}, out=h)
            return h, c
        return run
    if name == "lstm_local":
        g3, cp, tc, dd, a = _local_args(d)

        def run():
            env = {"gi": g3[:, 0], "gf": g3[:, 1], "gg": g3[:, 2], "go": g3[:, 3], "cp": cp,
                   "tc": tc, "one": one}
            ne.evaluate("(one - gi) * gi * gg", local_dict=env, out=dd[:, 0])
            ne.evaluate("(one - gf) * gf * cp", local_dict=env, out=dd[:, 1])
            ne.evaluate("(one - gg * gg) * gi", local_dict=env, out=dd[:, 2])
            ne.evaluate("(one - go) * go * tc", local_dict=env, out=dd[:, 3])
            ne.evaluate("(one - tc * tc) * go", local_dict=env, out=a)
            return dd, a
        return run
    if name == "adam":
        step_size, bc2s, b1, b2, eps = _adam_consts()
        p0, g, m0, v0 = d["p"], d["g"], d["m"], d["v"]
        p, m, v = p0.copy(), m0.copy(), v0.copy()
        k = {"b1": F32(b1), "b2": F32(b2), "ss": F32(step_size), "bc": F32(bc2s),
             "eps": F32(eps), "one": F32(1)}

        def run():
            p[:], m[:], v[:] = p0, m0, v0
            ne.evaluate("m + (g - m) * (one - b1)", local_dict={**k, "m": m, "g": g}, out=m)
            ne.evaluate("v * b2 + g * g * (one - b2)", local_dict={**k, "v": v, "g": g}, out=v)
            ne.evaluate("p - ss * m / (sqrt(v) / bc + eps)",
                        local_dict={**k, "p": p, "m": m, "v": v}, out=p)
            return p, m, v
        return run
    if name == "gelu":
        x = d["x"]
        y = np.empty_like(x)
        k = {"c": F32(C_GELU), "a": F32(0.044715), "h": F32(0.5), "one": F32(1)}
        return lambda: (ne.evaluate("h * x * (one + tanh(c * (x + a * x * x * x)))",
                                    local_dict={**k, "x": x}, out=y),)
    if name == "bias_relu":
        x, b = d["x"], d["b"]
        y = np.empty_like(x)
        zero = F32(0)
        return lambda: (ne.evaluate("where(x + b > zero, x + b, zero)",
                                    local_dict={"x": x, "b": b, "zero": zero}, out=y),)
    x = d["x"]
    y = np.empty_like(x)
    k = {"a": F32(1.001), "b": F32(0.01)}
    return lambda: (ne.evaluate("tanh(x * a + b)", local_dict={**k, "x": x}, out=y),)


# --------------------------------------------------------------------------- numba
_NUMBA = {}


def _numba_kernels(fastmath=False):
    """The kernels as float32 loops (``np.tanh``/``np.sqrt`` keep float32); with
    ``fastmath`` LLVM may reassociate and vectorize (results then differ slightly)."""
    if fastmath in _NUMBA:
        return _NUMBA[fastmath]
    from numba import njit

    def jit(f):
        return njit(cache=False, nogil=True, fastmath=fastmath)(f)
    half, one = F32(0.5), F32(1)

    @jit
    def lstm_cell(z, cp, H, h, c):
        N = z.shape[0]
        for n in range(N):
            for j in range(H):
                i = half + half * np.tanh(z[n, j])
                f = half + half * np.tanh(z[n, H + j])
                g = np.tanh(z[n, 2 * H + j])
                o = half + half * np.tanh(z[n, 3 * H + j])
                cc = f * cp[n, j] + i * g
                c[n, j] = cc
                h[n, j] = o * np.tanh(cc)

    @jit
    def lstm_local(g3, cp, tc, dd, a):
        N, H = tc.shape
        for n in range(N):
            for j in range(H):
                gi, gf, gg, go = g3[n, 0, j], g3[n, 1, j], g3[n, 2, j], g3[n, 3, j]
                dd[n, 0, j] = (1 - gi) * gi * gg
                dd[n, 1, j] = (1 - gf) * gf * cp[n, j]
                dd[n, 2, j] = (1 - gg * gg) * gi
                t = tc[n, j]
                dd[n, 3, j] = (1 - go) * go * t
                a[n, j] = (1 - t * t) * go

    @jit
    def adam(p, g, m, v, b1, b2, ss, bc, eps):
        for k in range(p.shape[0]):
            gk = g[k]
            mk = m[k] + (gk - m[k]) * (one - b1)
            vk = v[k] * b2 + gk * gk * (one - b2)
            m[k] = mk
            v[k] = vk
            p[k] = p[k] - ss * mk / (np.sqrt(vk) / bc + eps)

    @jit
    def gelu(x, y, c, a):
        xf, yf = x.reshape(-1), y.reshape(-1)
        for k in range(xf.shape[0]):
            t = xf[k]
            yf[k] = half * t * (one + np.tanh(c * (t + a * t * t * t)))

    @jit
    def bias_relu(x, b, y):
        N, M = x.shape
        for n in range(N):
            for j in range(M):
                s = x[n, j] + b[j]
                y[n, j] = s if s > 0 else np.float32(0)

    @jit
    def mul_add_tanh(x, y):
        for k in range(x.shape[0]):
            y[k] = np.tanh(x[k] * F32(1.001) + F32(0.01))

    _NUMBA[fastmath] = dict(lstm_cell=lstm_cell, lstm_local=lstm_local, adam=adam, gelu=gelu,
                            bias_relu=bias_relu, mul_add_tanh=mul_add_tanh)
    return _NUMBA[fastmath]


def numba_variant(name, d, fastmath=False):
    k = _numba_kernels(fastmath)[name]
    if name == "lstm_cell":
        z, cp, H = d["z"], d["cp"], d["H"]
        h, c = np.empty_like(cp), np.empty_like(cp)
        return lambda: (k(z, cp, H, h, c), (h, c))[1]
    if name == "lstm_local":
        g3, cp, tc, dd, a = _local_args(d)
        return lambda: (k(g3, cp, tc, dd, a), (dd, a))[1]
    if name == "adam":
        step_size, bc2s, b1, b2, eps = _adam_consts()
        p0, g, m0, v0 = d["p"], d["g"], d["m"], d["v"]
        p, m, v = p0.copy(), m0.copy(), v0.copy()
        args = (F32(b1), F32(b2), F32(step_size), F32(bc2s), F32(eps))

        def run():
            p[:], m[:], v[:] = p0, m0, v0
            k(p, g, m, v, *args)
            return p, m, v
        return run
    if name == "gelu":
        x = d["x"]
        y = np.empty_like(x)
        return lambda: (k(x, y, F32(C_GELU), F32(0.044715)), (y,))[1]
    if name == "bias_relu":
        x, b = d["x"], d["b"]
        y = np.empty_like(x)
        return lambda: (k(x, b, y), (y,))[1]
    x = d["x"]
    y = np.empty_like(x)
    return lambda: (k(x, y), (y,))[1]


# --------------------------------------------------------------------------- driver
def _reference(name, d):
    """float64 chained NumPy (the 'truth' for the error column)."""
    d64 = {k: (v.astype(np.float64) if isinstance(v, np.ndarray) else v) for k, v in d.items()}
    saved = globals()["F32"]
    globals()["F32"] = np.float64
    try:
        return [np.array(a, np.float64) for a in numpy_out(name, d64)()]
    finally:
        globals()["F32"] = saved


def _time(run, repeat):
    for _ in range(3):
        run()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


WORKLOADS = ("lstm_cell", "lstm_local", "adam", "gelu", "bias_relu", "mul_add_tanh")
VARIANTS = {"numpy out=": numpy_out, "numpy plain": numpy_plain,
            "numexpr": numexpr_variant, "numba": numba_variant,
            "numba fastmath": lambda w, d: numba_variant(w, d, fastmath=True)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=200)
    p.add_argument("--workload", default=",".join(WORKLOADS))
    a = p.parse_args()
    print_setup()
    try:
        import numexpr
        numexpr.set_num_threads(a.threads)
        print(f"numexpr {numexpr.__version__} ({a.threads} thread(s))")
    except ImportError:
        VARIANTS.pop("numexpr")
    try:
        import numba
        numba.set_num_threads(min(a.threads, numba.config.NUMBA_NUM_THREADS))
        t0 = time.perf_counter()
        rng = np.random.default_rng(0)
        for w in WORKLOADS:   # compile each kernel once, outside the timing
            numba_variant(w, _data(w, rng))()
        print(f"numba {numba.__version__}: JIT compile of the {len(WORKLOADS)} kernels "
              f"{time.perf_counter() - t0:.2f} s (paid at every process start without a cache)")
        for w in WORKLOADS:
            numba_variant(w, _data(w, rng), fastmath=True)()
    except ImportError:
        VARIANTS.pop("numba")
        VARIANTS.pop("numba fastmath")
    print(f"{'workload':14s} " + " ".join(f"{v:>20s}" for v in VARIANTS))
    for w in a.workload.split(","):
        d = _data(w, np.random.default_rng(1))
        ref = _reference(w, d)
        base = [x.copy() for x in numpy_out(w, d)()]
        cells, t_out = [], None
        for v, make in VARIANTS.items():
            run = make(w, d)
            if run is None:
                cells.append(f"{'-':>20s}")
                continue
            t = _time(run, a.repeat if w != "adam" else max(20, a.repeat // 10))
            got = [np.asarray(x) for x in run()]
            err = max(float(np.abs(g.astype(np.float64) - r).max() / (np.abs(r).max() + 1e-30))
                      for g, r in zip(got, ref))
            same = all(np.array_equal(g, b) for g, b in zip(got, base))
            t_out = t if v == "numpy out=" else t_out
            speed = "" if v == "numpy out=" else f" {t_out / t:4.2f}x"
            cells.append(f"{t * 1e6:.1f} us{speed}{' =' if same else f' {err:.0e}'}")
        print(f"{w:14s} " + " ".join(f"{c:>20s}" for c in cells), flush=True)
    print("time per call (median); Nx = speed over 'numpy out='; '=' bitwise equal to it, "
          "else the largest error relative to float64")


if __name__ == "__main__":
    main()
