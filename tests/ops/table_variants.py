"""Op table: pixel_shuffle / pixel_unshuffle / channel_shuffle (compositions of reshape
and permute), rrelu in eval mode (a leaky ReLU; the random training mode is checked in
tests/nn/test_functional_variants.py) and pdist."""
import numpy as np

import chainrule.nn.functional as CF
from chainrule.testing.opinfo import OpInfo, Sample


def _gen(specs):
    def gen(rng):
        return [Sample((rng.uniform(-2, 2, shape), r), {}, f"{shape} r={r}")
                for shape, r in specs]
    return gen


OPS = [
    OpInfo("pixel_shuffle", CF.pixel_shuffle,
           lambda t, *a: t.nn.functional.pixel_shuffle(*a),
           _gen([((1, 4, 2, 3), 2), ((2, 9, 1, 2), 3), ((8, 2, 2), 2), ((2, 3, 4, 1, 2), 1)])),
    OpInfo("pixel_unshuffle", CF.pixel_unshuffle,
           lambda t, *a: t.nn.functional.pixel_unshuffle(*a),
           _gen([((1, 1, 4, 6), 2), ((2, 2, 3, 3), 3), ((2, 4, 2), 2)])),
]


def _rows(shapes, spread=True):
    def gen(rng):  # rows far apart: norms are smooth there
        return [Sample((rng.uniform(-2, 2, s) + (np.arange(s[0])[:, None] * 3 if spread else 0),),
                       {}, f"{s}") for s in shapes]
    return gen


def _away_from_zero(shapes):
    def gen(rng):
        out = []
        for s in shapes:
            x = rng.uniform(-3, 3, s)
            out.append(Sample((np.where(np.abs(x) < 0.1, 0.5, x),), {}, f"{s}"))
        return out
    return gen


OPS += [
    OpInfo("channel_shuffle", CF.channel_shuffle,
           lambda t, *a: t.nn.functional.channel_shuffle(*a),
           _gen([((1, 4, 2, 3), 2), ((2, 6, 3), 3), ((2, 6, 1, 2, 2), 2), ((1, 3, 2), 1)])),
    OpInfo("rrelu_eval", lambda x: CF.rrelu(x, 0.1, 0.3),
           lambda t, x: t.nn.functional.rrelu(x, 0.1, 0.3),
           _away_from_zero([(), (5,), (2, 3), (0, 3)])),
    OpInfo("pdist", CF.pdist, lambda t, x: t.nn.functional.pdist(x),
           _rows([(4, 3), (2, 5), (1, 3)])),
    OpInfo("pdist_p1", lambda x: CF.pdist(x, p=1), lambda t, x: t.nn.functional.pdist(x, p=1),
           _rows([(4, 3)])),
    OpInfo("pdist_p3", lambda x: CF.pdist(x, p=3), lambda t, x: t.nn.functional.pdist(x, p=3),
           _rows([(3, 2)])),
]
