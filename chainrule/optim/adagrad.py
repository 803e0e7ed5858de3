"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""
from chainrule import backend as B
from chainrule.core.tensor import from_array
from chainrule.optim.optimizer import Optimizer, _bump, _flags, _grads, _incr_step, _step_tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad, like ``torch.optim.Adagrad``.

    With ``g = grad + weight_decay * p`` (negated first if ``maximize``) at step ``t``::

        clr = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g * g
        p = p - clr * g / (sqrt(sum) + eps)

    State (created in ``__init__`` for every parameter, like torch): ``step``
    (0-d tensor) and ``sum`` (starts at ``initial_accumulator_value``).

    Args:
        params: tensors or param-group dicts to optimize.
        lr (float): learning rate. Default: 1e-2.
        lr_decay (float): learning-rate decay. Default: 0.
        weight_decay (float): L2 penalty. Default: 0.
        initial_accumulator_value (float): starting value of ``sum``. Default: 0.
        eps (float): added to the denominator. Default: 1e-10.
        maximize (bool): maximize the objective instead. Default: False.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        fused=fused)
        _flags("Adagrad", foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor()
            xp = B.xp_of(p.array)
            state["sum"] = from_array(xp.full_like(p.array, group["initial_accumulator_value"]))
        return state

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            sparse = []
            dense = _grads(group, sparse)
            for update, pairs in ((_adagrad_sparse, sparse), (_adagrad_update, dense)):
                for p, g in pairs:
                    state = self._init_state(p, group)
                    update(p.array, g, state["sum"].array, _incr_step(state["step"]),
                           lr=group["lr"], lr_decay=group["lr_decay"],
                           weight_decay=group["weight_decay"], eps=group["eps"],
                           maximize=group["maximize"])
                    state["sum"]._version[0] += 1
                    _bump(p)
        return loss


def _adagrad_update(p, g, state_sum, step, *, lr, lr_decay, weight_decay, eps, maximize):
    xp = B.xp_of(p)
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum += g * g
    std = xp.sqrt(state_sum)
    std += eps
    upd = g / std
    upd *= -clr
    p += upd


def _adagrad_sparse(p, g, state_sum, step, *, lr, lr_decay, weight_decay, eps, maximize):
    """torch's sparse Adagrad: coalesce, then update only the gradient's rows."""
    if weight_decay != 0:
        raise RuntimeError("Adagrad: weight_decay option is not compatible with sparse "
                           "gradients")
    xp = B.xp_of(p)
    g = g.coalesce()
    rows, vals = g._idx, g._val
    if maximize:
        vals = -vals
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum[rows] += vals * vals
    std = xp.sqrt(state_sum[rows])
    std += eps
    p[rows] -= (clr * vals / std).astype(p.dtype)
