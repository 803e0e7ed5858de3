"""Op table: activation functions and nn.functional helpers."""
import numpy as np

import chainrule.nn.functional as CF
from chainrule.testing.opinfo import OpInfo, Sample, nograd, unary_samples

SHAPES = [(), (5,), (2, 3), (0, 3)]


def _away(points, lo=-3.0, hi=3.0, gap=0.15, shapes=SHAPES):
    """Samples in [lo, hi] kept ``gap`` away from the kinks at ``points``."""
    def gen(rng):
        out = []
        for s in shapes:
            x = rng.uniform(lo, hi, s)
            for p in points:
                near = np.abs(x - p) < gap
                x = np.where(near, p + np.sign(x - p + 1e-12) * gap * 2, x)
            out.append(Sample((x,), {}, f"shape={s}"))
        return out
    return gen


def _act(name, samples=None, kwargs=None, variant=None, tname=None, **kw):
    kwargs = kwargs or {}
    crf = getattr(CF, name)
    tn = tname or name
    return OpInfo(variant or name, lambda x, _f=crf, _k=kwargs: _f(x, **_k),
                  lambda t, x, _n=tn, _k=kwargs: getattr(t.nn.functional, _n)(x, **_k),
                  samples or unary_samples(-3.0, 3.0, SHAPES), **kw)


def _dim_samples(shapes=((2, 3), (3, 4, 2), (5,))):
    def gen(rng):
        return [Sample((rng.uniform(-3, 3, s),), {}, f"shape={s}") for s in shapes]
    return gen


def _soft(name, dim, variant):
    crf = getattr(CF, name)
    return OpInfo(variant, lambda x, _f=crf: _f(x, dim=dim),
                  lambda t, x, _n=name: getattr(t.nn.functional, _n)(x, dim=dim),
                  _dim_samples([s for s in ((2, 3), (3, 4, 2), (5,)) if dim < len(s)]))


OPS = [
    _act("leaky_relu", _away([0.0])),
    _act("leaky_relu", _away([0.0]), {"negative_slope": 0.2}, "leaky_relu_slope"),
    _act("elu", _away([0.0])),
    _act("elu", _away([0.0]), {"alpha": 0.5}, "elu_alpha"),
    _act("selu", _away([0.0])),
    _act("celu", _away([0.0]), {"alpha": 2.0}),
    _act("gelu"),
    _act("gelu", kwargs={"approximate": "tanh"}, variant="gelu_tanh"),
    _act("silu"),
    _act("mish"),
    _act("softplus"),
    _act("softplus", kwargs={"beta": 2.0, "threshold": 3.0}, variant="softplus_beta",
         samples=_away([1.5])),
    _act("hardtanh", _away([-1.0, 1.0])),
    _act("hardtanh", _away([-0.5, 2.0]), {"min_val": -0.5, "max_val": 2.0}, "hardtanh_range"),
    _act("relu6", _away([0.0, 6.0], -2.0, 8.0)),
    _act("hardsigmoid", _away([-3.0, 3.0], -5.0, 5.0)),
    _act("hardswish", _away([-3.0, 3.0], -5.0, 5.0)),
    _act("logsigmoid", unary_samples(-8.0, 8.0, SHAPES)),
    _act("softsign", _away([0.0])),
    _act("tanhshrink"),
    _act("softshrink", _away([-0.5, 0.5])),
    _act("hardshrink", _away([-0.5, 0.5]), gradgrad=True),
    OpInfo("threshold", lambda x: CF.threshold(x, 0.3, -1.0),
           lambda t, x: t.nn.functional.threshold(x, 0.3, -1.0), _away([0.3])),
    OpInfo("glu", lambda x: CF.glu(x), lambda t, x: t.nn.functional.glu(x),
           _dim_samples(((2, 4), (6,)))),
    OpInfo("glu_dim0", lambda x: CF.glu(x, 0), lambda t, x: t.nn.functional.glu(x, 0),
           _dim_samples(((4, 3),))),
    OpInfo("prelu", CF.prelu, lambda t, x, w: t.nn.functional.prelu(x, w),
           lambda rng: [Sample((_away([0.0])(rng)[2].args[0], np.array([0.25])), {}, "shared"),
                        Sample((np.where(np.abs(r := rng.uniform(-2, 2, (2, 3, 4))) < 0.2, 0.5, r),
                                rng.uniform(0.1, 0.5, (3,))), {}, "per-channel")]),
    _soft("softmax", 1, "softmax"),
    _soft("softmax", 0, "softmax_dim0"),
    _soft("softmax", -1, "softmax_dimlast"),
    _soft("log_softmax", 1, "log_softmax"),
    _soft("log_softmax", 0, "log_softmax_dim0"),
    _soft("softmin", -1, "softmin"),
    OpInfo("softmax_implicit_dim", lambda x: CF.softmax(x),
           lambda t, x: t.softmax(x, 0 if x.ndim in (0, 1, 3) else 1),
           _dim_samples(((2, 3), (3, 2, 2), (4,)))),
    OpInfo("normalize", lambda x: CF.normalize(x), lambda t, x: t.nn.functional.normalize(x),
           _dim_samples(((3, 4), (2, 3, 2)))),
    OpInfo("normalize_p1", lambda x: CF.normalize(x, p=1.0, dim=-1),
           lambda t, x: t.nn.functional.normalize(x, p=1.0, dim=-1),
           _away([0.0], shapes=[(3, 4)])),
    OpInfo("cosine_similarity", CF.cosine_similarity,
           lambda t, a, b: t.nn.functional.cosine_similarity(a, b),
           lambda rng: [Sample((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))),
                        Sample((rng.standard_normal((2, 4, 3)), rng.standard_normal((1, 4, 3))))]),
    OpInfo("pairwise_distance", CF.pairwise_distance,
           lambda t, a, b: t.nn.functional.pairwise_distance(a, b),
           lambda rng: [Sample((rng.standard_normal((3, 4)), rng.standard_normal((3, 4))))]),
    OpInfo("embedding", lambda i, w: CF.embedding(i, w),
           lambda t, i, w: t.nn.functional.embedding(i, w),
           lambda rng: [Sample((np.array([[0, 2, 1], [2, 2, 4]]), rng.standard_normal((5, 3))))]),
    OpInfo("embedding_padding", lambda i, w: CF.embedding(i, w, padding_idx=2),
           lambda t, i, w: t.nn.functional.embedding(i, w, padding_idx=2),
           lambda rng: [Sample((np.array([0, 2, 1, 2]), rng.standard_normal((4, 3))))],
           grad=False, note="padding row gets no gradient (not a true derivative): "
                            "checked against torch in tests/test_functional.py"),
    OpInfo("one_hot", lambda i: CF.one_hot(i, 5), lambda t, i: t.nn.functional.one_hot(i, 5),
           lambda rng: [Sample((np.array([[0, 3], [4, 1]]),))], grad=False, dtype_check=False),
    OpInfo("dropout_eval", lambda x: CF.dropout(x, 0.3, training=False),
           lambda t, x: t.nn.functional.dropout(x, 0.3, training=False),
           unary_samples(-2.0, 2.0, SHAPES)),
]
