"""``torch.nn.modules`` and its files (``torch.nn.modules.linear``...): chainrule.nn's
classes, plus the ones torch keeps out of ``torch.nn``'s namespace that code names
(``NonDynamicallyQuantizableLinear`` in the safe_globals lists of ``torch.load``)."""
from chainrule.nn import *  # noqa: F401,F403
from chainrule.nn import Module  # noqa: F401
from chainrule.nn.modules.linear import NonDynamicallyQuantizableLinear  # noqa: F401
