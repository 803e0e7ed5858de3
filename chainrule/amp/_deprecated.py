"""The deprecated per-device forms ``torch.cpu.amp`` / ``torch.cuda.amp``: ``autocast``
and ``GradScaler`` with the device fixed, each warning as torch's does."""
import warnings

from chainrule.amp import autocast_mode as _am
from chainrule.amp.grad_scaler import GradScaler as _GradScaler
from chainrule.core import dtype as D


def _warn(device, name):
    warnings.warn(f"`torch.{device}.amp.{name}(args...)` is deprecated. Please use "
                  f"`torch.amp.{name}('{device}', args...)` instead.", FutureWarning,
                  stacklevel=3)


def device_forms(device, module):
    """``(autocast, GradScaler)`` of ``torch.<device>.amp``, named as if defined in
    ``module``."""
    class autocast(_am.autocast):
        def __init__(self, enabled=True, dtype=D.float16, cache_enabled=True):
            _warn(device, "autocast")
            super().__init__(device, enabled=enabled, dtype=dtype,
                             cache_enabled=cache_enabled)

    class GradScaler(_GradScaler):
        def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                     growth_interval=2000, enabled=True):
            _warn(device, "GradScaler")
            super().__init__(device, init_scale=init_scale, growth_factor=growth_factor,
                             backoff_factor=backoff_factor, growth_interval=growth_interval,
                             enabled=enabled)

    autocast.__doc__ = (f"``torch.{device}.amp.autocast(enabled=True, dtype=float16, "
                        f"cache_enabled=True)`` (deprecated): ``autocast({device!r}, ...)``.")
    GradScaler.__doc__ = (f"``torch.{device}.amp.GradScaler(init_scale=2.**16, ...)`` "
                          f"(deprecated): ``GradScaler({device!r}, ...)``.")
    for cls in (autocast, GradScaler):
        cls.__module__, cls.__qualname__ = module, cls.__name__
    return autocast, GradScaler
