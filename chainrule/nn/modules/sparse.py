"""``Embedding``: a lookup table of learnable vectors."""
from chainrule import backend as B
from chainrule.core.creation import empty
from chainrule.core.tensor import Tensor
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.parameter import Parameter
from chainrule.nn.modules.module import Module

__all__ = ["Embedding"]


class Embedding(Module):
    """Map integer indices to rows of a ``(num_embeddings, embedding_dim)`` table.

    Args:
        num_embeddings: size of the vocabulary.
        embedding_dim: size of each vector.
        padding_idx: this row is initialised to zeros and gets no gradient.
        max_norm: rows looked up are renormalised in place to norm <= max_norm.
        _weight: use this tensor (shared, not copied) as the table.
        _freeze: with ``_weight``, make it not require grad.

    Shape: ``(*)`` int64 -> ``(*, embedding_dim)``.  The table is
    initialised N(0, 1), like torch.

    >>> import chainrule as cr
    >>> Embedding(10, 3)(cr.tensor([[1, 2], [3, 4]])).shape
    chainrule.Size([2, 2, 3])
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        if padding_idx is not None:
            if padding_idx > 0 and padding_idx >= num_embeddings:
                raise ValueError("Padding_idx must be within num_embeddings")
            if padding_idx < 0:
                if padding_idx < -num_embeddings:
                    raise ValueError("Padding_idx must be within num_embeddings")
                padding_idx = num_embeddings + padding_idx
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            self.weight = Parameter(empty((num_embeddings, embedding_dim), dtype=dtype,
                                          device=device), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: shape of _weight {tuple(_weight.shape)} does "
                                 f"not match num_embeddings and embedding_dim "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self):
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0
            self.weight._version[0] += 1

    def _renorm(self, input):
        """torch's ``embedding_renorm_``: rescale looked-up rows to max_norm."""
        w = self.weight.array
        xp = B.xp_of(w)
        rows = xp.unique(input.array.reshape(-1))
        sub = w[rows].astype("float64")
        if self.norm_type == float("inf"):
            norms = xp.abs(sub).max(axis=1)
        else:
            norms = (xp.abs(sub) ** self.norm_type).sum(axis=1) ** (1.0 / self.norm_type)
        scale = xp.where(norms > self.max_norm, self.max_norm / (norms + 1e-7), 1.0)
        w[rows] = (sub * scale[:, None]).astype(w.dtype)
        self.weight._version[0] += 1

    def forward(self, input):
        if not isinstance(input, Tensor) or input.array.dtype.kind not in "iu":
            raise RuntimeError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): "
                               f"expected an integer index tensor, got "
                               f"{getattr(input, 'dtype', type(input).__name__)}")
        if self.max_norm is not None:
            self._renorm(input)
        return F.embedding(input, self.weight, self.padding_idx, None, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += ", scale_grad_by_freq=True"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose table is ``embeddings`` (2-D, shared not copied);
        ``freeze=True`` (default) keeps it fixed during training."""
        if embeddings.ndim != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(num_embeddings=rows, embedding_dim=cols, _weight=embeddings,
                   _freeze=freeze, padding_idx=padding_idx, max_norm=max_norm,
                   norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq,
                   sparse=sparse)
