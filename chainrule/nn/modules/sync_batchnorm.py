"""``SyncBatchNorm``: batch normalisation with the statistics of the global batch, over
the ranks of ``chainrule.distributed`` (torch.nn.SyncBatchNorm).

In training mode, inside a process group, the per-channel mean and then the variance
are all-reduced (two passes, differentiably: backward all-reduces their gradients),
so every rank normalises with the statistics of the whole batch — the same numbers,
gradients and running statistics as one process running BatchNorm on the whole batch.
Every rank must call it the same number of times in the same order.  Outside a process
group, and in eval mode, it is BatchNorm.
"""
from chainrule import distributed as dist
from chainrule.core.grad_mode import no_grad
from chainrule.distributed.nn.functional import all_reduce
from chainrule.nn.modules.normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, _BatchNorm

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over N-D input (2D to 5D, channels at dim 1) with global batch statistics."""
    _dims = (2, 3, 4, 5)
    _shape = "(N, C, ...)"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats,
                         device=device, dtype=dtype)
        self.process_group = process_group

    def forward(self, input):
        if not (self.training and dist.is_initialized()):
            return super().forward(input)
        self._check_input(input)
        dims = (0,) + tuple(range(2, input.ndim))
        shape = (1, -1) + (1,) * (input.ndim - 2)
        local = input.numel() // max(1, input.shape[1])
        n = float(local * dist.get_world_size())
        if n <= 1:
            raise ValueError(f"SyncBatchNorm({self.num_features}): expected more than 1 value "
                             f"per channel over the ranks when training, got input of shape "
                             f"{tuple(input.shape)} on {dist.get_world_size()} rank(s)")
        mean = all_reduce(input.sum(dim=dims)) / n
        xc = input - mean.reshape(shape)
        var = all_reduce((xc * xc).sum(dim=dims)) / n
        y = xc / (var + self.eps).sqrt().reshape(shape)
        if self.weight is not None:
            y = y * self.weight.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        if self.track_running_stats and self.running_mean is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
                m = (1.0 / float(self.num_batches_tracked.item()) if self.momentum is None
                     else self.momentum)
                self.running_mean.mul_(1 - m).add_(mean.detach() * m)
                self.running_var.mul_(1 - m).add_(var.detach() * (m * n / (n - 1)))
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm1d/2d/3d replaced by a SyncBatchNorm holding
        the same parameters and running statistics."""
        if isinstance(module, (BatchNorm1d, BatchNorm2d, BatchNorm3d)):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            out.running_mean, out.running_var = module.running_mean, module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.train(module.training)
            return out
        for name, child in list(module.named_children()):
            setattr(module, name, cls.convert_sync_batchnorm(child, process_group))
        return module
