"""Adadelta: step sizes from running averages of squared gradients and updates."""
from chainrule import backend as B
from chainrule.optim.optimizer import (Optimizer, _bump, _flags, _grads, _incr_step,
                                       _step_tensor, _zeros_like)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta, like ``torch.optim.Adadelta``.

    With ``g = grad + weight_decay * p`` (negated first if ``maximize``)::

        square_avg = rho * square_avg + (1 - rho) * g * g
        delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta * delta
        p = p - lr * delta

    State: ``step``, ``square_avg``, ``acc_delta``.

    Args:
        params: tensors or param-group dicts to optimize.
        lr (float): scales ``delta`` before it is applied. Default: 1.0.
        rho (float): running-average coefficient. Default: 0.9.
        eps (float): added inside the square roots. Default: 1e-6.
        weight_decay (float): L2 penalty. Default: 0.
        maximize (bool): maximize the objective instead. Default: False.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _flags("Adadelta", foreach=foreach, capturable=capturable, differentiable=differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            for p, g in _grads(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = _zeros_like(p)
                    state["acc_delta"] = _zeros_like(p)
                _incr_step(state["step"])
                _adadelta_update(p.array, g, state["square_avg"].array,
                                 state["acc_delta"].array, lr=group["lr"], rho=group["rho"],
                                 eps=group["eps"], weight_decay=group["weight_decay"],
                                 maximize=group["maximize"])
                state["square_avg"]._version[0] += 1
                state["acc_delta"]._version[0] += 1
                _bump(p)
        return loss


def _adadelta_update(p, g, square_avg, acc_delta, *, lr, rho, eps, weight_decay, maximize):
    xp = B.xp_of(p)
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    square_avg *= rho
    square_avg += (1 - rho) * g * g
    std = square_avg + eps
    xp.sqrt(std, out=std)
    delta = acc_delta + eps
    xp.sqrt(delta, out=delta)
    delta /= std
    delta *= g
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta
    delta *= -lr
    p += delta
