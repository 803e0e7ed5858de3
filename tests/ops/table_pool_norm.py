"""Op table: pooling, normalization and resampling (nn.functional).

Grids of kernel/stride/padding/dilation/ceil_mode/count_include_pad, adaptive
sizes that do not divide the input, normalization in training mode.  Shapes
are tiny so that gradcheck and gradgradcheck stay fast.  Max-pooling inputs
are permutations of well-separated values, so no window has a tie.
"""
import numpy as np

import chainrule as cr
import chainrule.nn.functional as CF
from chainrule.testing.opinfo import OpInfo, Sample, nograd


def _distinct(rng, shape):
    """Values 0.1 apart in random order (no ties within a pooling window)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - n * 0.05).reshape(shape)


def _grid(shape, configs, draw=None):
    def gen(rng):
        out = []
        for kw in configs:
            x = draw(rng, shape) if draw else rng.standard_normal(shape)
            out.append(Sample((x,), dict(kw), f"{shape} {kw}"))
        return out
    return gen


def _fn(name, **fixed):
    crf = getattr(CF, name)
    return (lambda *a, _f=crf, **kw: _f(*a, **fixed, **kw),
            lambda t, *a, _n=name, **kw: getattr(t.nn.functional, _n)(*a, **fixed, **kw))


MAX2D = [dict(kernel_size=2), dict(kernel_size=3, stride=2),
         dict(kernel_size=3, stride=1, padding=1),
         dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0)),
         dict(kernel_size=2, stride=2, ceil_mode=True),
         dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
         dict(kernel_size=2, stride=1, dilation=2),
         dict(kernel_size=3, stride=2, padding=1, dilation=2),
         dict(kernel_size=(3, 2), stride=(2, 1), dilation=(1, 2), ceil_mode=True)]
MAX1D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
         dict(kernel_size=2, stride=2, ceil_mode=True), dict(kernel_size=3, stride=1, dilation=2),
         dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)]
AVG2D = [dict(kernel_size=2), dict(kernel_size=3, stride=2),
         dict(kernel_size=3, stride=1, padding=1),
         dict(kernel_size=3, stride=1, padding=1, count_include_pad=False),
         dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 1), ceil_mode=True),
         dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
         dict(kernel_size=2, stride=2, ceil_mode=True),
         dict(kernel_size=3, stride=2, padding=1, divisor_override=5)]
AVG1D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
         dict(kernel_size=3, stride=2, padding=1, count_include_pad=False, ceil_mode=True),
         dict(kernel_size=2, stride=3, ceil_mode=True)]


def _with_indices(name):
    return _fn(name, return_indices=True)


def _unpool_samples(rng):
    out = []
    for k, s, shape in ((2, 2, (1, 2, 4, 6)), (3, 3, (2, 1, 6, 7))):
        x = _distinct(rng, shape)
        _, idx = CF.max_pool2d(cr.tensor(x), k, s, return_indices=True)
        y = rng.standard_normal(tuple(idx.shape))
        out.append(Sample((y, idx.numpy()), dict(kernel_size=k, stride=s,
                                                 output_size=shape[-2:]), f"k={k} s={s}"))
    return out


def _norm_samples(shapes, affine, extra=None):
    """(x, weight, bias) samples; weight/bias shaped by ``affine(shape)``."""
    def gen(rng):
        out = []
        for shape in shapes:
            args = [rng.standard_normal(shape)]
            pshape = affine(shape) if affine else None
            if pshape is not None:
                args += [rng.uniform(0.5, 1.5, pshape), rng.standard_normal(pshape)]
            out.append(Sample(tuple(args), dict(extra or {}), f"{shape}"))
        return out
    return gen


def _bn_eval_samples(rng):
    out = []
    for shape in ((3, 4), (2, 3, 4, 2)):
        c = shape[1]
        out.append(Sample((rng.standard_normal(shape), nograd(rng.standard_normal(c)),
                           nograd(rng.uniform(0.5, 2.0, c)), rng.uniform(0.5, 1.5, c),
                           rng.standard_normal(c)), {}, f"{shape}"))
    return out


def _interp(shape, configs):
    return _grid(shape, configs)


_CH = (lambda s: (s[1],))

OPS = [
    OpInfo("max_pool2d", *_fn("max_pool2d"), _grid((1, 2, 7, 6), MAX2D, _distinct)),
    OpInfo("max_pool2d_unbatched", *_fn("max_pool2d"),
           _grid((2, 5, 5), [dict(kernel_size=2, stride=1)], _distinct)),
    OpInfo("max_pool2d_indices", *_with_indices("max_pool2d"),
           _grid((2, 2, 5, 6), [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1,
                                                          ceil_mode=True, dilation=1)],
                 _distinct)),
    OpInfo("max_pool1d", *_fn("max_pool1d"), _grid((2, 2, 9), MAX1D, _distinct)),
    OpInfo("max_pool1d_indices", *_with_indices("max_pool1d"),
           _grid((2, 3, 7), [dict(kernel_size=3, stride=2, padding=1)], _distinct)),
    OpInfo("avg_pool2d", *_fn("avg_pool2d"), _grid((1, 2, 7, 6), AVG2D)),
    OpInfo("avg_pool1d", *_fn("avg_pool1d"), _grid((2, 2, 9), AVG1D)),
    OpInfo("adaptive_avg_pool2d", *_fn("adaptive_avg_pool2d"),
           _grid((1, 2, 7, 5), [dict(output_size=(3, 2)), dict(output_size=1),
                                dict(output_size=(None, 4)), dict(output_size=(7, 5))])),
    OpInfo("adaptive_avg_pool1d", *_fn("adaptive_avg_pool1d"),
           _grid((2, 2, 10), [dict(output_size=4), dict(output_size=5), dict(output_size=3)])),
    OpInfo("adaptive_max_pool2d", *_fn("adaptive_max_pool2d"),
           _grid((1, 2, 7, 5), [dict(output_size=(3, 2)), dict(output_size=1),
                                dict(output_size=(4, 4))], _distinct)),
    OpInfo("adaptive_max_pool2d_indices", *_with_indices("adaptive_max_pool2d"),
           _grid((2, 1, 6, 7), [dict(output_size=(4, 3))], _distinct)),
    OpInfo("adaptive_max_pool1d", *_with_indices("adaptive_max_pool1d"),
           _grid((2, 2, 10), [dict(output_size=4), dict(output_size=3)], _distinct)),
    OpInfo("max_unpool2d", CF.max_unpool2d,
           lambda t, x, i, **kw: t.nn.functional.max_unpool2d(x, i, **kw), _unpool_samples),
    OpInfo("lp_pool2d", lambda x, **kw: CF.lp_pool2d(x, 2.0, **kw),
           lambda t, x, **kw: t.nn.functional.lp_pool2d(x, 2.0, **kw),
           _grid((1, 2, 5, 6), [dict(kernel_size=2), dict(kernel_size=3, stride=2)])),
    OpInfo("lp_pool1d", lambda x, **kw: CF.lp_pool1d(x, 2.0, **kw),
           lambda t, x, **kw: t.nn.functional.lp_pool1d(x, 2.0, **kw),
           _grid((2, 2, 7), [dict(kernel_size=3, stride=2, ceil_mode=True)])),
    # ------------------------------------------------------------ normalization
    OpInfo("batch_norm_train",
           lambda x, w, b: CF.batch_norm(x, None, None, w, b, training=True),
           lambda t, x, w, b: t.nn.functional.batch_norm(x, None, None, w, b, training=True),
           _norm_samples([(4, 3), (3, 2, 5), (2, 3, 3, 2)], _CH), gc_atol=1e-4),
    OpInfo("batch_norm_train_noaffine",
           lambda x: CF.batch_norm(x, None, None, training=True, eps=1e-3),
           lambda t, x: t.nn.functional.batch_norm(x, None, None, training=True, eps=1e-3),
           _norm_samples([(3, 2, 2, 3)], None), gc_atol=1e-4),
    OpInfo("batch_norm_eval",
           lambda x, m, v, w, b: CF.batch_norm(x, m, v, w, b, training=False),
           lambda t, x, m, v, w, b: t.nn.functional.batch_norm(x, m, v, w, b, training=False),
           _bn_eval_samples),
    OpInfo("layer_norm", lambda x, w, b: CF.layer_norm(x, tuple(w.shape), w, b),
           lambda t, x, w, b: t.nn.functional.layer_norm(x, tuple(w.shape), w, b),
           lambda rng: [
               Sample((rng.standard_normal((3, 5)), rng.uniform(0.5, 1.5, (5,)),
                       rng.standard_normal(5)), {}, "(3, 5) over (5,)"),
               Sample((rng.standard_normal((2, 3, 4)), rng.uniform(0.5, 1.5, (3, 4)),
                       rng.standard_normal((3, 4))), {}, "(2, 3, 4) over (3, 4)")],
           gc_atol=1e-4),
    OpInfo("layer_norm_noaffine", lambda x: CF.layer_norm(x, (4,)),
           lambda t, x: t.nn.functional.layer_norm(x, (4,)),
           _norm_samples([(3, 4), (2, 2, 4)], None), gc_atol=1e-4),
    OpInfo("group_norm", lambda x, w, b: CF.group_norm(x, 2, w, b),
           lambda t, x, w, b: t.nn.functional.group_norm(x, 2, w, b),
           _norm_samples([(2, 4, 3), (2, 6, 2, 2), (3, 4)], _CH), gc_atol=1e-4),
    OpInfo("group_norm_noaffine", lambda x: CF.group_norm(x, 3),
           lambda t, x: t.nn.functional.group_norm(x, 3),
           _norm_samples([(2, 3, 4)], None), gc_atol=1e-4),
    OpInfo("instance_norm", lambda x, w, b: CF.instance_norm(x, weight=w, bias=b),
           lambda t, x, w, b: t.nn.functional.instance_norm(x, weight=w, bias=b),
           _norm_samples([(2, 3, 5), (2, 2, 3, 3)], _CH), gc_atol=1e-4),
    OpInfo("instance_norm_running",
           lambda x, m, v, w, b: CF.instance_norm(x, m, v, w, b, use_input_stats=False),
           lambda t, x, m, v, w, b: t.nn.functional.instance_norm(x, m, v, w, b,
                                                                  use_input_stats=False),
           lambda rng: [s for s in _bn_eval_samples(rng) if s.args[0].ndim > 2]),
    OpInfo("local_response_norm", lambda x, **kw: CF.local_response_norm(x, **kw),
           lambda t, x, **kw: t.nn.functional.local_response_norm(x, **kw),
           lambda rng: [Sample((rng.standard_normal((2, 5, 3)),), dict(size=3, alpha=0.5),
                               "3D size=3"),
                        Sample((rng.standard_normal((1, 4, 2, 3)),),
                               dict(size=2, alpha=0.3, beta=0.6, k=2.0), "4D size=2")]),
    OpInfo("rms_norm", lambda x, w: CF.rms_norm(x, (4,), w, eps=1e-6),
           lambda t, x, w: t.nn.functional.rms_norm(x, (4,), w, eps=1e-6),
           lambda rng: [Sample((rng.standard_normal((3, 4)), rng.uniform(0.5, 1.5, 4)))]),
    # ------------------------------------------------------------ resampling
    OpInfo("interpolate_nearest", *_fn("interpolate"),
           _interp((1, 2, 3, 4), [dict(scale_factor=2), dict(size=(5, 7)),
                                  dict(scale_factor=(1.5, 0.5)), dict(size=(2, 3))])),
    OpInfo("interpolate_nearest_exact", *_fn("interpolate", mode="nearest-exact"),
           _interp((1, 2, 3, 4), [dict(size=(5, 7)), dict(scale_factor=0.7)])),
    OpInfo("interpolate_bilinear", *_fn("interpolate", mode="bilinear"),
           _interp((1, 2, 3, 4), [dict(scale_factor=2), dict(size=(5, 3)),
                                  dict(scale_factor=(1.7, 0.6)),
                                  dict(scale_factor=1.5, recompute_scale_factor=True)])),
    OpInfo("interpolate_bilinear_align", *_fn("interpolate", mode="bilinear",
                                              align_corners=True),
           _interp((1, 2, 3, 4), [dict(scale_factor=2), dict(size=(1, 6)),
                                  dict(size=(2, 3))])),
    OpInfo("interpolate_linear", *_fn("interpolate", mode="linear"),
           _interp((2, 2, 5), [dict(scale_factor=2), dict(size=3), dict(scale_factor=1.3)])),
    OpInfo("interpolate_linear_align", *_fn("interpolate", mode="linear", align_corners=True),
           _interp((2, 2, 5), [dict(size=8), dict(size=2)])),
    OpInfo("interpolate_area", *_fn("interpolate", mode="area"),
           _interp((1, 2, 6, 5), [dict(size=(4, 3)), dict(scale_factor=0.5)])),
    OpInfo("dropout2d_eval", lambda x: CF.dropout2d(x, 0.3, training=False),
           lambda t, x: t.nn.functional.dropout2d(x, 0.3, training=False),
           _grid((2, 3, 2, 2), [{}])),
]
