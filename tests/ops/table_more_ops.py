"""Op table: chainrule/functional/more_ops.py (inverse hyperbolics, erfc, and the ops
written as compositions: logaddexp, hypot, xlogy, logit, sinc, diff, trace, kron, cross,
cdist, rot90, var_mean/std_mean, nanmean, nan_to_num, block_diag, cartesian_prod...)."""
import numpy as np

import chainrule as cr
from chainrule.testing.opinfo import OpInfo, Sample, binary_samples, unary_samples


def _un(name, low, high, **kw):
    return OpInfo(name, getattr(cr, name), lambda t, x, _n=name: getattr(t, _n)(x),
                  unary_samples(low, high), **kw)


def _bin(name, low=-2.0, high=2.0, low2=None, high2=None, **kw):
    return OpInfo(name, getattr(cr, name), lambda t, a, b, _n=name: getattr(t, _n)(a, b),
                  binary_samples(low, high, low2, high2), **kw)


def _fixed(name, op, ref, arrays):
    """Samples from ``arrays(rng) -> [(args, kwargs), ...]``."""
    def gen(rng):
        return [Sample(a, k, f"{i}") for i, (a, k) in enumerate(arrays(rng))]
    return OpInfo(name, op, ref, gen)


def _away_from_zero(rng, shape):
    x = rng.uniform(-2, 2, shape)
    return np.where(np.abs(x) < 0.2, 0.7, x)


OPS = [
    _un("acosh", 1.2, 3.0), _un("asinh", -3.0, 3.0), _un("atanh", -0.8, 0.8),
    _un("erfc", -2.0, 2.0), _un("logit", 0.1, 0.9), _un("rad2deg", -2, 2),
    _bin("logaddexp"), _bin("logaddexp2"), _bin("hypot", 0.3, 2.0, -2.0, -0.3),
    _bin("xlogy", -2.0, 2.0, 0.2, 3.0),
    _fixed("sinc", cr.sinc, lambda t, x: t.sinc(x),
           lambda r: [((_away_from_zero(r, (2, 3)),), {}), ((np.array([1e-5, 0.5]),), {})]),
    _fixed("diff", cr.diff, lambda t, x, **k: t.diff(x, **k),
           lambda r: [((r.normal(size=(3, 5)),), {}), ((r.normal(size=(3, 5)),),
                                                       {"n": 2, "dim": 0}),
                      ((r.normal(size=(4,)),), {"n": 3})]),
    _fixed("trace", cr.trace, lambda t, x: t.trace(x),
           lambda r: [((r.normal(size=(3, 3)),), {}), ((r.normal(size=(2, 4)),), {})]),
    _fixed("kron", cr.kron, lambda t, a, b: t.kron(a, b),
           lambda r: [((r.normal(size=(2, 3)), r.normal(size=(3, 2))), {}),
                      ((r.normal(size=(2,)), r.normal(size=(2, 2))), {})]),
    _fixed("cross", cr.cross, lambda t, a, b, **k: t.linalg.cross(a, b, **k),
           lambda r: [((r.normal(size=(4, 3)), r.normal(size=(4, 3))), {"dim": -1}),
                      ((r.normal(size=(3, 2)), r.normal(size=(3, 2))), {"dim": 0})]),
    _fixed("cdist", cr.cdist, lambda t, a, b, **k: t.cdist(a, b, **k),
           lambda r: [((r.normal(size=(3, 4)), r.normal(size=(5, 4)) + 3), {}),
                      ((r.normal(size=(2, 3, 4)), r.normal(size=(2, 2, 4)) + 3), {"p": 1.0})]),
    _fixed("rot90", cr.rot90, lambda t, x, *a: t.rot90(x, *a),
           lambda r: [((r.normal(size=(2, 3)), k), {}) for k in (1, 2, 3, -1)]
           + [((r.normal(size=(2, 3, 4)), 1, (2, 0)), {})]),
    _fixed("var_mean", lambda x, **k: cr.var_mean(x, **k), lambda t, x, **k: t.var_mean(x, **k),
           lambda r: [((r.normal(size=(3, 4)),), {"dim": 1}),
                      ((r.normal(size=(3, 4)),), {"dim": 0, "correction": 0})]),
    _fixed("std_mean", lambda x, **k: cr.std_mean(x, **k), lambda t, x, **k: t.std_mean(x, **k),
           lambda r: [((r.normal(size=(3, 4)),), {"dim": 1, "keepdim": True})]),
    _fixed("nanmean", cr.nanmean, lambda t, x, **k: t.nanmean(x, **k),
           lambda r: [((np.where(r.random((3, 4)) < 0.3, np.nan, r.normal(size=(3, 4))),),
                       {"dim": 1}), ((r.normal(size=(5,)),), {})]),
    _fixed("nan_to_num", cr.nan_to_num, lambda t, x, **k: t.nan_to_num(x, **k),
           lambda r: [((np.array([1.0, np.nan, np.inf, -np.inf, -2.0]),),
                       {"nan": 0.5, "posinf": 9.0, "neginf": -9.0})]),
    _fixed("block_diag", cr.block_diag, lambda t, *a: t.block_diag(*a),
           lambda r: [((r.normal(size=(2, 2)), r.normal(size=(1, 3)), r.normal(size=(2,))), {})]),
    _fixed("cartesian_prod", cr.cartesian_prod, lambda t, *a: t.cartesian_prod(*a),
           lambda r: [((r.normal(size=(2,)), r.normal(size=(3,))), {})]),
    _fixed("tensor_split", lambda x, *a: cr.tensor_split(x, *a),
           lambda t, x, *a: t.tensor_split(x, *a),
           lambda r: [((r.normal(size=(7, 2)), 3), {}), ((r.normal(size=(7, 2)), [1, 5]), {})]),
    _fixed("atleast_3d", cr.atleast_3d, lambda t, x: t.atleast_3d(x),
           lambda r: [((r.normal(size=s),), {}) for s in [(), (3,), (2, 3)]]),
    _fixed("column_stack", lambda *a: cr.column_stack(list(a)),
           lambda t, *a: t.column_stack(list(a)),
           lambda r: [((r.normal(size=(3,)), r.normal(size=(3, 2))), {})]),
    _fixed("dstack", lambda *a: cr.dstack(list(a)), lambda t, *a: t.dstack(list(a)),
           lambda r: [((r.normal(size=(2, 3)), r.normal(size=(2, 3))), {})]),
]
