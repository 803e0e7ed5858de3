"""``torch.serialization``: chainrule's save/load, and the trusted-class registry that
whole-object loads check (``add_safe_globals``, ``safe_globals``, ``get_safe_globals``;
see chainrule/utils/serialization.py)."""
from chainrule.utils.serialization import (  # noqa: F401
    add_safe_globals, get_safe_globals, load, safe_globals, save)

__all__ = ["save", "load", "safe_globals", "add_safe_globals", "get_safe_globals"]
