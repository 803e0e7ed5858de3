"""``chainrule.nn.functional``: torch.nn.functional's names on chainrule ops."""
from chainrule import backend as B
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, _make
from chainrule.functional.elementwise import relu, sigmoid, tanh  # noqa: F401
from chainrule.functional.linalg import linear  # noqa: F401
from chainrule.functional.activation import *  # noqa: F401,F403
from chainrule.functional.activation import __all__ as _act_all

__all__ = ["relu", "sigmoid", "tanh", "linear", "pad", "embedding"] + list(_act_all)


def pad(input, pad, mode="constant", value=None):
    """Pad ``input`` (see ``chainrule.functional.shape.pad``)."""
    from chainrule.functional import shape as _shape
    fn = getattr(_shape, "pad", None)
    if fn is None:
        raise NotImplementedError("pad is not available yet in chainrule.functional.shape")
    return fn(input, pad, mode=mode, value=value)


# ---------------------------------------------------------------- embedding
class Embedding(Function):
    save_inputs = False

    def __init__(self, idx, padding_idx):
        self.idx, self.padding_idx = idx, padding_idx

    def forward(self, w):
        return w[self.idx]

    def backward(self, gy):  # rows of gy scatter-added into the looked-up rows
        return EmbeddingGrad(self.idx, self.padding_idx, self._in_meta[0][0])(gy)


class EmbeddingGrad(Function):
    save_inputs = False

    def __init__(self, idx, padding_idx, shape):
        self.idx, self.padding_idx, self.shape = idx, padding_idx, shape

    def forward(self, gy):
        xp = B.xp_of(gy)
        gw = xp.zeros(self.shape, dtype=gy.dtype)
        B.scatter_add(gw, self.idx.reshape(-1), gy.reshape(-1, self.shape[1]))
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw

    def backward(self, ggw):  # adjoint of scatter-add is gather (padding row masked)
        if self.padding_idx is not None:
            keep = B.xp_of(ggw._data).ones((self.shape[0], 1), dtype=ggw._data.dtype)
            keep[self.padding_idx] = 0
            ggw = ggw * _make(keep)
        return Embedding(self.idx, None)(ggw)


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
