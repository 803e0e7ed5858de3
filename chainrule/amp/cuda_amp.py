"""``torch.cuda.amp``: the deprecated CUDA forms of autocast and GradScaler.

Reached as ``chainrule.cuda.amp`` (``torch.cuda.amp`` under chainrule.torch_compat).
"""
import functools

from chainrule.amp import autocast_mode as _am
from chainrule.amp._deprecated import device_forms

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd"]


autocast, GradScaler = device_forms('cuda', __name__)


def custom_fwd(fwd=None, *, cast_inputs=None):
    """``torch.cuda.amp.custom_fwd`` (deprecated): ``torch.amp.custom_fwd(device_type="cuda")``."""
    if fwd is None:
        return functools.partial(custom_fwd, cast_inputs=cast_inputs)
    return _am.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd):
    """``torch.cuda.amp.custom_bwd`` (deprecated): ``torch.amp.custom_bwd(device_type="cuda")``."""
    return _am.custom_bwd(bwd, device_type="cuda")
