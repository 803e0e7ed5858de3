"""``chainrule.nn.functional``: torch.nn.functional's names, re-exported from
the op families in ``chainrule.functional`` (each op is defined once there;
where torch has the same op in ``torch`` and ``torch.nn.functional``, both
names are the same object here).  ``tests/test_namespace.py`` checks the
names against torch's."""
from chainrule.functional.activation import *  # noqa: F401,F403
from chainrule.functional.activation import __all__ as _activation
from chainrule.functional.attention import (  # noqa: F401
    multi_head_attention_forward, scaled_dot_product_attention)
from chainrule.functional.conv import *  # noqa: F401,F403
from chainrule.functional.conv import __all__ as _conv
from chainrule.functional.dropout import *  # noqa: F401,F403
from chainrule.functional.dropout import __all__ as _dropout
from chainrule.functional.elementwise import relu, sigmoid, tanh  # noqa: F401
from chainrule.functional.embedding import *  # noqa: F401,F403
from chainrule.functional.embedding import __all__ as _embedding
from chainrule.functional.join import pad  # noqa: F401
from chainrule.functional.linalg import bilinear, linear  # noqa: F401
from chainrule.functional.loss import *  # noqa: F401,F403
from chainrule.functional.loss import __all__ as _loss
from chainrule.functional.loss_ctc import ctc_loss  # noqa: F401
from chainrule.functional.loss_margin import *  # noqa: F401,F403
from chainrule.functional.loss_margin import __all__ as _loss_margin
from chainrule.functional.normalization import *  # noqa: F401,F403
from chainrule.functional.normalization import __all__ as _normalization
from chainrule.functional.pooling import *  # noqa: F401,F403
from chainrule.functional.pooling import __all__ as _pooling
from chainrule.functional.resample import *  # noqa: F401,F403
from chainrule.functional.resample import __all__ as _resample
from chainrule.functional.unfold import fold, unfold  # noqa: F401
from chainrule.functional.variants import *  # noqa: F401,F403
from chainrule.functional.variants import __all__ as _variants

__all__ = ["relu", "sigmoid", "tanh", "pad", "linear", "bilinear", "fold", "unfold",
           "multi_head_attention_forward", "scaled_dot_product_attention", "ctc_loss",
           *_activation, *_conv, *_dropout, *_embedding, *_loss, *_loss_margin,
           *_normalization, *_pooling, *_resample, *_variants]
# An op torch has in torch.* too is one object in both places: take chainrule.X, the
# same function taking torch.*'s keywords (axis=, keepdims=, out=; chainrule/functional).
from chainrule import functional as _torch_ns  # noqa: E402

globals().update({_n: getattr(_torch_ns, _n) for _n in __all__
                  if getattr(getattr(_torch_ns, _n, None), "__wrapped__", None) is globals()[_n]})
