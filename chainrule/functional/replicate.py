"""Ops that replicate entries: ``repeat_interleave`` and ``meshgrid``.

Both are compositions (``index_select`` and ``expand``), so they need no backward of
their own: the gradient sums over the copies through those ops.

>>> import chainrule as cr
>>> cr.repeat_interleave(cr.tensor([1, 2]), 2)
tensor([1, 1, 2, 2])
>>> [g.shape for g in cr.meshgrid(cr.arange(3), cr.arange(2), indexing="ij")]
[chainrule.Size([3, 2]), chainrule.Size([3, 2])]
"""
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core.creation import tensor
from chainrule.core.tensor import Tensor
from chainrule.functional._util import norm_dim
from chainrule.functional.scatter import index_select
from chainrule.functional.shape import expand, reshape

__all__ = ["repeat_interleave", "meshgrid"]


def _counts(repeats, n, op):
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1 or repeats._data.dtype.kind not in "iu":
            raise RuntimeError(f"{op}: repeats must be an int or a 1-D integer tensor, "
                               f"got {tuple(repeats.shape)} {repeats.dtype}")
        r = B.asnumpy(repeats._data).astype(np.int64)
        r = np.broadcast_to(r, (n,)) if r.size == 1 else r
    elif isinstance(repeats, numbers.Integral):
        r = np.full(n, int(repeats), np.int64)
    else:
        raise TypeError(f"{op}: repeats must be an int or a tensor, got {type(repeats).__name__}")
    if r.shape != (n,):
        raise RuntimeError(f"{op}: repeats must have {n} entries (the size of the repeated "
                           f"dim), got {r.shape[0]}")
    if (r < 0).any():
        raise RuntimeError(f"{op}: repeats must be non-negative, got {r.tolist()}")
    return r


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each entry of ``input`` along ``dim`` (flattened when None) ``repeats``
    times; ``repeat_interleave(counts)`` gives ``arange(len(counts))`` repeated."""
    if repeats is None:  # torch.repeat_interleave(repeats_tensor)
        counts = _counts(input, input.shape[0] if input.ndim else 1, "repeat_interleave")
        return tensor(np.repeat(np.arange(counts.shape[0]), counts))
    if dim is None:
        input, dim = reshape(input, -1), 0
    d = norm_dim(dim, max(input.ndim, 1), "repeat_interleave")
    n = input.shape[d] if input.ndim else 1
    counts = _counts(repeats, n, "repeat_interleave")
    if output_size is not None and int(counts.sum()) != output_size:
        raise RuntimeError(f"repeat_interleave: output_size={output_size} but the repeats "
                           f"sum to {int(counts.sum())}")
    index = tensor(np.repeat(np.arange(n), counts), device=B.device_of(input._data))
    return index_select(input if input.ndim else reshape(input, 1), d, index)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D (or 0-d) tensors; ``indexing='ij'`` (torch's default)
    or ``'xy'`` (the first two output dims swapped).  The grids are expanded views."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expects 0-D or 1-D tensors, got {tuple(t.shape)}")
    flat = [reshape(t, -1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    grids = []
    for i, t in enumerate(flat):
        view = [1] * len(flat)
        view[i] = shape[i]
        grids.append(expand(reshape(t, *view), *shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)
