"""``torch.accelerator``: the current accelerator, answered from chainrule.cuda."""
from chainrule import cuda as _cuda
from chainrule.backend import Device as _Device

__all__ = ["is_available", "current_accelerator", "device_count"]


def is_available():
    return _cuda.is_available()


def device_count():
    return _cuda.device_count()


def current_accelerator(check_available=False):
    """``Device('cuda')`` when a GPU is usable, else None (as CPU-only torch)."""
    return _Device("cuda") if _cuda.is_available() else None
