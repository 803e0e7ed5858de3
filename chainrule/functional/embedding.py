"""Embedding lookup: rows of a weight matrix gathered by integer indices.

The op is indexing's gather (``_Take``) with an index of rows; its gradient
is indexing's scatter-add (``_TakeGrad``, ``backend.scatter_add``), with the
``padding_idx`` row excluded.  ``chainrule.functional.embedding`` names the
function (the package re-exports it over this module's name).
"""
from chainrule.core.tensor import Tensor
from chainrule.functional.indexing import _Idx, _Take, _TakeGrad

__all__ = ["embedding"]


class Embedding(_Take):
    """``weight[idx]``: rows gathered by an integer index array of any shape."""

    def __init__(self, idx, padding_idx):
        super().__init__(_Idx(None, (idx,)))
        self.padding_idx = padding_idx

    def backward(self, gy):  # rows of gy scatter-added into the looked-up rows
        zero = None if self.padding_idx is None else _Idx((self.padding_idx, Ellipsis), None)
        return _TakeGrad(self.idx, self._in_meta[0][0], zero)(gy)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` (num_embeddings, dim) by integer ``input``;
    the ``padding_idx`` row receives no gradient."""
    if not isinstance(input, Tensor) or input._data.dtype.kind not in "iu":
        raise RuntimeError("embedding: input must be an integer (index) tensor, got "
                           f"{getattr(input, 'dtype', type(input).__name__)}")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be 2-D, got {tuple(weight.shape)}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are "
                                  "not supported")
    n = weight.shape[0]
    idx = input._data
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise IndexError(f"embedding: index out of range: indices must be in [0, {n}), got "
                         f"min {int(idx.min())} and max {int(idx.max())}")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx must be within num_embeddings ({n})")
        padding_idx %= n
    return Embedding(idx, padding_idx)(weight)
