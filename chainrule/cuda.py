"""``torch.cuda``'s queries, answered from the backend: CuPy and a GPU present or not.

>>> import chainrule as cr
>>> cr.cuda.is_available() in (True, False)
True
"""
from chainrule.backend import arrays as _arrays
from chainrule.backend.arrays import manual_seed as _manual_seed

__all__ = ["is_available", "device_count", "current_device", "get_device_name",
           "manual_seed", "manual_seed_all", "synchronize", "empty_cache", "is_initialized",
           "set_device"]


def is_available():
    """Whether a CUDA GPU is usable (CuPy installed and a device present)."""
    return _arrays.cuda_available()


def device_count():
    return _arrays.cuda_device_count()


def is_initialized():
    return is_available()


def _need_gpu(what):
    if not is_available():
        raise RuntimeError(f"torch.cuda.{what}: no CUDA GPU is available "
                           "(chainrule needs CuPy and a GPU)")


def current_device():
    _need_gpu("current_device")
    return 0


def set_device(device):
    _need_gpu("set_device")


def get_device_name(device=None):
    _need_gpu("get_device_name")
    return "CUDA GPU (CuPy)"


def manual_seed(seed):
    """Seeds the GPU generator with the rest: chainrule has one seed for all devices."""
    _manual_seed(seed)


manual_seed_all = manual_seed


def synchronize(device=None):
    return None


def empty_cache():
    return None
