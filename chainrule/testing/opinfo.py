"""OpInfo: one declarative entry per op drives the generic op tests.

An entry names the chainrule callable, the torch reference (or None when
torch lacks the op) and a sample generator.  ``tests/ops/test_op_table.py``
turns every entry into: forward and gradients against torch (float64),
output dtype against torch (float32), float64 gradcheck and, for primitives,
gradgradcheck.  A layout axis re-runs the torch comparison (and gradcheck on
the transposed layout) with every differentiable input replaced by a
non-contiguous view of the same values (see :mod:`chainrule.testing.layouts`),
and a device axis compares CUDA with CPU when CuPy sees a GPU.  A row opts
out of an axis only by naming it, with the reason, in ``skip_layouts``
(keys: a layout of :data:`chainrule.testing.layouts.LAYOUTS`, ``"cuda"``,
or ``"*"`` for every layout).  Users can describe their own ops the same way.
"""
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from chainrule.testing.layouts import LAYOUTS

__all__ = ["OpInfo", "Sample", "nograd", "unary_samples", "binary_samples",
           "UNARY_SHAPES", "BINARY_SHAPES"]


class nograd:
    """Wrap a float array that is a tensor input but must not require grad."""

    def __init__(self, array):
        self.array = np.asarray(array)


@dataclass
class Sample:
    args: tuple
    kwargs: dict = field(default_factory=dict)
    desc: str = ""


@dataclass
class OpInfo:
    name: str
    op: Callable
    ref: Optional[Callable]          # ref(torch, *args, **kwargs) or None
    samples: Callable                # samples(rng) -> list[Sample]
    grad: bool = True                # outputs are differentiable
    gradgrad: bool = True            # check second derivatives too
    atol: float = 1e-7               # float64 comparison with torch
    rtol: float = 1e-6
    gc_atol: float = 1e-5            # gradcheck tolerances
    gc_rtol: float = 1e-3
    gc_eps: float = 1e-6
    ref_grad: bool = True            # compare gradients with torch
    dtype_check: bool = True         # compare float32 output dtype with torch
    outputs: Optional[Callable] = None  # pick the compared outputs from a result
    note: str = ""
    extra: Any = None
    skip_layouts: dict = field(default_factory=dict)  # axis -> why this row skips it

    def layout_skip(self, axis):
        """The reason this row skips ``axis`` (a layout or ``"cuda"``), or ``""``."""
        if axis != "cuda" and "*" in self.skip_layouts:
            return self.skip_layouts["*"]
        return self.skip_layouts.get(axis, "")

    def __post_init__(self):
        bad = set(self.skip_layouts) - {"*", "cuda", *LAYOUTS}
        if bad:
            raise ValueError(f"OpInfo {self.name}: unknown skip_layouts keys {sorted(bad)}")
        empty = [k for k, why in self.skip_layouts.items() if not why]
        if empty:
            raise ValueError(f"OpInfo {self.name}: skip_layouts {empty} need a reason")


UNARY_SHAPES = [(), (5,), (2, 3), (0, 3), (1, 4, 1)]
BINARY_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((3, 1), (1, 4)), ((), (2, 2)),
                 ((2, 1, 3), (4, 1)), ((0, 3), (1, 3)), ((4,), ())]


def _draw(rng, shape, low, high):
    return rng.uniform(low, high, size=shape)


def unary_samples(low=-2.0, high=2.0, shapes=UNARY_SHAPES, kwargs=None):
    kwargs = kwargs or [{}]

    def gen(rng):
        return [Sample((_draw(rng, s, low, high),), dict(kw), f"shape={s} {kw}")
                for s in shapes for kw in kwargs]
    return gen


def binary_samples(low=-2.0, high=2.0, low2=None, high2=None, shapes=BINARY_SHAPES,
                   scalar=None):
    """Pairs of broadcastable arrays; ``scalar`` adds tensor-with-Python-number cases."""
    low2 = low if low2 is None else low2
    high2 = high if high2 is None else high2

    def gen(rng):
        out = [Sample((_draw(rng, a, low, high), _draw(rng, b, low2, high2)), {},
                      f"{a} with {b}") for a, b in shapes]
        if scalar is not None:
            out.append(Sample((_draw(rng, (2, 3), low, high), scalar), {}, f"(2,3) with {scalar}"))
            out.append(Sample((scalar, _draw(rng, (3,), low2, high2)), {}, f"{scalar} with (3,)"))
        return out
    return gen
