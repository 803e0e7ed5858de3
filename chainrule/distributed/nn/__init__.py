"""``chainrule.distributed.nn``: collectives inside autograd (torch.distributed.nn)."""
from chainrule.distributed.nn import functional  # noqa: F401

__all__ = ["functional"]
