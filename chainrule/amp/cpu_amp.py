"""``torch.cpu.amp``: the deprecated CPU forms of autocast and GradScaler.

Reached as ``chainrule.cpu.amp`` (``torch.cpu.amp`` under chainrule.torch_compat).
"""
import warnings

from chainrule.amp import autocast_mode as _am
from chainrule.amp.grad_scaler import GradScaler as _GradScaler
from chainrule.core import dtype as D

__all__ = ["autocast", "GradScaler"]


class autocast(_am.autocast):
    """``torch.cpu.amp.autocast(enabled=True, dtype=..., cache_enabled=True)``
    (deprecated): ``autocast("cpu", ...)``.  The default dtype is float16 (torch's is
    bfloat16, which NumPy lacks)."""

    def __init__(self, enabled=True, dtype=D.float16, cache_enabled=True):
        warnings.warn("`torch.cpu.amp.autocast(args...)` is deprecated. Please use "
                      "`torch.amp.autocast('cpu', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """``torch.cpu.amp.GradScaler(...)`` (deprecated): ``GradScaler("cpu", ...)``."""

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        warnings.warn("`torch.cpu.amp.GradScaler(args...)` is deprecated. Please use "
                      "`torch.amp.GradScaler('cpu', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cpu", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)
