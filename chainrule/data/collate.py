"""Merging a list of samples into a batch, with ``torch``'s rules.

========================  =============================================
sample element            batch element
========================  =============================================
Tensor                    stacked Tensor (new leading dimension)
NumPy array               stacked Tensor of the array's dtype
NumPy scalar              1-D Tensor of its dtype
Python float              float64 Tensor (as torch does)
Python int / bool         int64 / bool Tensor
str / bytes               the list unchanged
dict (Mapping)            dict of collated values, key by key
namedtuple                the same namedtuple of collated fields
tuple / list              a *list* of collated fields (torch's behaviour)
========================  =============================================
"""
import collections.abc as cabc
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor, from_array
from chainrule.functional import stack

__all__ = ["default_collate", "default_convert"]

_BAD_KINDS = "SaUO"


def _stack_tensors(batch):
    shapes = {tuple(t.shape) for t in batch}
    if len(shapes) > 1:
        raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, "
                           f"but got shapes {sorted(shapes)}")
    if any(t.requires_grad for t in batch):
        return stack(batch, 0)
    xp = B.xp_of(batch[0].array)
    return from_array(xp.stack([t.array for t in batch]))


def default_collate(batch):
    """Collate a list of samples into a batch (see the module table).

    >>> b = default_collate([(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 0)])
    >>> b[0].shape, b[0].dtype, b[1].tolist()
    (chainrule.Size([2, 2]), chainrule.float32, [1, 0])
    >>> default_collate([{"x": 1.5}, {"x": 2.5}])["x"].dtype
    chainrule.float64
    """
    if not isinstance(batch, cabc.Sequence) or isinstance(batch, (str, bytes)):
        batch = list(batch)
    if not batch:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in _BAD_KINDS:
            raise TypeError(f"default_collate: can't collate NumPy arrays of dtype {elem.dtype}")
        shapes = {np.shape(b) for b in batch}
        if len(shapes) > 1:
            raise RuntimeError(f"default_collate: stack expects each array to be equal size, "
                               f"but got shapes {sorted(shapes)}")
        return from_array(np.stack(batch))
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        if elem.dtype.kind in _BAD_KINDS:
            raise TypeError(f"default_collate: can't collate NumPy scalars of dtype {elem.dtype}")
        return from_array(np.asarray(batch))
    if isinstance(elem, bool):
        return from_array(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return from_array(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, float):
        return from_array(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, cabc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, cabc.Sequence):
        n = len(elem)
        if any(len(b) != n for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, (tuple, list)):
            return fields
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError("default_collate: batch must contain tensors, numpy arrays, numbers, "
                    f"dicts or lists; found {type(elem).__name__}")


def default_convert(data):
    """What the loader applies when automatic batching is off (``batch_size=None``):
    NumPy arrays/scalars become tensors, containers are converted element-wise."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in _BAD_KINDS:
        return from_array(data)
    if isinstance(data, np.generic) and data.dtype.kind not in _BAD_KINDS:
        return from_array(np.asarray(data))
    if isinstance(data, cabc.Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data
