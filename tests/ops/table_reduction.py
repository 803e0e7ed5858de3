"""Op table: reductions, scans and the sorting family.

Samples for max/min/sort/topk/median use well-separated distinct values, so
the selected elements (and their gradients) are unambiguous under gradcheck's
perturbations.
"""
import numpy as np

import chainrule as cr
from chainrule.testing.opinfo import OpInfo, Sample

SHAPES = [(), (5,), (2, 3), (3, 1, 4)]


def _distinct(rng, shape, spread=0.5):
    """Values at least ``spread`` apart (no ties), shuffled."""
    n = int(np.prod(shape)) if shape else 1
    v = (rng.permutation(n) - n / 2) * spread + rng.uniform(0, 0.1)
    return v.reshape(shape)


def _away_from_zero(rng, shape, lo=0.5, hi=2.0):
    return rng.uniform(lo, hi, shape) * rng.choice([-1, 1], shape)


def _gen(draw, cases):
    """Samples from ``cases``: a list of (shape, kwargs)."""
    def gen(rng):
        return [Sample((draw(rng, s),), dict(kw), f"shape={s} {kw}") for s, kw in cases]
    return gen


def _normal(rng, shape):
    return rng.standard_normal(shape)


def _positive(rng, shape):
    return rng.uniform(0.5, 1.5, shape)


# (shape, kwargs) combos covering no dim, int dim, negative dim, tuple dims,
# keepdim, and 0-d input
_ALL = [(s, {}) for s in SHAPES]
_DIMS = [((2, 3), {"dim": 1}), ((2, 3), {"dim": -1, "keepdim": True}),
         ((3, 1, 4), {"dim": (0, 2)}), ((3, 1, 4), {"dim": (-1, 0), "keepdim": True}),
         ((), {"dim": 0}), ((0, 3), {"dim": 1})]
_ONE_DIM = [((2, 3), {"dim": 1}), ((2, 3), {"dim": 0, "keepdim": True}),
            ((3, 1, 4), {"dim": -1}), ((), {"dim": 0})]
_SCAN = [((5,), {"dim": 0}), ((2, 3), {"dim": 1}), ((3, 2, 4), {"dim": -2}),
         ((), {"dim": 0}), ((0, 3), {"dim": 1})]


def _op(name, fn, ref, draw, cases, **kw):
    return OpInfo(name, fn, ref, _gen(draw, cases), **kw)


def _with_zeros(rng, shape):
    x = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    flat = x.reshape(-1)
    flat[:: 3] = 0.0
    return flat.reshape(shape)


OPS = [
    # sums and means
    _op("sum_all", cr.sum, lambda t, x, **k: t.sum(x, **k), _normal, _ALL),
    _op("sum_dims", cr.sum, lambda t, x, **k: t.sum(x, **k), _normal, _DIMS),
    _op("mean_all", cr.mean, lambda t, x, **k: t.mean(x, **k), _normal, _ALL[1:]),
    _op("mean_dims", cr.mean, lambda t, x, **k: t.mean(x, **k), _normal, _DIMS[:5]),
    _op("nansum", cr.nansum, lambda t, x, **k: t.nansum(x, **k),
        lambda rng, s: np.where(rng.random(s) < 0.3, np.nan, rng.standard_normal(s)),
        _ALL + _DIMS[:4]),
    # products
    _op("prod_all", cr.prod, lambda t, x: t.prod(x), _positive, _ALL),
    _op("prod_dim", cr.prod, lambda t, x, **k: t.prod(x, **k), _normal,
        _ONE_DIM + [((0, 3), {"dim": 0})]),
    _op("prod_zeros", cr.prod, lambda t, x, **k: t.prod(x, **k), _with_zeros,
        [((2, 3), {"dim": 1}), ((4, 3), {"dim": 0, "keepdim": True}), ((5,), {}),
         ((3, 3), {})]),
    OpInfo("prod_two_zeros", lambda x: cr.prod(x, 1), lambda t, x: t.prod(x, 1),
           lambda rng: [Sample((np.array([[0.0, 2.0, 0.0, 1.5], [0.7, 0.0, 1.2, -0.9]]),))]),
    # moments
    _op("var_all", cr.var, lambda t, x, **k: t.var(x, **k), _normal, _ALL[1:]),
    _op("var_dims", cr.var, lambda t, x, **k: t.var(x, **k), _normal, _DIMS[:4]),
    OpInfo("var_unbiased_false", lambda x: cr.var(x, 1, False, True),
           lambda t, x: t.var(x, 1, False, True), _gen(_normal, [((2, 3), {})])),
    OpInfo("var_correction", lambda x: cr.var(x, (0, 1), correction=2),
           lambda t, x: t.var(x, (0, 1), correction=2), _gen(_normal, [((3, 4), {})])),
    OpInfo("var_positional_unbiased", lambda x: cr.var(x, False),
           lambda t, x: t.var(x, False), _gen(_normal, [((2, 3), {}), ((4,), {})])),
    _op("std_all", cr.std, lambda t, x, **k: t.std(x, **k), _normal, _ALL[1:]),
    _op("std_dims", cr.std, lambda t, x, **k: t.std(x, **k), _normal, _DIMS[:4]),
    OpInfo("std_correction0", lambda x: cr.std(x, dim=-1, correction=0, keepdim=True),
           lambda t, x: t.std(x, dim=-1, correction=0, keepdim=True),
           _gen(_normal, [((3, 4), {})])),
    OpInfo("std_constant_row", lambda x: cr.std(x, dim=-1), lambda t, x: t.std(x, dim=-1),
           lambda rng: [Sample((np.stack([np.full(4, 0.5), rng.standard_normal(4)]),), {},
                               "row 0 constant (a broadcast input's values)")],
           gradgrad=False, note="std has a kink at zero variance: gradient 0 there, as torch"),
    # extrema
    _op("amax", cr.amax, lambda t, x, **k: t.amax(x, **k), _distinct, _ALL + _DIMS[:5]),
    _op("amin", cr.amin, lambda t, x, **k: t.amin(x, **k), _distinct, _ALL + _DIMS[:5]),
    _op("max_all", cr.max, lambda t, x: t.max(x), _distinct, _ALL),
    _op("min_all", cr.min, lambda t, x: t.min(x), _distinct, _ALL),
    _op("max_dim", cr.max, lambda t, x, **k: t.max(x, **k), _distinct,
        _ONE_DIM + [((0, 3), {"dim": 1})]),
    _op("min_dim", cr.min, lambda t, x, **k: t.min(x, **k), _distinct, _ONE_DIM),
    OpInfo("max_binary", lambda a, b: cr.max(a, b), lambda t, a, b: t.max(a, b),
           lambda rng: [Sample((rng.standard_normal((2, 3)), rng.standard_normal((3,))))]),
    OpInfo("min_binary", lambda a, b: cr.min(a, b), lambda t, a, b: t.min(a, b),
           lambda rng: [Sample((rng.standard_normal((2, 3)), rng.standard_normal((2, 3))))]),
    _op("logsumexp", cr.logsumexp, lambda t, x, **k: t.logsumexp(x, **k), _normal,
        _DIMS[:6]),
    OpInfo("logsumexp_large", lambda x: cr.logsumexp(x, 1), lambda t, x: t.logsumexp(x, 1),
           lambda rng: [Sample((rng.standard_normal((2, 4)) * 3 + 800.0,))]),
    # norms
    _op("norm", cr.norm, lambda t, x, **k: t.norm(x, **k), _normal,
        _ALL + [((2, 3), {"dim": 1}), ((3, 1, 4), {"dim": (0, 2), "keepdim": True})]),
    _op("norm_fro", cr.norm, lambda t, x, **k: t.norm(x, **k), _normal,
        [((2, 3), {"p": "fro"}), ((2, 3, 2), {"p": "fro", "dim": (0, 2)})]),
    _op("norm_p1", cr.norm, lambda t, x, **k: t.norm(x, **k), _away_from_zero,
        [((2, 3), {"p": 1}), ((2, 3), {"p": 1, "dim": 0})]),
    _op("norm_p3", cr.norm, lambda t, x, **k: t.norm(x, **k), _away_from_zero,
        [((2, 3), {"p": 3}), ((3, 4), {"p": 3, "dim": -1, "keepdim": True}),
         ((4,), {"p": 1.5})]),
    _op("norm_p_half", cr.norm, lambda t, x, **k: t.norm(x, **k), _away_from_zero,
        [((2, 3), {"p": 0.5, "dim": 1})]),
    _op("norm_inf", cr.norm, lambda t, x, **k: t.norm(x, **k), _distinct,
        [((2, 3), {"p": float("inf")}), ((2, 3), {"p": float("inf"), "dim": 1}),
         ((2, 3), {"p": -float("inf"), "dim": 0, "keepdim": True})]),
    _op("norm_p0", cr.norm, lambda t, x, **k: t.norm(x, **k), _with_zeros,
        [((2, 3), {"p": 0}), ((2, 3), {"p": 0, "dim": 1})], grad=False),
    # scans
    _op("cumsum", cr.cumsum, lambda t, x, **k: t.cumsum(x, **k), _normal, _SCAN),
    _op("cumprod", cr.cumprod, lambda t, x, **k: t.cumprod(x, **k), _away_from_zero, _SCAN),
    _op("cumprod_zeros", cr.cumprod, lambda t, x, **k: t.cumprod(x, **k), _with_zeros,
        [((5,), {"dim": 0}), ((2, 4), {"dim": 1}), ((3, 2, 4), {"dim": 0})]),
    # sorting family
    _op("sort", cr.sort, lambda t, x, **k: t.sort(x, **k), _distinct,
        [((5,), {}), ((2, 3), {"dim": 0}), ((3, 1, 4), {"descending": True}),
         ((2, 4), {"dim": -2, "descending": True}), ((), {}), ((0, 3), {"dim": 1})]),
    _op("topk", lambda x, **k: cr.topk(x, 2, **k), lambda t, x, **k: t.topk(x, 2, **k),
        _distinct, [((5,), {}), ((2, 3), {"dim": 0}), ((3, 1, 4), {"largest": False}),
                    ((2, 4), {"dim": -1, "largest": False})]),
    OpInfo("topk_0d", lambda x: cr.topk(x, 1), lambda t, x: t.topk(x, 1),
           _gen(_distinct, [((), {})])),
    _op("median_all", cr.median, lambda t, x: t.median(x), _distinct,
        [((5,), {}), ((2, 3), {}), ((4,), {}), ((), {})]),
    _op("median_dim", cr.median, lambda t, x, **k: t.median(x, **k), _distinct,
        [((2, 3), {"dim": 1}), ((4, 3), {"dim": 0, "keepdim": True}),
         ((3, 2, 4), {"dim": -1}), ((), {"dim": 0})]),
    # index outputs and logical reductions: no gradient
    _op("argmax", cr.argmax, lambda t, x, **k: t.argmax(x, **k), _distinct,
        [((5,), {}), ((2, 3), {"dim": 1}), ((2, 3), {"dim": 0, "keepdim": True}),
         ((2, 3), {"keepdim": True}), ((), {})], grad=False),
    _op("argmin", cr.argmin, lambda t, x, **k: t.argmin(x, **k), _distinct,
        [((5,), {}), ((2, 3), {"dim": -1}), ((3, 1, 4), {"dim": 2, "keepdim": True})],
        grad=False),
    _op("argsort", cr.argsort, lambda t, x, **k: t.argsort(x, **k), _distinct,
        [((5,), {}), ((2, 3), {"dim": 0}), ((2, 3), {"descending": True})], grad=False),
    _op("count_nonzero", cr.count_nonzero, lambda t, x, **k: t.count_nonzero(x, **k),
        _with_zeros, [((2, 3), {}), ((2, 3), {"dim": 1}), ((3, 1, 4), {"dim": (0, 2)})],
        grad=False),
    _op("all_reduce", cr.all, lambda t, x, **k: t.all(x, **k), _with_zeros,
        [((2, 3), {}), ((3, 3), {"dim": 1}), ((3, 3), {"dim": 0, "keepdim": True})],
        grad=False),
    _op("any_reduce", cr.any, lambda t, x, **k: t.any(x, **k),
        lambda rng, s: np.where(rng.random(s) < 0.7, 0.0, 1.0),
        [((2, 3), {}), ((3, 3), {"dim": 1}), ((3, 3), {"dim": -1, "keepdim": True})],
        grad=False),
]
