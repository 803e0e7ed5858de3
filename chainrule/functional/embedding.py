"""Embedding lookup: rows of a weight matrix gathered by integer indices.

The op is indexing's gather (``_Take``) with an index of rows; its gradient
is indexing's scatter-add (``_TakeGrad``, ``backend.scatter_add``), with the
``padding_idx`` row excluded.  ``chainrule.functional.embedding`` names the
function (the package re-exports it over this module's name).
"""
from chainrule.core.grad_mode import is_grad_enabled
from chainrule.core.sparse import sparse_rows
from chainrule.core.tensor import Tensor
from chainrule.functional.indexing import _Idx, _Take, _TakeGrad

__all__ = ["embedding"]


class Embedding(_Take):
    """``weight[idx]``: rows gathered by an integer index array of any shape."""

    def __init__(self, idx, padding_idx, sparse=False):
        super().__init__(_Idx(None, (idx,)))
        self.padding_idx, self.sparse = padding_idx, sparse

    def backward(self, gy):  # rows of gy scatter-added into the looked-up rows
        if self.sparse and not is_grad_enabled():
            # torch's sparse gradient: uncoalesced COO rows, the padding row left out
            # (a create_graph backward takes the dense, differentiable path below)
            idx, vals = self.idx.adv[0].reshape(-1), gy._data.reshape(-1, gy.shape[-1])
            if self.padding_idx is not None:
                keep = idx != self.padding_idx
                idx, vals = idx[keep], vals[keep]
            return sparse_rows(idx, vals, self._in_meta[0][0])
        zero = None if self.padding_idx is None else _Idx((self.padding_idx, Ellipsis), None)
        return _TakeGrad(self.idx, self._in_meta[0][0], zero)(gy)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` (num_embeddings, dim) by integer ``input``;
    the ``padding_idx`` row receives no gradient.  ``sparse=True``: ``weight.grad`` is a
    sparse COO tensor of the looked-up rows (``chainrule.core.sparse.SparseTensor``)."""
    if not isinstance(input, Tensor) or input._data.dtype.kind not in "iu":
        raise RuntimeError("embedding: input must be an integer (index) tensor, got "
                           f"{getattr(input, 'dtype', type(input).__name__)}")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be 2-D, got {tuple(weight.shape)}")
    if max_norm is not None or scale_grad_by_freq:
        raise NotImplementedError("embedding: max_norm and scale_grad_by_freq are not "
                                  "supported")
    n = weight.shape[0]
    idx = input._data
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise IndexError(f"embedding: index out of range: indices must be in [0, {n}), got "
                         f"min {int(idx.min())} and max {int(idx.max())}")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx must be within num_embeddings ({n})")
        padding_idx %= n
    return Embedding(idx, padding_idx, bool(sparse))(weight)
