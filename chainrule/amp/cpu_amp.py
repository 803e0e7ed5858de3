"""``torch.cpu.amp``: the deprecated CPU forms of autocast and GradScaler.

Reached as ``chainrule.cpu.amp`` (``torch.cpu.amp`` under chainrule.torch_compat).
"""

from chainrule.amp._deprecated import device_forms

__all__ = ["autocast", "GradScaler"]


autocast, GradScaler = device_forms('cpu', __name__)
