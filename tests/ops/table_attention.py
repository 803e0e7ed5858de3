"""Op table: attention (scaled_dot_product_attention, a composition)."""
import numpy as np

import chainrule.nn.functional as CF
from chainrule.testing.opinfo import OpInfo, Sample, nograd


def _samples(rng):
    def u(*shape):
        return rng.uniform(-1.0, 1.0, shape)
    mask = rng.random((3, 4)) > 0.3
    mask[:, 0] = True
    return [Sample((u(2, 3, 5), u(2, 4, 5), u(2, 4, 2)), {}, "plain"),
            Sample((u(2, 2, 3, 4), u(2, 2, 3, 4), u(2, 2, 3, 4)), {"is_causal": True}, "causal"),
            Sample((u(1, 3, 5), u(1, 4, 5), u(1, 4, 5), nograd(mask)), {}, "bool mask"),
            Sample((u(1, 3, 5), u(1, 4, 5), u(1, 4, 5), nograd(u(3, 4))), {"scale": 0.5},
                   "float mask")]


OPS = [OpInfo("scaled_dot_product_attention", CF.scaled_dot_product_attention,
              lambda t, *a, **k: t.nn.functional.scaled_dot_product_attention(*a, **k),
              _samples)]
