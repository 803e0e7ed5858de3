"""All differentiable ops, grouped by family (one file each), in import order:
each family imports only families above it.  ``chainrule`` re-exports these
(torch.* names); ``chainrule.nn.functional`` re-exports the torch.nn.functional
names from the family files."""
from chainrule.functional.elementwise import *  # noqa: F401,F403
from chainrule.functional.special import *  # noqa: F401,F403
from chainrule.functional.shape import *  # noqa: F401,F403
from chainrule.functional.indexing import *  # noqa: F401,F403
from chainrule.functional.masking import *  # noqa: F401,F403
from chainrule.functional.join import *  # noqa: F401,F403
from chainrule.functional.reduction import *  # noqa: F401,F403
from chainrule.functional.sorting import *  # noqa: F401,F403
from chainrule.functional.linalg import *  # noqa: F401,F403
from chainrule.functional.activation import *  # noqa: F401,F403
from chainrule.functional.dropout import alpha_dropout, dropout, feature_alpha_dropout  # noqa: F401
from chainrule.functional.scatter import *  # noqa: F401,F403
from chainrule.functional.replicate import *  # noqa: F401,F403
from chainrule.functional.more_ops import *  # noqa: F401,F403
from chainrule.functional.variants import *  # noqa: F401,F403
from chainrule.functional.pooling import (  # noqa: F401
    max_pool1d, max_pool2d, avg_pool1d, adaptive_avg_pool1d)
from chainrule.functional.normalization import layer_norm, group_norm, rms_norm  # noqa: F401
from chainrule.functional.conv import *  # noqa: F401,F403
from chainrule.functional.rnn_cells import gru_cell, rnn_relu_cell, rnn_tanh_cell  # noqa: F401
from chainrule.functional.attention import (  # noqa: F401
    masked_softmax, multi_head_attention_forward, scaled_dot_product_attention)

from chainrule.core.ops import ops as _ops  # noqa: E402
from chainrule.functional._util import numpy_keywords as _numpy_keywords  # noqa: E402

# torch.* ops and Tensor methods take NumPy's axis=/keepdims= for dim=/keepdim=
# (torch.nn.functional's do not, so the family files keep the plain functions).
globals().update({_n: _numpy_keywords(_f) for _n, _f in list(globals().items())
                  if not _n.startswith("_") and callable(_f) and not isinstance(_f, type)})

_ops.register(globals())  # Tensor's methods and the engine call the ops through this table
