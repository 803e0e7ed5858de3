"""The backend seam: the only place that knows NumPy from CuPy.

Every op receives raw arrays and asks :func:`xp_of` for the array module and
:func:`kernels_of` for the kernel table of the backend that owns them
(:mod:`chainrule.backend.cpu` or :mod:`chainrule.backend.cuda`), and calls
kernels by name, so CuPy plugs in without touching any op.  Devices, host
transfer, the random number generators and scatter-add live here too
(:mod:`chainrule.backend.arrays`).

Nothing here changes the process at import: CPU tuning (threads, allocator)
is explicit, see :mod:`chainrule.backend.cpu`.
"""
from chainrule.backend.arrays import *  # noqa: F401,F403
from chainrule.backend.arrays import __all__ as _arrays_all, is_device_array
from chainrule.backend import cpu, cuda
from chainrule.backend.kernels.conv import Geom  # noqa: F401  (convolution geometry)
from chainrule.backend.kernels.window import Windows  # noqa: F401  (pooling windows)

__all__ = list(_arrays_all) + ["kernels_of", "cpu", "cuda", "Geom", "Windows"]


def kernels_of(a):
    """The kernel table of the backend that owns array ``a``."""
    return cuda if is_device_array(a) else cpu  # noqa: F405
