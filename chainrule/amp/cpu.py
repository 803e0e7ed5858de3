"""``torch.cpu``: the CPU device module (``chainrule.cpu``), with ``amp``.

>>> import chainrule as cr
>>> cr.cpu.is_available(), cr.cpu.device_count()
(True, 1)
"""
from chainrule.amp import cpu_amp as amp  # noqa: F401

__all__ = ["is_available", "device_count", "current_device", "synchronize", "amp"]


def is_available():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def synchronize(device=None):
    return None
