"""``chainrule.nn``: Module, Parameter, containers, layers, ``init``,
``functional`` and ``utils``, with torch.nn's names.

>>> import chainrule as cr
>>> import chainrule.nn as nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> model(cr.randn(3, 4)).shape
chainrule.Size([3, 2])
"""
from chainrule.nn.parameter import Parameter, Buffer  # noqa: F401
from chainrule.nn.modules import *  # noqa: F401,F403
from chainrule.nn.modules.module import RemovableHandle  # noqa: F401
from chainrule.nn import functional  # noqa: F401
from chainrule.nn import init  # noqa: F401
from chainrule.nn import utils  # noqa: F401
from chainrule.nn.modules.loss import *  # noqa: F401,F403
from chainrule.nn import parallel  # noqa: F401,E402
