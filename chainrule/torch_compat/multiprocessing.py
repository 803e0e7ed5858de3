"""``torch.multiprocessing``: Python's multiprocessing, with tensors shared through
``share_memory_()`` / ``Module.share_memory()`` (anonymous shared mappings).

Children are forked where the platform can fork, even when the script asks for
``spawn``: a spawned interpreter would import the real ``torch`` (the runner's
torch -> chainrule mapping lives in this process), and a forked child inherits the
mapping and the shared tensors as they are.  Elsewhere ``spawn`` is used as asked.
"""
import multiprocessing as _mp
from multiprocessing import (  # noqa: F401
    Barrier, BoundedSemaphore, Condition, Event, Lock, Manager, Pipe, RLock, Semaphore,
    active_children, cpu_count, current_process, get_all_start_methods, parent_process)

__all__ = ["Process", "Pool", "Queue", "SimpleQueue", "JoinableQueue", "get_context",
           "set_start_method", "get_start_method", "cpu_count", "current_process",
           "Barrier", "BoundedSemaphore", "Condition", "Event", "Lock", "Manager", "Pipe",
           "RLock", "Semaphore", "active_children", "get_all_start_methods",
           "parent_process", "set_sharing_strategy", "get_sharing_strategy",
           "get_all_sharing_strategies"]

_FORK = "fork" in _mp.get_all_start_methods()
_asked = [None]


def _method(method):
    return "fork" if _FORK and method in (None, "spawn", "forkserver", "fork") else method


def get_context(method=None):
    return _mp.get_context(_method(method))


def set_start_method(method, force=False):
    if _asked[0] is not None and not force:
        raise RuntimeError("context has already been set")
    _asked[0] = method


def get_start_method(allow_none=False):
    return _asked[0] if _asked[0] is not None else (None if allow_none else
                                                    _method(None))


def _ctx():
    return get_context(_asked[0])


def Process(*args, **kwargs):  # noqa: N802 - torch.multiprocessing's name
    return _ctx().Process(*args, **kwargs)


def Pool(*args, **kwargs):  # noqa: N802
    return _ctx().Pool(*args, **kwargs)


def Queue(*args, **kwargs):  # noqa: N802
    return _ctx().Queue(*args, **kwargs)


def SimpleQueue(*args, **kwargs):  # noqa: N802
    return _ctx().SimpleQueue(*args, **kwargs)


def JoinableQueue(*args, **kwargs):  # noqa: N802
    return _ctx().JoinableQueue(*args, **kwargs)


def set_sharing_strategy(new_strategy):
    if new_strategy not in get_all_sharing_strategies():
        raise ValueError(f"unknown sharing strategy {new_strategy!r}")


def get_sharing_strategy():
    return "file_descriptor"


def get_all_sharing_strategies():
    return {"file_descriptor", "file_system"}
