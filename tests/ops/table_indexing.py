"""Op table: indexing (getitem/setitem variants), gather/scatter, index_*, masks, take."""
import numpy as np

import chainrule as cr
from chainrule.testing.opinfo import OpInfo, Sample


def _u(rng, shape):
    return rng.uniform(-2.0, 2.0, shape)


def _x(*shapes):
    """Samples with one float input per listed shape."""
    def gen(rng):
        return [Sample((_u(rng, s),), {}, f"shape={s}") for s in shapes]
    return gen


def _cases(*fns):
    """Samples built by ``fn(rng) -> (args, kwargs, desc)``."""
    def gen(rng):
        return [Sample(*fn(rng)) for fn in fns]
    return gen


def _get(name, index, shapes=((3, 4),), **kw):
    """``x[index]`` with a fixed (Python) index."""
    return OpInfo(name, lambda x: x[index], lambda t, x: x[index], _x(*shapes), **kw)


def _get_t(name, build, **kw):
    """``x[i]`` where the sample passes the index ``i`` as an array (a tensor)."""
    return OpInfo(name, lambda x, i: x[build(i)], lambda t, x, i: x[build(i)], kw.pop("samples"),
                  **kw)


def _set(index):
    """``y = x.clone(); y[index] = v`` (same code on both libraries)."""
    def f(x, v):
        y = x.clone()
        y[index] = v
        return y
    return f


def _set_op(name, index, xshape, vshape):
    f = _set(index)
    return OpInfo(name, f, lambda t, x, v: f(x, v),
                  lambda rng: [Sample((_u(rng, xshape), _u(rng, vshape)), {},
                                      f"x{xshape} v{vshape}")])


def _set_scalar(name, index, xshape, value=2.5):
    f = _set(index)
    return OpInfo(name, lambda x: f(x, value), lambda t, x: f(x, value), _x(xshape))


def _perm_index(rng, shape, k, dim):
    """``k`` distinct indices along ``dim`` for every other position."""
    return np.argsort(rng.random(shape), axis=dim).take(range(k), axis=dim).astype(np.int64)


def _rep_index(rng, n, shape):
    return rng.integers(0, n, shape).astype(np.int64)


def _mask(rng, shape):
    m = rng.random(shape) < 0.5
    m.flat[0] = True
    return m


def _torch_fn(name):
    return lambda t, *a, **k: getattr(t, name)(*a, **k)


def _gather_samples(rng):
    return [Sample((_u(rng, (3, 4)), 0, _rep_index(rng, 3, (2, 4))), {}, "dim0 repeats"),
            Sample((_u(rng, (3, 4)), 1, _rep_index(rng, 4, (3, 6))), {}, "dim1 wider"),
            Sample((_u(rng, (3, 4)), -1, _rep_index(rng, 4, (2, 2))), {}, "smaller"),
            Sample((_u(rng, (2, 3, 4)), 1, _rep_index(rng, 3, (2, 5, 4))), {}, "3-d"),
            Sample((_u(rng, (3, 4)), 0, np.zeros((0, 4), np.int64)), {}, "empty")]


def _scatter_samples(rng):
    return [Sample((_u(rng, (3, 4)), 0, _perm_index(rng, (3, 4), 2, 0), _u(rng, (2, 4))),
                   {}, "dim0"),
            Sample((_u(rng, (3, 4)), 1, _perm_index(rng, (3, 4), 3, 1), _u(rng, (3, 3))),
                   {}, "dim1"),
            Sample((_u(rng, (2, 3, 4)), -1, _perm_index(rng, (2, 2, 4), 2, 2),
                    _u(rng, (2, 2, 2))), {}, "3-d smaller")]


def _scatter_add_samples(rng):
    return [Sample((_u(rng, (3, 4)), 0, _rep_index(rng, 3, (5, 4)), _u(rng, (5, 4))),
                   {}, "dim0 repeats"),
            Sample((_u(rng, (3, 4)), 1, _rep_index(rng, 4, (2, 6)), _u(rng, (2, 6))),
                   {}, "dim1 repeats")]


def _larger_src(rng):
    return [Sample((_u(rng, (3, 4)), 0, _perm_index(rng, (3, 3), 2, 0), _u(rng, (3, 5))),
                   {}, "src larger than index")]


def _index_samples(src=False, unique=False, negative=False):
    def gen(rng):
        out = []
        for xs, dim, n in [((4, 3), 0, 5), ((2, 5), 1, 3), ((2, 3, 4), -1, 2)]:
            size = xs[dim]
            if unique:
                i = rng.permutation(size)[:min(n, size)].astype(np.int64)
            else:
                i = rng.integers(-size if negative else 0, size, n).astype(np.int64)
            args = (_u(rng, xs), dim, i)
            if src:
                ss = list(xs)
                ss[dim] = len(i)
                args += (_u(rng, tuple(ss)),)
            out.append(Sample(args, {}, f"x{xs} dim={dim} index={i.tolist()}"))
        return out
    return gen


def _masked_samples(value=None):
    def gen(rng):
        out = []
        for xs, ms in [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)), ((), (2,))]:
            args = (_u(rng, xs), _mask(rng, ms))
            if value is not None:
                args += (value(rng),)
            out.append(Sample(args, {}, f"x{xs} mask{ms}"))
        return out
    return gen


def _take_along_samples(rng):
    return [Sample((_u(rng, (3, 4)), _rep_index(rng, 4, (3, 2)), 1), {}, "dim1"),
            Sample((_u(rng, (3, 4)), _rep_index(rng, 3, (5, 1)), 0), {}, "broadcast index"),
            Sample((_u(rng, (1, 4)), _rep_index(rng, 4, (3, 2)), 1), {}, "broadcast input"),
            Sample((_u(rng, (3, 4)), _rep_index(rng, 12, (5,))), {}, "dim=None")]


def _nonzero_samples(rng):
    out = []
    for s in [(5,), (3, 4), (), (0, 2)]:
        x = _u(rng, s)
        x[rng.random(s) < 0.4] = 0.0
        out.append(Sample((x,), {}, f"shape={s}"))
    return out



OPS = [
    # ---------------------------------------------------------------- getitem
    _get("getitem_int", 1),
    _get("getitem_int_negative", -1, shapes=((3, 4), (5,))),
    _get("getitem_int_pair", (-1, 2)),
    _get("getitem_slice", slice(1, 3)),
    _get("getitem_slice_step", (slice(None, None, 2), slice(1, None)), shapes=((5, 4),)),
    _get("getitem_slice_out_of_range", (slice(-10, 10), slice(3, 1))),
    _get("getitem_none_ellipsis", (None, Ellipsis, 1), shapes=((3, 4), (2, 3, 4))),
    _get("getitem_ellipsis_middle", (0, Ellipsis, None, 2), shapes=((2, 3, 4),)),
    _get("getitem_int_list_repeats", [0, 2, 0, -1]),
    _get("getitem_two_lists", ([0, 1, 1], [2, 0, 2])),
    _get("getitem_bool_list", [True, False, True]),
    _get("getitem_mixed_slice_list", (slice(1, None), [0, 3, 3])),
    _get("getitem_mixed_int_slice_list", (0, slice(None), [0, 1]), shapes=((2, 3, 4),)),
    _get("getitem_mixed_separated_lists", ([0, 1], slice(None), [1, 1]), shapes=((2, 3, 4),)),
    _get("getitem_mixed_none_list", (slice(None), None, [1, 2])),
    _get_t("getitem_int_tensor", lambda i: i,
           samples=_cases(lambda rng: ((_u(rng, (4, 3)), _rep_index(rng, 4, (2, 3))), {}, "2-d"),
                          lambda rng: ((_u(rng, (4, 3)), np.array(2)), {}, "0-d index"))),
    _get_t("getitem_bool_mask", lambda m: m,
           samples=_cases(lambda rng: ((_u(rng, (3, 4)), _mask(rng, (3, 4))), {}, "full"),
                          lambda rng: ((_u(rng, (3, 4)), _mask(rng, (3,))), {}, "rows"))),
    _get_t("getitem_mask_with_slice", lambda m: (slice(1, None), m),
           samples=_cases(lambda rng: ((_u(rng, (3, 4)), _mask(rng, (4,))), {}, "cols"))),
    _get_t("getitem_tensor_and_int", lambda i: (i, 1),
           samples=_cases(lambda rng: ((_u(rng, (2, 3, 4)), _rep_index(rng, 2, (3,))), {},
                                       ""))),
    # ---------------------------------------------------------------- setitem
    _set_scalar("setitem_int_scalar", 1, (3, 4)),
    _set_scalar("setitem_mask_scalar", (slice(None), [True, False, True, False]), (3, 4)),
    _set_op("setitem_slice", (slice(None), slice(1, 3)), (3, 4), (3, 2)),
    _set_op("setitem_slice_broadcast", (slice(None), slice(1, 3)), (3, 4), (2,)),
    _set_op("setitem_leading_ones", 0, (3, 4), (1, 4)),
    _set_op("setitem_ellipsis_none", (Ellipsis, None, 1), (2, 3, 4), (2, 3, 1)),
    _set_op("setitem_int_list", [0, 2], (3, 4), (2, 4)),
    _set_op("setitem_mixed", (slice(1, None), [0, 3]), (3, 4), (2, 2)),
    _set_op("setitem_two_lists", ([0, 2], [1, 3]), (3, 4), ()),
    # ---------------------------------------------------------------- gather / scatter
    OpInfo("gather", cr.gather, _torch_fn("gather"), _gather_samples),
    OpInfo("take_along_dim", cr.take_along_dim, _torch_fn("take_along_dim"),
           _take_along_samples),
    OpInfo("scatter", cr.scatter, _torch_fn("scatter"), _scatter_samples),
    OpInfo("scatter_src_larger", cr.scatter, _torch_fn("scatter"), _larger_src,
           ref_grad=False, note="torch's backward fails when src is larger than index"),
    OpInfo("scatter_value", lambda x, d, i: cr.scatter(x, d, i, value=1.5),
           lambda t, x, d, i: t.scatter(x, d, i, value=1.5),
           _cases(lambda rng: ((_u(rng, (3, 4)), 1, _rep_index(rng, 4, (3, 2))), {}, ""))),
    OpInfo("scatter_reduce_add_arg", lambda x, d, i, s: cr.scatter(x, d, i, s, reduce="add"),
           lambda t, x, d, i, s: t.scatter(x, d, i, s, reduce="add"), _scatter_add_samples,
           ref_grad=False, note="torch has no derivative for scatter(reduce=...)"),
    OpInfo("scatter_reduce_multiply_arg",
           lambda x, d, i, s: cr.scatter(x, d, i, s, reduce="multiply"),
           lambda t, x, d, i, s: t.scatter(x, d, i, s, reduce="multiply"),
           _scatter_add_samples, grad=False),
    OpInfo("scatter_add", cr.scatter_add, _torch_fn("scatter_add"), _scatter_add_samples),
    OpInfo("scatter_add_src_larger", cr.scatter_add, _torch_fn("scatter_add"), _larger_src,
           ref_grad=False, note="torch's backward fails when src is larger than index"),
    # ---------------------------------------------------------------- index_*
    OpInfo("index_select", cr.index_select, _torch_fn("index_select"), _index_samples()),
    OpInfo("index_add", cr.index_add, _torch_fn("index_add"), _index_samples(src=True)),
    OpInfo("index_add_alpha", lambda x, d, i, s: cr.index_add(x, d, i, s, alpha=-2.5),
           lambda t, x, d, i, s: t.index_add(x, d, i, s, alpha=-2.5), _index_samples(src=True)),
    OpInfo("index_copy", cr.index_copy, _torch_fn("index_copy"),
           _index_samples(src=True, unique=True)),
    OpInfo("index_fill", lambda x, d, i: cr.index_fill(x, d, i, -1.5),
           lambda t, x, d, i: t.index_fill(x, d, i, -1.5), _index_samples(negative=True)),
    OpInfo("index_fill_tensor_value", cr.index_fill, _torch_fn("index_fill"),
           _cases(lambda rng: ((_u(rng, (4, 3)), 0, np.array([0, 2, 2]), np.array(0.7)),
                               {}, "repeats"))),
    OpInfo("index_put", lambda x, i, j, v: cr.index_put(x, (i, j), v),
           lambda t, x, i, j, v: t.index_put(x, (i, j), v),
           _cases(lambda rng: ((_u(rng, (3, 4)), np.array([0, 2]), np.array([1, 3]),
                                _u(rng, (2,))), {}, ""))),
    OpInfo("index_put_accumulate", lambda x, i, v: cr.index_put(x, (i,), v, accumulate=True),
           lambda t, x, i, v: t.index_put(x, (i,), v, accumulate=True),
           _cases(lambda rng: ((_u(rng, (3, 4)), np.array([0, 2, 0]), _u(rng, (3, 4))), {},
                               "repeats"))),
    # ---------------------------------------------------------------- masks, take
    OpInfo("masked_fill", lambda x, m: cr.masked_fill(x, m, 0.5),
           lambda t, x, m: t.masked_fill(x, m, 0.5), _masked_samples()),
    OpInfo("masked_fill_tensor_value", cr.masked_fill, _torch_fn("masked_fill"),
           _masked_samples(value=lambda rng: _u(rng, ()))),
    OpInfo("masked_select", cr.masked_select, _torch_fn("masked_select"), _masked_samples()),
    OpInfo("take", cr.take, _torch_fn("take"),
           _cases(lambda rng: ((_u(rng, (3, 4)), rng.integers(-12, 12, (2, 3))), {}, "2-d"),
                  lambda rng: ((_u(rng, ()), np.array([0, -1, 0])), {}, "0-d input"))),
    OpInfo("nonzero", cr.nonzero, _torch_fn("nonzero"), _nonzero_samples, grad=False),
    OpInfo("nonzero_as_tuple", lambda x: cr.nonzero(x, as_tuple=True),
           lambda t, x: t.nonzero(x, as_tuple=True), _nonzero_samples, grad=False),
]
