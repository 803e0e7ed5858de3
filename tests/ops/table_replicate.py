"""Op table: ops that replicate entries (repeat_interleave, meshgrid)."""
import numpy as np

import chainrule as cr
from chainrule.testing.opinfo import OpInfo, Sample


def _u(rng, shape):
    return rng.uniform(-2.0, 2.0, shape)


def _repeat_samples(rng):
    return [Sample((_u(rng, (3, 4)), 2), {}, "int, flattened"),
            Sample((_u(rng, (3, 4)), 3), {"dim": 1}, "int, dim=1"),
            Sample((_u(rng, (3, 4)), np.array([1, 0, 2], np.int64)), {"dim": 0}, "tensor"),
            Sample((_u(rng, (2, 3)), np.array([2], np.int64)), {"dim": -1}, "one count"),
            Sample((_u(rng, ()), 3), {}, "0-d"),
            Sample((_u(rng, (0, 2)), 2), {"dim": 0}, "empty")]


def _mesh_samples(rng):
    return [Sample((_u(rng, (3,)), _u(rng, (4,))), {"indexing": "ij"}, "ij"),
            Sample((_u(rng, (3,)), _u(rng, (4,))), {"indexing": "xy"}, "xy"),
            Sample((_u(rng, (2,)), _u(rng, (3,)), _u(rng, (4,))), {"indexing": "xy"}, "3 xy"),
            Sample((_u(rng, ()), _u(rng, (2,))), {"indexing": "ij"}, "0-d"),
            Sample((_u(rng, (3,)),), {"indexing": "ij"}, "one")]


OPS = [
    OpInfo("repeat_interleave", cr.repeat_interleave,
           lambda t, *a, **k: t.repeat_interleave(*a, **k), _repeat_samples),
    OpInfo("meshgrid", cr.meshgrid, lambda t, *a, **k: t.meshgrid(*a, **k), _mesh_samples),
]
