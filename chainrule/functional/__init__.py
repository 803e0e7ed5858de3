"""All differentiable ops, grouped by family (one file each)."""
from chainrule.functional.elementwise import *  # noqa: F401,F403
from chainrule.functional.shape import *  # noqa: F401,F403
from chainrule.functional.join import *  # noqa: F401,F403
from chainrule.functional.reduction import *  # noqa: F401,F403
from chainrule.functional.sorting import *  # noqa: F401,F403
from chainrule.functional.indexing import *  # noqa: F401,F403
from chainrule.functional.linalg import *  # noqa: F401,F403
from chainrule.functional.activation import *  # noqa: F401,F403
from chainrule.functional.scatter import *  # noqa: F401,F403
from chainrule.functional.pooling import (  # noqa: F401,E402
    max_pool1d, max_pool2d, avg_pool1d, adaptive_avg_pool1d)
from chainrule.functional.normalization import layer_norm, group_norm, rms_norm  # noqa: F401,E402
from chainrule.functional.conv import *  # noqa: F401,F403,E402

from chainrule.core.ops import ops as _ops  # noqa: E402

_ops.register(globals())  # Tensor's methods and the engine call the ops through this table
