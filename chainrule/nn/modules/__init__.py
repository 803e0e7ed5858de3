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
