"""Autocast's state: which device types autocast, to which dtype, and the cast cache.

``chainrule.autocast`` (in :mod:`chainrule.amp`) sets this state; the ops that
autocast (:mod:`chainrule.functional.autocast`) read it.  :attr:`_State.active` is
the one flag an op checks when autocast is off, so the off path costs one attribute
read.  The engine clears ``active`` while it runs a backward pass (torch runs the
backward of an autocast region in the dtypes the forward chose, without autocasting).
"""
from chainrule.core import dtype as D

__all__ = ["is_autocast_enabled", "is_any_autocast_enabled", "get_autocast_dtype", "set_autocast_enabled",
           "set_autocast_dtype", "is_autocast_cache_enabled", "set_autocast_cache_enabled",
           "clear_autocast_cache", "DEVICE_TYPES", "LOWER_DTYPES"]

DEVICE_TYPES = ("cpu", "cuda")
# The lower-precision dtypes chainrule can autocast to: NumPy and CuPy have float16 and
# no bfloat16 (torch's CPU default), see docs/amp.md.
LOWER_DTYPES = (D.float16,)


class _State:
    active = False            # some device type autocasts and no autocast op is running
    enabled = {"cpu": False, "cuda": False}
    dtype = {"cpu": D.float16, "cuda": D.float16}
    cache_enabled = True
    nesting = 0               # how many autocast regions are open (the cache lives this long)
    cache = {}                # (id(leaf), grad mode) -> (leaf, version, cast copy)


def _refresh():
    _State.active = _State.enabled["cpu"] or _State.enabled["cuda"]


def _check_device(device_type):
    if device_type not in DEVICE_TYPES:
        raise RuntimeError(f"autocast: unsupported device_type {device_type!r}; "
                           f"chainrule autocasts {' and '.join(DEVICE_TYPES)}")
    return device_type


def is_autocast_enabled(device_type=None):
    """Whether autocast is on for ``device_type`` (torch's no-argument form asks cuda)."""
    return _State.enabled[_check_device("cuda" if device_type is None else device_type)]


def is_any_autocast_enabled():
    """torch._C._is_any_autocast_enabled: whether some device type autocasts (modules
    skip their input/weight dtype checks then, as torch's RNNs do)."""
    return _State.enabled["cpu"] or _State.enabled["cuda"]


def set_autocast_enabled(device_type, enabled=None):
    """``set_autocast_enabled(device_type, enabled)`` (or torch's old one-argument form,
    which sets cuda)."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    _State.enabled[_check_device(device_type)] = bool(enabled)
    _refresh()


def get_autocast_dtype(device_type):
    return _State.dtype[_check_device(device_type)]


def set_autocast_dtype(device_type, dtype):
    _State.dtype[_check_device(device_type)] = dtype


def is_autocast_cache_enabled():
    return _State.cache_enabled


def set_autocast_cache_enabled(enabled):
    _State.cache_enabled = bool(enabled)


def clear_autocast_cache():
    _State.cache.clear()


def key():
    """The autocast state as a hashable value (chainrule.compile guards its plans on it)."""
    if not _State.active:
        return None
    return (_State.enabled["cpu"], _State.enabled["cuda"], _State.dtype["cpu"].name,
            _State.dtype["cuda"].name)


def suspend():
    """Turn autocast off for the duration of an autocast op or a backward pass; returns
    the previous ``active`` flag for :func:`resume`."""
    prev = _State.active
    _State.active = False
    return prev


def resume(prev):
    _State.active = prev
