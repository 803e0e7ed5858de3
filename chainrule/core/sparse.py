"""Sparse COO gradients, as ``nn.Embedding(sparse=True)`` produces in torch.

:class:`SparseTensor` is the small subset of torch's ``torch.sparse_coo_tensor`` that
sparse gradients need: ``(ndim_sparse=1)`` row indices ``_indices()`` of shape
``(1, nnz)`` and values ``_values()`` of shape ``(nnz, *dense_dims)``, possibly
uncoalesced (repeated rows, summed by :meth:`coalesce`); ``to_dense()``; ``+`` with
another sparse tensor (concatenation, as torch) or a dense one (dense result).  It is
not an autograd node: it lives in ``.grad`` and is read by the sparse-aware
optimizers (``SGD``, ``Adagrad``, ``SparseAdam``).
"""
from chainrule import backend as B
from chainrule.core.tensor import Tensor, _make

__all__ = ["SparseTensor", "sparse_rows"]


class SparseTensor:
    """Rows ``indices`` (1-D int array) of a ``shape`` tensor holding ``values``."""

    is_sparse = True
    requires_grad = False
    grad_fn = None
    layout = "torch.sparse_coo"

    def __init__(self, indices, values, shape, coalesced=False):
        self._idx, self._val = indices, values
        self._shape = tuple(shape)
        self._coalesced = coalesced
        if values.shape[1:] != self._shape[1:] or indices.shape != values.shape[:1]:
            raise ValueError(f"SparseTensor: values {tuple(values.shape)} and indices "
                             f"{tuple(indices.shape)} do not fit shape {self._shape}")

    @property
    def shape(self):
        return self._shape

    def size(self, dim=None):
        return self.shape if dim is None else self._shape[dim]

    @property
    def ndim(self):
        return len(self._shape)

    def dim(self):
        return len(self._shape)

    @property
    def dtype(self):
        return _make(self._val[:0]).dtype

    @property
    def device(self):
        return B.device_of(self._val)

    def sparse_dim(self):
        return 1

    def dense_dim(self):
        return len(self._shape) - 1

    def _nnz(self):
        return int(self._idx.shape[0])

    def _indices(self):
        return _make(self._idx.reshape(1, -1))

    def _values(self):
        return _make(self._val)

    def indices(self):
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._indices()

    def values(self):
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._values()

    def is_coalesced(self):
        return self._coalesced

    def coalesce(self):
        """Sorted unique rows, repeated rows summed."""
        if self._coalesced:
            return self
        xp = B.xp_of(self._val)
        uniq, inv = xp.unique(self._idx, return_inverse=True)
        vals = xp.zeros((uniq.shape[0],) + self._val.shape[1:], self._val.dtype)
        B.scatter_add(vals, inv.reshape(-1), self._val)
        return SparseTensor(uniq.astype(self._idx.dtype), vals, self._shape, coalesced=True)

    def to_dense(self):
        xp = B.xp_of(self._val)
        out = xp.zeros(self._shape, self._val.dtype)
        B.scatter_add(out, self._idx, self._val)
        return _make(out)

    @property
    def array(self):
        raise RuntimeError("this is a sparse (COO) gradient: use .to_dense(), or "
                           "._indices() and ._values()")

    def __add__(self, other):
        if isinstance(other, SparseTensor):
            if other._shape != self._shape:
                raise RuntimeError(f"sparse add: shapes {self._shape} and {other._shape} "
                                   f"differ")
            xp = B.xp_of(self._val)
            return SparseTensor(xp.concatenate((self._idx, other._idx)),
                                xp.concatenate((self._val, other._val)), self._shape)
        if isinstance(other, Tensor):
            return other + self.to_dense()
        return NotImplemented

    __radd__ = __add__

    def mul(self, s):
        return SparseTensor(self._idx, self._val * s, self._shape, self._coalesced)

    __mul__ = __rmul__ = mul

    def __neg__(self):
        return self.mul(-1)

    def detach(self):
        return self

    def __repr__(self):
        return (f"tensor(indices={self._indices()!r},\n       values={self._values()!r},\n"
                f"       size={self._shape}, nnz={self._nnz()}, layout=torch.sparse_coo)")


def sparse_rows(indices, values, shape):
    """A (possibly uncoalesced) sparse gradient of ``shape`` with ``values[k]`` in row
    ``indices[k]`` (raw arrays)."""
    return SparseTensor(indices.reshape(-1), values.reshape((-1,) + tuple(shape[1:])), shape)
