"""Layer families, one file each; all re-exported by ``chainrule.nn``."""
from chainrule.nn.modules.module import Module  # noqa: F401
from chainrule.nn.modules.containers import *  # noqa: F401,F403
from chainrule.nn.modules.linear import *  # noqa: F401,F403
from chainrule.nn.modules.flatten import *  # noqa: F401,F403
from chainrule.nn.modules.dropout import *  # noqa: F401,F403
from chainrule.nn.modules.sparse import *  # noqa: F401,F403
from chainrule.nn.modules.activation import *  # noqa: F401,F403
from chainrule.nn.modules import (  # noqa: F401
    containers as _c, linear as _l, flatten as _f, dropout as _d, sparse as _s,
    activation as _a)

__all__ = ["Module"] + [n for m in (_c, _l, _f, _d, _s, _a) for n in m.__all__]
from chainrule.nn.modules.rnn_cells import *  # noqa: F401,F403,E402
from chainrule.nn.modules.rnn import *  # noqa: F401,F403,E402
from chainrule.nn.modules import rnn_cells as _rnnc, rnn as _rnn  # noqa: E402
__all__ += _rnnc.__all__ + _rnn.__all__
from chainrule.nn.modules.pooling import *  # noqa: F401,F403,E402
from chainrule.nn.modules.normalization import *  # noqa: F401,F403,E402
from chainrule.nn.modules.upsampling import *  # noqa: F401,F403,E402
from chainrule.nn.modules import (  # noqa: E402
    pooling as _pool, normalization as _norm, upsampling as _ups)
__all__ += _pool.__all__ + _norm.__all__ + _ups.__all__
from chainrule.nn.modules.conv import *  # noqa: F401,F403,E402
from chainrule.nn.modules import conv as _conv  # noqa: E402
__all__ += _conv.__all__
from chainrule.nn.modules.lazy import *  # noqa: F401,F403,E402
from chainrule.nn.modules.parallel import *  # noqa: F401,F403,E402
from chainrule.nn.modules import lazy as _lazy, parallel as _par  # noqa: E402
__all__ += _lazy.__all__ + _par.__all__
from chainrule.nn.modules.padding import *  # noqa: F401,F403,E402
from chainrule.nn.modules import padding as _padding  # noqa: E402
__all__ += _padding.__all__
from chainrule.nn.modules.transformer import *  # noqa: F401,F403,E402
from chainrule.nn.modules import transformer as _transformer  # noqa: E402
__all__ += _transformer.__all__
from chainrule.nn.modules.sync_batchnorm import SyncBatchNorm  # noqa: F401,E402
__all__ += ["SyncBatchNorm"]
