"""Data-parallel runs of ``chainrule train`` (``--nproc N`` or ``mpiexec -n N``).

When a process group is running (``chainrule.distributed.init_process_group``, which
the CLI calls inside an MPI job), a dataset run:

* keeps ``--batch-size`` as the global batch: each of the W ranks takes
  ``batch_size / W`` samples per step from a :class:`DistributedSampler` seeded with
  the run's seed (reshuffled per epoch with ``set_epoch``), so a run trains with the
  same global batch at any world size and resumes at any world size;
* wraps the model in :class:`DistributedDataParallel` (gradients averaged over ranks);
* averages the training metrics of the ranks at the end of each epoch, so every rank
  logs, schedules and stops early on the same numbers (validation and test loaders are
  not split: every rank evaluates the same model on the same data);
* writes files (checkpoints, history, curves) and prints on rank 0 only; checkpoints
  hold the unwrapped model, loadable by a single process.
"""
import numpy as np

from chainrule import distributed as dist
from chainrule.core.tensor import from_array
from chainrule.data import DataLoader, DistributedSampler, RandomSampler, default_collate
from chainrule.nn.parallel import DistributedDataParallel

__all__ = ["world_size", "rank", "is_main", "active", "unwrap", "wrap", "shard_loader",
           "average_logs"]


def world_size():
    return dist.get_world_size() if dist.is_initialized() else 1


def rank():
    return dist.get_rank() if dist.is_initialized() else 0


def is_main():
    return rank() == 0


def active():
    """True inside a process group of more than one rank."""
    return world_size() > 1


def unwrap(model):
    return model.module if isinstance(model, DistributedDataParallel) else model


def wrap(model):
    return DistributedDataParallel(model) if active() else model


def shard_loader(loader, seed, what="--batch-size"):
    """This rank's loader: the same dataset, batch ``loader.batch_size / W``, a
    DistributedSampler (shuffled when ``loader`` shuffles)."""
    w = world_size()
    if loader.batch_size is None or loader.batch_size % w:
        raise ValueError(f"{what} {loader.batch_size} (the global batch) must be a multiple "
                         f"of the number of processes ({w})")
    sampler = DistributedSampler(loader.dataset, w, rank(),
                                 shuffle=isinstance(loader.sampler, RandomSampler), seed=seed)
    return DataLoader(loader.dataset, batch_size=loader.batch_size // w, sampler=sampler,
                      num_workers=loader.num_workers,
                      collate_fn=None if loader.collate_fn is default_collate else loader.collate_fn,
                      drop_last=loader.drop_last)


def average_logs(logs):
    """The mean over ranks of each number in ``logs`` (same keys on every rank)."""
    keys = sorted(k for k, v in logs.items() if isinstance(v, (int, float, np.floating))
                  and not isinstance(v, bool) and k != "epoch")
    t = from_array(np.array([float(logs[k]) for k in keys], np.float64))
    dist.all_reduce(t, dist.ReduceOp.AVG)
    out = dict(logs)
    out.update(zip(keys, t.array.tolist()))
    return out
