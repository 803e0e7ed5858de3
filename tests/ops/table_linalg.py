"""Op table: linear algebra."""
import numpy as np

import chainrule as cr
import chainrule.nn.functional as CF
from chainrule.testing.opinfo import OpInfo, Sample


def _pairs(*shape_pairs, kwargs=None):
    def gen(rng):
        return [Sample((rng.standard_normal(a), rng.standard_normal(b)), dict(kwargs or {}),
                       f"{a} with {b}") for a, b in shape_pairs]
    return gen


def _triples(*shapes):
    def gen(rng):
        return [Sample(tuple(rng.standard_normal(s) for s in ss), {}, f"{ss}") for ss in shapes]
    return gen


def _linear_samples(bias):
    def gen(rng):
        out = []
        for xs in [(4, 3), (2, 3, 3), (3,), (0, 3)]:
            args = (rng.standard_normal(xs), rng.standard_normal((5, 3)))
            if bias:
                args += (rng.standard_normal(5),)
            out.append(Sample(args, {}, f"x={xs}"))
        return out
    return gen


def _einsum(eq, *shapes):
    return OpInfo(
        "einsum_" + eq.replace("->", "_to_").replace(",", "_").replace("...", "E"),
        lambda *xs, _e=eq: cr.einsum(_e, *xs),
        lambda t, *xs, _e=eq: t.einsum(_e, *xs),
        lambda rng, _s=shapes: [Sample(tuple(rng.standard_normal(s) for s in _s))])


OPS = [
    OpInfo("matmul_2d", cr.matmul, lambda t, a, b: t.matmul(a, b),
           _pairs(((3, 4), (4, 5)), ((1, 4), (4, 1)), ((0, 4), (4, 2)))),
    OpInfo("matmul_1d_1d", cr.matmul, lambda t, a, b: t.matmul(a, b), _pairs(((4,), (4,)))),
    OpInfo("matmul_2d_1d", cr.matmul, lambda t, a, b: t.matmul(a, b), _pairs(((3, 4), (4,)))),
    OpInfo("matmul_1d_2d", cr.matmul, lambda t, a, b: t.matmul(a, b), _pairs(((4,), (4, 3)))),
    OpInfo("matmul_1d_nd", cr.matmul, lambda t, a, b: t.matmul(a, b),
           _pairs(((4,), (2, 4, 3)), ((2, 3, 4), (4,)))),
    OpInfo("matmul_batched", cr.matmul, lambda t, a, b: t.matmul(a, b),
           _pairs(((2, 3, 4), (2, 4, 5)))),
    OpInfo("matmul_batched_broadcast", cr.matmul, lambda t, a, b: t.matmul(a, b),
           _pairs(((2, 1, 3, 4), (3, 4, 2)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (4, 2)))),
    OpInfo("matmul_operator", lambda a, b: a @ b, lambda t, a, b: a @ b, _pairs(((3, 4), (4, 2)))),
    OpInfo("mm", cr.mm, lambda t, a, b: t.mm(a, b), _pairs(((3, 4), (4, 5)))),
    OpInfo("bmm", cr.bmm, lambda t, a, b: t.bmm(a, b), _pairs(((2, 3, 4), (2, 4, 5)))),
    OpInfo("mv", cr.mv, lambda t, a, b: t.mv(a, b), _pairs(((3, 4), (4,)))),
    OpInfo("dot", cr.dot, lambda t, a, b: t.dot(a, b), _pairs(((5,), (5,)))),
    OpInfo("outer", cr.outer, lambda t, a, b: t.outer(a, b), _pairs(((3,), (4,)))),
    OpInfo("inner", cr.inner, lambda t, a, b: t.inner(a, b), _pairs(((2, 3), (4, 3)))),
    OpInfo("addmm", cr.addmm, lambda t, a, b, c: t.addmm(a, b, c),
           _triples(((3, 5), (3, 4), (4, 5)), ((5,), (3, 4), (4, 5)))),
    OpInfo("addmm_scaled", lambda a, b, c: cr.addmm(a, b, c, beta=0.5, alpha=2.0),
           lambda t, a, b, c: t.addmm(a, b, c, beta=0.5, alpha=2.0),
           _triples(((3, 5), (3, 4), (4, 5)))),
    OpInfo("baddbmm", lambda a, b, c: cr.baddbmm(a, b, c, beta=0.5, alpha=1.5),
           lambda t, a, b, c: t.baddbmm(a, b, c, beta=0.5, alpha=1.5),
           _triples(((2, 3, 5), (2, 3, 4), (2, 4, 5)))),
    OpInfo("tensordot", lambda a, b: cr.tensordot(a, b, dims=2),
           lambda t, a, b: t.tensordot(a, b, dims=2), _pairs(((2, 3, 4), (3, 4, 5)))),
    OpInfo("tensordot_lists", lambda a, b: cr.tensordot(a, b, dims=([0, 2], [1, 0])),
           lambda t, a, b: t.tensordot(a, b, dims=([0, 2], [1, 0])),
           _pairs(((2, 3, 4), (4, 2, 5)))),
    _einsum("ij,jk->ik", (3, 4), (4, 5)),
    _einsum("bij,bjk->bik", (2, 3, 4), (2, 4, 2)),
    _einsum("ij->ji", (3, 4)),
    _einsum("ij->i", (3, 4)),
    _einsum("i,j->ij", (3,), (4,)),
    _einsum("...ij,...jk", (2, 3, 4), (2, 4, 2)),
    _einsum("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    _einsum("bhqd,bhkd->bhqk", (2, 2, 3, 4), (2, 2, 5, 4)),
    OpInfo("einsum_list", lambda a, b: cr.einsum("ij,j->i", [a, b]),
           lambda t, a, b: t.einsum("ij,j->i", [a, b]), _pairs(((3, 4), (4,)))),
    OpInfo("linear", CF.linear, lambda t, x, w, b: t.nn.functional.linear(x, w, b),
           _linear_samples(True)),
    OpInfo("linear_nobias", CF.linear, lambda t, x, w: t.nn.functional.linear(x, w),
           _linear_samples(False)),
]
