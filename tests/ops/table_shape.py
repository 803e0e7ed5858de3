"""Op table: shape ops (views, transposes, expand/repeat, joins, splits, flips, pads)."""
import chainrule.functional as FN  # the op floor: method-only ops (view, expand) are not in cr.*
import chainrule.nn.functional as CF
from chainrule.testing.opinfo import OpInfo, Sample, nograd


def _arr(rng, shape):
    """An array of ``shape``, or a list of arrays for a list of shapes."""
    if isinstance(shape, list):
        return [_arr(rng, s) for s in shape]
    return rng.uniform(-2.0, 2.0, shape)


def _gen(*specs):
    """Samples from ``(shape, args, kwargs)`` specs (args and kwargs optional)."""
    def gen(rng):
        out = []
        for spec in specs:
            shape, args, kw = (tuple(spec) + ((), {}))[:3]
            out.append(Sample((_arr(rng, shape),) + tuple(args), dict(kw),
                              f"shape={shape} args={args} {kw}"))
        return out
    return gen


def _op(name, specs, fn=None, tname=None, **kw):
    """``cr.<fn or name>`` against ``torch.<tname or fn or name>``."""
    crf = getattr(FN, fn or name)
    tn = tname or fn or name
    return OpInfo(name, crf, lambda t, *a, _n=tn, **k: getattr(t, _n)(*a, **k),
                  _gen(*specs), **kw)


def _meth(name, method, specs, **kw):
    """``cr.<name>`` against the torch Tensor method ``x.<method>(...)``."""
    return OpInfo(name, getattr(FN, name), lambda t, x, *a, _m=method: getattr(x, _m)(*a),
                  _gen(*specs), **kw)


def _like(name, method, pairs):
    """Ops taking a second tensor only for its shape (``view_as``...)."""
    def gen(rng):
        return [Sample((_arr(rng, a), nograd(_arr(rng, b))), {}, f"{a} as {b}")
                for a, b in pairs]
    return OpInfo(name, getattr(FN, name), lambda t, x, y, _m=method: getattr(x, _m)(y), gen)


def _pad(name, mode, specs):
    def ref(t, x, p, **k):
        return t.nn.functional.pad(x, p, mode=mode, **k)
    return OpInfo(name, lambda x, p, **k: CF.pad(x, p, mode=mode, **k), ref, _gen(*specs))


OPS = [
    _op("reshape", [((2, 3), ((3, 2),)), ((2, 3), ((-1,),)), ((), ((1, 1),)),
                    ((0, 3), ((3, 0),)), ((2, 3, 4), ((4, -1),))]),
    _meth("view", "view", [((2, 3), ((6,),)), ((2, 3, 4), ((-1, 4),)), ((), ((1,),))]),
    _like("view_as", "view_as", [((2, 3), (3, 2)), ((4,), (2, 1, 2))]),
    _like("reshape_as", "reshape_as", [((2, 3), (6,)), ((), (1, 1))]),
    _op("flatten", [((2, 3, 4),), ((2, 3, 4), (), {"start_dim": 1}),
                    ((2, 3, 4, 5), (), {"start_dim": 1, "end_dim": -2}), ((),),
                    ((0, 3),), ((2, 3), (), {"start_dim": -1})]),
    _op("unflatten", [((2, 12), (1, (3, 4))), ((6,), (-1, (2, -1))), ((0, 4), (1, (2, 2))),
                      ((3,), (0, (3,)))]),
    _op("squeeze", [((1, 3, 1),), ((1, 3, 1), (0,)), ((1, 3, 1), (-1,)),
                    ((1, 3, 1), ((0, 2),)), ((1, 3, 1), (1,)), ((),), ((), (0,)),
                    ((0, 1), (1,))]),
    _op("unsqueeze", [((2, 3), (0,)), ((2, 3), (-1,)), ((2, 3), (1,)), ((), (0,)),
                      ((0,), (1,))]),
    _op("permute", [((2, 3, 4), ((2, 0, 1),)), ((2, 3, 4), ((-1, 0, 1),)), ((), ((),)),
                    ((0, 3), ((1, 0),))]),
    _op("transpose", [((2, 3, 4), (0, 2)), ((2, 3), (-1, -2)), ((3,), (0, 0)),
                      ((), (0, -1)), ((1, 0, 2), (1, 2))]),
    _op("swapaxes", [((2, 3, 4), (0, -1))]),
    _op("movedim", [((2, 3, 4), (0, -1)), ((2, 3, 4), ((0, 1), (2, 0))), ((), (0, 0)),
                    ((2, 1, 3), (-1, 0))]),
    _op("t", [((2, 3),), ((3,),), ((),), ((0, 2),)]),
    _meth("expand", "expand", [((3, 1), ((3, 4),)), ((3, 1), ((2, -1, 4),)), ((), ((2, 3),)),
                               ((1,), ((0,),)), ((0, 1), ((0, 3),)), ((2, 3), ((-1, 3),))]),
    _like("expand_as", "expand_as", [((3, 1), (2, 3, 4)), ((), (2,))]),
    _meth("repeat", "repeat", [((2, 3), ((2, 1),)), ((2, 3), ((2, 1, 3),)), ((), ((3,),)),
                               ((0, 2), ((2, 2),)), ((2,), ((0,),)), ((1, 2), ((1, 1),))]),
    _op("tile", [((2, 3), ((2,),)), ((2, 3), ((2, 1, 2),)), ((3,), ((2, 2),))]),
    _op("cat", [([(2, 3), (4, 3)],), ([(2, 3), (2, 1), (2, 0)], (-1,)),
                ([(0,), (2, 3)], (1,)), ([(3,)],), ([(2, 3, 4)] * 3, (1,)),
                ([(0,), (0,)],)]),
    _op("concat", [([(2, 3), (2, 2)], (1,))]),
    _op("concatenate", [([(1, 2), (3, 2)],)]),
    _op("stack", [([(2, 3)] * 3,), ([(2, 3)] * 2, (-1,)), ([(2, 3)] * 2, (1,)),
                  ([()] * 2,), ([(0, 2)] * 2,)]),
    _op("hstack", [([(2,), (3,)],), ([(2, 3), (2, 1)],), ([(), ()],)]),
    _op("vstack", [([(3,), (3,)],), ([(2, 3), (1, 3)],), ([(3,), (2, 3)],)]),
    _op("split", [((5, 3), (2,)), ((5, 3), ([1, 4],)), ((4, 6), (2,), {"dim": 1}),
                  ((4, 6), ([3, 0, 3],), {"dim": -1}), ((0, 3), (2,)), ((5,), (5,))]),
    _op("chunk", [((5, 3), (3,)), ((6, 3), (4,)), ((2, 7), (3,), {"dim": 1}),
                  ((0, 3), (2,)), ((2,), (5,))]),
    _op("unbind", [((3, 4),), ((3, 4), (-1,)), ((3,),), ((2, 1, 3), (1,))]),
    _op("flip", [((2, 3), ((0,),)), ((2, 3, 4), ((0, 2),)), ((2, 3), ((-1,),)), ((), ((),)),
                 ((0, 3), ((1,),))]),
    _op("fliplr", [((2, 3),)]),
    _op("flipud", [((2, 3),), ((4,),)]),
    _op("roll", [((5,), (2,)), ((2, 3), (1, 0)), ((2, 3), ((1, -2), (0, 1))), ((2, 3), (4,)),
                 ((0, 3), (1, 0)), ((3, 4), (-5, -1))]),
    _op("tril", [((3, 4),), ((3, 4), (1,)), ((2, 3, 3), (-1,)), ((0, 3),), ((4, 2), (-5,))]),
    _op("triu", [((3, 4),), ((3, 4), (-1,)), ((2, 3, 3), (2,)), ((0, 3),)]),
    _op("diag", [((3,),), ((3,), (1,)), ((3,), (-2,)), ((3, 4),), ((3, 4), (1,)),
                 ((4, 3), (-2,)), ((0,),), ((2, 3), (5,))]),
    _op("diagonal", [((3, 4),), ((3, 4), (1,)), ((2, 3, 4), (-1, 1, 2)), ((2, 3, 4), (0, -1, 0)),
                     ((0, 3),), ((3, 3), (4,))]),
    _op("diag_embed", [((3,),), ((2, 3), (1,)), ((2, 3), (-1, 0, 2)), ((0, 2),)]),
    _op("select", [((5, 3), (0, 1)), ((5, 3), (-1, -1)), ((2, 3, 4), (1, 2)),
                   ((4, 0), (0, 3))]),
    _op("narrow", [((5, 3), (0, 1, 3)), ((5, 3), (-1, 1, 2)), ((5, 3), (0, -2, 2)),
                   ((5, 3), (1, 0, 0)), ((4,), (0, 4, 0))]),
    _pad("pad_constant", "constant", [((2, 3), ((1, 2),)),
                                      ((2, 3), ((1, 2, 0, 1),), {"value": 1.5}),
                                      ((2, 3, 4), ((-1, 2, 1, -1),)), ((3,), ((0, 0),)),
                                      ((2, 3), ((-3, 1),)), ((0, 2), ((1, 1, 2, 0),))]),
    _pad("pad_reflect", "reflect", [((2, 3, 5), ((2, 1),)), ((1, 2, 4, 5), ((1, 2, 3, 1),)),
                                    ((2, 5), ((-1, 2),)),
                                    ((2, 3, 3, 3, 4), ((1, 0, 1, 1, 2, 1),))]),
    _pad("pad_replicate", "replicate", [((2, 3, 5), ((2, 1),)), ((1, 2, 4, 5), ((1, 2, 3, 1),)),
                                        ((2, 3, 4, 3, 2), ((1, 1, 0, 2, 1, 0),)),
                                        ((2, 5), ((3, -2),))]),
    _pad("pad_circular", "circular", [((2, 3, 5), ((2, 1),)), ((1, 2, 4, 5), ((1, 2, 3, 1),)),
                                      ((2, 3, 5), ((-1, 2),)), ((2, 5), ((5, 0),))]),
]
