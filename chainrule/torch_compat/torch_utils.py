"""``torch.utils``: its ``data`` subpackage is chainrule.data (reached through the alias)."""
from chainrule import data  # noqa: F401
