"""``torch.nn.parallel``: DataParallel on one device, as on CPU torch, and
DistributedDataParallel over MPI ranks (docs/distributed.md)."""
from chainrule.nn import DataParallel  # noqa: F401
from chainrule.nn.parallel import DistributedDataParallel  # noqa: F401

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """Run ``module(*inputs)`` on this one device (CPU torch does the same)."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))
