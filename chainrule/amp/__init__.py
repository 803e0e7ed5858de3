"""Mixed precision (torch.amp): ``autocast`` and ``GradScaler``.

``chainrule.autocast`` / ``chainrule.amp.autocast`` run the ops of a region in float16
or float32 by torch's op lists; ``GradScaler`` scales the loss so float16 gradients do
not underflow and skips steps whose gradients overflowed.  ``chainrule.cuda.amp`` and
``chainrule.cpu.amp`` hold torch's deprecated per-device forms.  See docs/amp.md.
"""
from chainrule.amp.autocast_mode import *  # noqa: F401,F403
from chainrule.amp.autocast_mode import __all__ as _autocast_all
from chainrule.amp.grad_scaler import GradScaler, OptState  # noqa: F401
from chainrule.amp import cuda_amp, cpu_amp, cpu  # noqa: F401

__all__ = list(_autocast_all) + ["GradScaler"]
