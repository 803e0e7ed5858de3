"""``DataParallel``: a pass-through wrapper on one device, as torch behaves on a CPU.

State-dict names gain the ``module.`` prefix, exactly as torch's.

>>> import chainrule as cr, chainrule.nn as nn
>>> m = nn.DataParallel(nn.Linear(3, 2))
>>> m(cr.randn(4, 3)).shape, list(m.state_dict())
(chainrule.Size([4, 2]), ['module.weight', 'module.bias'])
"""
from chainrule.nn.modules.module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """Runs ``module`` on the one device chainrule computes on (no replication)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
