"""AdamW: Adam with weight decay applied to the weights, not the gradient."""
from chainrule.optim.adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""AdamW, like ``torch.optim.AdamW``: :class:`Adam` with
    ``decoupled_weight_decay=True``, so each step first does
    ``p = p * (1 - lr * weight_decay)`` and the decay never enters the moment
    estimates.

    Args:
        params: tensors or param-group dicts to optimize.
        lr (float): learning rate. Default: 1e-3.
        betas (tuple): running-average coefficients. Default: (0.9, 0.999).
        eps (float): added to the denominator. Default: 1e-8.
        weight_decay (float): decoupled weight decay. Default: 1e-2.
        amsgrad (bool): use the running maximum of ``exp_avg_sq``. Default: False.
        maximize (bool): maximize the objective instead. Default: False.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         foreach=foreach, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # AdamW always decouples, whatever was saved
            group["decoupled_weight_decay"] = True
