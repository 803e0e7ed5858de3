"""``torch.serialization``: chainrule's save/load, and ``safe_globals`` (a no-op context:
chainrule's files hold tensors and plain containers only, never pickled classes)."""
import contextlib

from chainrule.utils.serialization import save, load  # noqa: F401

__all__ = ["save", "load", "safe_globals", "add_safe_globals"]


@contextlib.contextmanager
def safe_globals(globals_list):
    yield


def add_safe_globals(globals_list):
    return None
