"""Differentiable collectives (``torch.distributed.nn.functional``'s names).

``all_reduce(x)`` returns the sum of ``x`` over the ranks as a new tensor; its
gradient is the sum over the ranks of the output's gradients (every rank's loss
depends on every rank's input), so backward runs an all-reduce too.  Every rank must
run the same backward graph so that these collectives meet in the same order.
"""
from chainrule import distributed as dist
from chainrule.autograd.function import Function

__all__ = ["all_reduce"]


class _AllReduceSum(Function):
    # d(sum_r x_r)/d x_s = I on every rank: the input gradient is the all-reduced gradient
    @staticmethod
    def forward(ctx, x):
        out = x.clone()
        dist.all_reduce(out, dist.ReduceOp.SUM)
        return out

    @staticmethod
    def backward(ctx, gy):
        g = gy.clone()
        dist.all_reduce(g, dist.ReduceOp.SUM)
        return g


def all_reduce(tensor, op=dist.ReduceOp.SUM, group=None):
    """The sum of ``tensor`` over all ranks, differentiable (only ``ReduceOp.SUM``)."""
    if op != dist.ReduceOp.SUM:
        raise ValueError(f"distributed.nn.functional.all_reduce: only ReduceOp.SUM is "
                         f"differentiable here, got {op!r}")
    return _AllReduceSum.apply(tensor)
