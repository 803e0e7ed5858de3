"""RMSprop: divide the gradient by a running RMS of recent gradients."""
from chainrule import backend as B
from chainrule.optim.optimizer import (Optimizer, _bump, _flags, _grads, _incr_step, _lerp_,
                                       _step_tensor, _zeros_like)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, like ``torch.optim.RMSprop``.

    With ``g = grad + weight_decay * p`` (negated first if ``maximize``)::

        square_avg = alpha * square_avg + (1 - alpha) * g * g
        grad_avg = lerp(grad_avg, g, 1 - alpha)        (centered only)
        avg = sqrt(square_avg - grad_avg ** 2) + eps   (centered)
        avg = sqrt(square_avg) + eps                   (otherwise)
        buf = momentum * buf + g / avg; p = p - lr * buf   (momentum > 0)
        p = p - lr * g / avg                               (otherwise)

    State: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0),
    ``grad_avg`` (centered).

    Args:
        params: tensors or param-group dicts to optimize.
        lr (float): learning rate. Default: 1e-2.
        alpha (float): smoothing constant. Default: 0.99.
        eps (float): added to the denominator. Default: 1e-8.
        weight_decay (float): L2 penalty. Default: 0.
        momentum (float): momentum factor. Default: 0.
        centered (bool): normalize by an estimate of the gradient's variance. Default: False.
        maximize (bool): maximize the objective instead. Default: False.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        _flags("RMSprop", foreach=foreach, capturable=capturable,
               differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable,
                        foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            momentum, centered = group["momentum"], group["centered"]
            for p, g in _grads(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = _zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = _zeros_like(p)
                    if centered:
                        state["grad_avg"] = _zeros_like(p)
                _incr_step(state["step"])
                bufs = [state[k] for k in ("square_avg", "momentum_buffer", "grad_avg")
                        if k in state]
                _rmsprop_update(
                    p.array, g, state["square_avg"].array,
                    state["momentum_buffer"].array if momentum > 0 else None,
                    state["grad_avg"].array if centered else None,
                    lr=group["lr"], alpha=group["alpha"], eps=group["eps"],
                    weight_decay=group["weight_decay"], momentum=momentum,
                    maximize=group["maximize"])
                for b in bufs:
                    b._version[0] += 1
                _bump(p)
        return loss


def _rmsprop_update(p, g, square_avg, buf, grad_avg, *, lr, alpha, eps, weight_decay,
                    momentum, maximize):
    xp = B.xp_of(p)
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    square_avg *= alpha
    square_avg += (1 - alpha) * g * g
    if grad_avg is not None:
        _lerp_(grad_avg, g, 1 - alpha, xp)
        avg = square_avg - grad_avg * grad_avg
        xp.sqrt(avg, out=avg)
    else:
        avg = xp.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        buf *= momentum
        buf += g / avg
        p -= lr * buf
    else:
        upd = g / avg
        upd *= -lr
        p += upd
