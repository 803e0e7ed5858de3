"""``chainrule.nn.parallel``: torch.nn.parallel's names — ``DataParallel`` (one device)
and ``DistributedDataParallel`` (data parallel over MPI ranks)."""
from chainrule.nn.modules.parallel import DataParallel
from chainrule.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
