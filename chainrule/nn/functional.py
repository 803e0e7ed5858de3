"""``chainrule.nn.functional``: torch.nn.functional's names on chainrule ops."""
from chainrule import backend as B
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor, from_array
from chainrule.functional.elementwise import relu, sigmoid, tanh  # noqa: F401
from chainrule.functional.linalg import linear  # noqa: F401
from chainrule.functional.join import pad as _pad
from chainrule.functional.activation import *  # noqa: F401,F403
from chainrule.functional.activation import __all__ as _act_all
from chainrule.functional.loss import *  # noqa: F401,F403
from chainrule.functional.loss import __all__ as _loss_all

__all__ = ["relu", "sigmoid", "tanh", "linear", "pad", "embedding"] + list(_act_all) + \
    list(_loss_all)


def pad(input, pad, mode="constant", value=None):
    """Pad ``input`` like ``torch.nn.functional.pad`` (see ``chainrule.functional.join.pad``)."""
    return _pad(input, pad, mode=mode, value=value)


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
            keep = B.xp_of(ggw.array).ones((self.shape[0], 1), dtype=ggw.array.dtype)
            keep[self.padding_idx] = 0
            ggw = ggw * from_array(keep)
        return Embedding(self.idx, None)(ggw)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` (num_embeddings, dim) by integer ``input``;
    the ``padding_idx`` row receives no gradient."""
    if not isinstance(input, Tensor) or input.array.dtype.kind not in "iu":
        raise RuntimeError("embedding: input must be an integer (index) tensor, got "
                           f"{getattr(input, 'dtype', type(input).__name__)}")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be 2-D, got {tuple(weight.shape)}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are "
                                  "not supported")
    n = weight.shape[0]
    idx = input.array
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise IndexError(f"embedding: index out of range: indices must be in [0, {n}), got "
                         f"min {int(idx.min())} and max {int(idx.max())}")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx must be within num_embeddings ({n})")
        padding_idx %= n
    return Embedding(idx, padding_idx)(weight)


# ---------------------------------------------------------------- bilinear
def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]``."""
    from chainrule.functional.linalg import einsum
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out, in1, in2), got "
                           f"{tuple(weight.shape)}")
    if tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got "
                           f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): inputs {tuple(input1.shape)} and "
                           f"{tuple(input2.shape)} don't match weight {tuple(weight.shape)}")
    y = einsum("...i,oij,...j->...o", input1, weight, input2)
    return y if bias is None else y + bias


__all__.append("bilinear")
from chainrule.functional.pooling import *  # noqa: F401,F403,E402
from chainrule.functional.normalization import *  # noqa: F401,F403,E402
from chainrule.functional.resample import *  # noqa: F401,F403,E402
from chainrule.functional.channel_dropout import *  # noqa: F401,F403,E402
from chainrule.functional import (  # noqa: E402
    pooling as _fpool, normalization as _fnorm, resample as _fres, channel_dropout as _fcd)
__all__ += _fpool.__all__ + _fnorm.__all__ + _fres.__all__ + _fcd.__all__
from chainrule.functional.conv import *  # noqa: F401,F403,E402
from chainrule.functional.unfold import unfold, fold  # noqa: F401,E402
__all__ += ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]
