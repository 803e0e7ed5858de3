"""Op table: pixel_shuffle / pixel_unshuffle (compositions of reshape and permute)."""
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
