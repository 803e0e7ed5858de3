"""Op table: elementwise ops."""
import numpy as np

import chainrule as cr
import chainrule.functional as FN  # the op floor: method-only ops (view, expand) are not in cr.*
from chainrule.testing.opinfo import OpInfo, Sample, nograd, unary_samples, binary_samples


def _un(name, low=-2.0, high=2.0, ref=None, **kw):
    crf = getattr(FN, name)
    reff = ref or (lambda t, x, _n=name: getattr(t, _n)(x))
    return OpInfo(name, crf, reff, unary_samples(low, high), **kw)


def _bin(name, low=-2.0, high=2.0, low2=None, high2=None, scalar=1.5, ref=None, **kw):
    crf = getattr(FN, name)
    reff = ref or (lambda t, a, b, _n=name: getattr(t, _n)(a, b) if isinstance(a, t.Tensor)
                   else getattr(t, _n)(t.tensor(a, dtype=b.dtype), b))
    return OpInfo(name, crf, reff, binary_samples(low, high, low2, high2, scalar=scalar), **kw)


def _away_from_zero(rng, shape, lo=0.5, hi=2.0):
    return rng.uniform(lo, hi, shape) * rng.choice([-1, 1], shape)


def _kinks(lo=-2, hi=2):
    """Samples that avoid the non-differentiable points of abs/relu/clamp."""
    def gen(rng):
        return [Sample((_away_from_zero(rng, s),), {}, f"shape={s}")
                for s in [(), (5,), (2, 3), (0, 3)]]
    return gen


OPS = [
    _bin("add"),
    OpInfo("add_alpha", lambda a, b: cr.add(a, b, alpha=2.5),
           lambda t, a, b: t.add(a, b, alpha=2.5), binary_samples(scalar=None)),
    _bin("sub"),
    _bin("mul"),
    _bin("div", low2=0.5, high2=2.0, scalar=2.0),
    OpInfo("pow", cr.pow, lambda t, a, b: t.pow(a, b), binary_samples(0.5, 2.0, -1.5, 1.5,
                                                                       scalar=None)),
    OpInfo("pow_scalar", lambda a: cr.pow(a, 3), lambda t, a: t.pow(a, 3), unary_samples()),
    OpInfo("pow_scalar_base", lambda a: cr.pow(2.0, a), lambda t, a: t.pow(2.0, a),
           unary_samples()),
    OpInfo("maximum", cr.maximum, lambda t, a, b: t.maximum(a, b), binary_samples(scalar=None)),
    OpInfo("minimum", cr.minimum, lambda t, a, b: t.minimum(a, b), binary_samples(scalar=None)),
    OpInfo("atan2", cr.atan2, lambda t, a, b: t.atan2(a, b),
           binary_samples(0.5, 2.0, 0.5, 2.0, scalar=None)),
    OpInfo("fmod", cr.fmod, lambda t, a, b: t.fmod(a, b),
           binary_samples(0.1, 3.0, 0.7, 0.9, scalar=None), gradgrad=False),
    OpInfo("remainder", cr.remainder, lambda t, a, b: t.remainder(a, b),
           binary_samples(0.1, 3.0, 0.7, 0.9, scalar=None), gradgrad=False),
    _un("neg"),
    OpInfo("abs", cr.abs, lambda t, x: t.abs(x), _kinks()),
    _un("sign", gradgrad=False),
    _un("exp"),
    _un("exp2"),
    _un("log", 0.2, 3.0),
    _un("log2", 0.2, 3.0),
    _un("log10", 0.2, 3.0),
    _un("log1p", -0.5, 3.0),
    _un("expm1"),
    _un("sqrt", 0.2, 3.0),
    _un("rsqrt", 0.2, 3.0),
    _un("square"),
    _un("reciprocal", 0.3, 3.0),
    _un("sin"), _un("cos"), _un("tan", -1.2, 1.2), _un("tanh"),
    _un("asin", -0.8, 0.8), _un("acos", -0.8, 0.8), _un("atan"),
    _un("sinh"), _un("cosh"),
    _un("erf"),
    _un("lgamma", 0.2, 6.0), _un("digamma", 0.2, 6.0),
    OpInfo("lgamma_negative", FN.lgamma, lambda t, x: t.lgamma(x),
           unary_samples(-2.8, -2.2)),
    OpInfo("digamma_negative", FN.digamma, lambda t, x: t.digamma(x),
           unary_samples(-1.8, -1.2)),
    OpInfo("polygamma_1", lambda x: cr.polygamma(1, x), lambda t, x: t.polygamma(1, x),
           unary_samples(0.3, 5.0)),
    OpInfo("polygamma_2", lambda x: cr.polygamma(2, x), lambda t, x: t.polygamma(2, x),
           unary_samples(0.5, 5.0)),
    _un("sigmoid", -6.0, 6.0),
    OpInfo("relu", cr.relu, lambda t, x: t.relu(x), _kinks()),
    OpInfo("relu_inplace", lambda x: cr.relu(x * 1, inplace=True),
           lambda t, x: t.nn.functional.relu(x * 1, inplace=True), _kinks()),
    OpInfo("pow_at_zero", lambda a: cr.pow(a * 0, 0.0), lambda t, a: t.pow(a * 0, 0.0),
           unary_samples()),
    OpInfo("clamp", lambda x: cr.clamp(x, -0.5, 0.8), lambda t, x: t.clamp(x, -0.5, 0.8),
           lambda rng: [Sample((np.array([-1.3, -0.2, 0.3, 1.1, 0.7]),)),
                        Sample((rng.uniform(-0.4, 0.7, (2, 3)),))]),
    OpInfo("clamp_min", lambda x: cr.clamp(x, min=0.1), lambda t, x: t.clamp(x, min=0.1),
           lambda rng: [Sample((np.array([-1.3, -0.2, 0.3, 1.1, 0.7]),))]),
    OpInfo("clamp_tensor", lambda x, lo: cr.clamp(x, min=lo), lambda t, x, lo: t.clamp(x, min=lo),
           lambda rng: [Sample((np.array([-1.3, -0.2, 0.3, 1.1]), np.array([0.0, 0.1, 0.2, 0.5])))]),
    OpInfo("where", lambda c, a, b: cr.where(c, a, b), lambda t, c, a, b: t.where(c, a, b),
           lambda rng: [Sample((rng.random((2, 3)) > 0.5, rng.standard_normal((2, 3)),
                                rng.standard_normal((3,)))),
                        Sample((rng.random((3, 1)) > 0.5, rng.standard_normal(()),
                                rng.standard_normal((1, 4))))]),
    _un("floor", gradgrad=False), _un("ceil", gradgrad=False),
    _un("round", gradgrad=False), _un("trunc", gradgrad=False), _un("frac"),
    OpInfo("lerp", cr.lerp, lambda t, a, b, w: t.lerp(a, b, w),
           lambda rng: [Sample((rng.standard_normal((2, 3)), rng.standard_normal((2, 3)),
                                rng.random((2, 3))))]),
    OpInfo("addcmul", lambda a, b, c: cr.addcmul(a, b, c, value=0.5),
           lambda t, a, b, c: t.addcmul(a, b, c, value=0.5),
           lambda rng: [Sample((rng.standard_normal((2, 3)), rng.standard_normal((3,)),
                                rng.standard_normal((2, 1))))]),
    OpInfo("addcdiv", lambda a, b, c: cr.addcdiv(a, b, c, value=0.5),
           lambda t, a, b, c: t.addcdiv(a, b, c, value=0.5),
           lambda rng: [Sample((rng.standard_normal((2, 3)), rng.standard_normal((3,)),
                                rng.uniform(0.5, 2, (2, 1))))]),
    OpInfo("clone", cr.clone, lambda t, x: t.clone(x), unary_samples()),
    OpInfo("cast_float32", lambda x: x.float().double(), lambda t, x: x.float().double(),
           unary_samples(), atol=1e-6, rtol=1e-6, gc_atol=1e-3, gc_rtol=1e-2, gc_eps=1e-2,
           dtype_check=False, gradgrad=False),
    # comparisons: forward only
    OpInfo("eq", cr.eq, lambda t, a, b: t.eq(a, b), lambda rng: [
        Sample((np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])))], grad=False),
    OpInfo("lt", cr.lt, lambda t, a, b: t.lt(a, b), binary_samples(scalar=None), grad=False),
    OpInfo("ge", cr.ge, lambda t, a, b: t.ge(a, b), binary_samples(scalar=None), grad=False),
    OpInfo("floor_divide", cr.floor_divide, lambda t, a, b: t.floor_divide(a, b),
           binary_samples(0.1, 3.0, 0.7, 0.9, scalar=None), grad=False),
    OpInfo("isfinite", cr.isfinite, lambda t, x: t.isfinite(x), lambda rng: [
        Sample((np.array([1.0, np.inf, -np.inf, np.nan]),))], grad=False),
]
