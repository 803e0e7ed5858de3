"""Neural-network building blocks (``chainrule.nn.functional`` for now)."""
from chainrule.nn import functional  # noqa: F401
