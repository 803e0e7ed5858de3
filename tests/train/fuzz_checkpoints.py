"""Fuzz the checkpoint loader with mutated real checkpoints (Hypothesis).

Each example takes a real checkpoint written by ``chainrule train`` and damages it:
byte flips, truncation, or a JSON mutation of the header (a tensor entry's dtype,
shape or offsets, or any value of the nested structure: epoch, meta, model_kwargs,
optimizer state...).  Then it goes through the three readers the CLI uses:
``chainrule.load``, ``model_from_checkpoint`` (eval, predict) and ``build`` of a
resumed run (``train --resume``).  Each must accept the file or refuse it with a
``CheckpointError`` "can't read checkpoint FILE: reason"; anything else is counted
as a traceback.  Peak traced memory (tracemalloc, which sees NumPy's buffers) and
time per example are recorded.

    PYTHONPATH=. python tests/train/fuzz_checkpoints.py --n 10000

prints the counts; ``test_fuzz_checkpoints.py`` runs a few hundred in CI.
"""
import argparse
import contextlib
import io
import json
import os
import struct
import sys
import tempfile
import time
import tracemalloc
from collections import Counter

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chainrule.cli.common import model_from_checkpoint
from chainrule.train.checkpoint import CheckpointError
from chainrule.train.config import ConfigError, RunConfig
from chainrule.train.run import build, train
from chainrule.utils.serialization import load

MEMORY_BOUND = 64 * 2 ** 20  # bytes a single load may trace at its peak
SLOW = 5.0                   # seconds: an example slower than this counts as a hang

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70)
    | st.sampled_from([10 ** 10, -1, 0, 2 ** 63, 2 ** 31]) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=6) | st.sampled_from(
        ["__tensor__", "__dict__", "__list__", "__kdict__", "__float__", "t0"]), inner,
        max_size=3), max_leaves=8)


def make_base(folder):
    """A real run (mlp on digits, 1 epoch, early stopping on): its last.ckpt bytes."""
    cfg = RunConfig(data="digits", epochs=1, out=os.path.join(folder, "base"), patience=3,
                    progress=False, verbose=False, model_args={"hidden_sizes": (16,)})
    with contextlib.redirect_stdout(io.StringIO()):
        train(cfg)
    with open(os.path.join(folder, "base", "last.ckpt"), "rb") as f:
        return f.read()


def _split(data):
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def _join(header, body):
    hb = json.dumps(header).encode()
    return struct.pack("<Q", len(hb)) + hb + body


def _paths(obj, prefix=()):
    """Every (path, value) in a JSON document."""
    yield prefix
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) \
        if isinstance(obj, list) else ()
    for k, v in items:
        yield from _paths(v, prefix + (k,))


def _set(obj, path, value):
    if not path:
        return value
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value
    return None


@st.composite
def mutations(draw, base):
    kind = draw(st.sampled_from(["flip", "truncate", "entry", "structure", "structure"]))
    if kind == "flip":
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        return kind, bytes(data)
    if kind == "truncate":
        return kind, base[:draw(st.integers(0, len(base) - 1))]
    header, body = _split(base)
    if kind == "entry":
        name = draw(st.sampled_from(sorted(k for k in header if k != "__metadata__")))
        field = draw(st.sampled_from(["dtype", "shape", "data_offsets", None]))
        value = draw(json_values | st.lists(st.integers(-2 ** 40, 2 ** 40), max_size=4))
        if field is None:
            header[name] = value
        else:
            header[name][field] = value
        return kind, _join(header, body)
    structure = json.loads(header["__metadata__"]["chainrule.structure"])
    paths = list(_paths(structure))
    path = paths[draw(st.integers(0, len(paths) - 1))]
    root = _set(structure, path, draw(json_values))
    header["__metadata__"]["chainrule.structure"] = json.dumps(
        structure if path else root)
    return kind, _join(header, body)


def check_one(data, folder):
    """``(outcome, peak bytes, seconds)`` of one mutated file through the three
    readers: 'accepted', 'refused' or 'traceback: <type>' (the first one that isn't
    a CheckpointError)."""
    path = os.path.join(folder, "fuzz.ckpt")
    with open(path, "wb") as f:
        f.write(data)
    outcome = "accepted"
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for read in (_plain_load, model_from_checkpoint, _resume):
                try:
                    read(path)
                except CheckpointError as e:
                    if f"can't read checkpoint {path}" not in str(e):
                        outcome = f"misworded: {str(e)[:60]}"
                        break
                    outcome = "refused"
    except Exception as e:  # noqa: BLE001 - what the fuzzer is looking for
        outcome = f"traceback: {type(e).__name__}: {str(e)[:80]}"
        if os.environ.get("FUZZ_TRACEBACKS"):
            import traceback
            traceback.print_exc()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return outcome, peak, seconds


def _plain_load(path):
    try:
        load(path)
    except (RuntimeError, OSError) as e:
        raise CheckpointError(f"can't read checkpoint {path}: {e}") from None


def _resume(path):
    try:
        build(RunConfig(resume=path, out=os.path.dirname(path), progress=False,
                        verbose=False))
    except ConfigError as e:  # a resumed setting that the config refuses: worded there
        raise CheckpointError(f"can't read checkpoint {path}: {e}") from None


def run(n, seed=0, verbose=True):
    """Fuzz ``n`` examples; returns the Counter of outcomes and the worst peak/time."""
    folder = tempfile.mkdtemp(prefix="fuzz-ckpt-")
    base = make_base(folder)
    counts, kinds = Counter(), Counter()
    worst = {"peak": 0, "seconds": 0.0}

    @settings(max_examples=n, database=None, deadline=None, derandomize=seed == 0,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(mutations(base))
    def fuzz(case):
        kind, data = case
        outcome, peak, seconds = check_one(data, folder)
        key = outcome if not outcome.startswith(("traceback", "misworded")) else outcome
        counts[key] += 1
        kinds[kind] += 1
        if peak > worst["peak"]:
            worst["peak"], worst["example"] = peak, data
        worst["seconds"] = max(worst["seconds"], seconds)
        if verbose and sum(counts.values()) % 1000 == 0:
            print(f"  {sum(counts.values())} examples ...", file=sys.stderr, flush=True)
    fuzz()
    return counts, kinds, worst


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10000, help="examples (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    counts, kinds, worst = run(args.n, seed=args.seed)
    total = sum(counts.values())
    bad = {k: v for k, v in counts.items() if k.startswith(("traceback", "misworded"))}
    print(f"{total} mutated checkpoints in {time.perf_counter() - t0:.0f}s "
          f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
    print(f"accepted {counts['accepted']}, refused {counts['refused']}, "
          f"tracebacks {sum(bad.values())}")
    for k, v in sorted(bad.items(), key=lambda kv: -kv[1])[:20]:
        print(f"  {v:5d}  {k}")
    print(f"peak traced memory of one example: {worst['peak'] / 2 ** 20:.1f} MiB "
          f"(bound {MEMORY_BOUND / 2 ** 20:.0f} MiB); slowest: {worst['seconds']:.2f}s "
          f"(hang threshold {SLOW:.0f}s)")
    ok = not bad and worst["peak"] <= MEMORY_BOUND and worst["seconds"] < SLOW
    if not ok:
        with open("fuzz-worst.ckpt", "wb") as f:
            f.write(worst["example"])
        print("the example with the highest peak memory is in fuzz-worst.ckpt")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
