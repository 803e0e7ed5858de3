"""Adam: bias-corrected running averages of the gradient and its square."""
from chainrule import backend as B
from chainrule.optim.optimizer import (Optimizer, _bump, _flags, _grads, _incr_step, _lerp_,
                                       _step_tensor, _zeros_like)

__all__ = ["Adam"]


def _check_adam_args(lr, betas, eps, weight_decay):
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    r"""Adam, like ``torch.optim.Adam``.

    With ``g = grad`` (negated if ``maximize``), at step ``t``::

        g = g + weight_decay * p          (L2, the default)
        p = p * (1 - lr * weight_decay)   (decoupled_weight_decay=True: AdamW)
        exp_avg = lerp(exp_avg, g, 1 - beta1)
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        v = max(max_exp_avg_sq, exp_avg_sq) if amsgrad else exp_avg_sq
        p = p - lr / (1 - beta1**t) * exp_avg / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    State: ``step`` (0-d tensor), ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq`` (amsgrad).

    Args:
        params: tensors or param-group dicts to optimize.
        lr (float): learning rate. Default: 1e-3.
        betas (tuple): running-average coefficients. Default: (0.9, 0.999).
        eps (float): added to the denominator. Default: 1e-8.
        weight_decay (float): weight decay. Default: 0.
        amsgrad (bool): use the running maximum of ``exp_avg_sq``. Default: False.
        maximize (bool): maximize the objective instead. Default: False.
        decoupled_weight_decay (bool): decay the weights directly (AdamW). Default: False.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        _flags(type(self).__name__, foreach=foreach, capturable=capturable,
               differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            amsgrad = group["amsgrad"]
            beta1, beta2 = group["betas"]
            for p, g in _grads(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = _zeros_like(p)
                step = _incr_step(state["step"])
                bufs = [state[k] for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
                        if k in state]
                _adam_update(p.array, g, bufs[0].array, bufs[1].array,
                             state["max_exp_avg_sq"].array if amsgrad else None, step,
                             lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                             weight_decay=group["weight_decay"], maximize=group["maximize"],
                             decoupled=group["decoupled_weight_decay"])
                for b in bufs:
                    b._version[0] += 1
                _bump(p)
        return loss


def _adam_update(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, step, *, lr, beta1, beta2, eps,
                 weight_decay, maximize, decoupled):
    """One Adam step on arrays (torch's single-tensor path, float ``step``)."""
    xp = B.xp_of(p)
    if maximize:
        g = -g
    if weight_decay != 0:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
    _lerp_(exp_avg, g, 1 - beta1, xp)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = bias_correction2 ** 0.5
    if max_exp_avg_sq is not None:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        denom = xp.sqrt(max_exp_avg_sq)
    else:
        denom = xp.sqrt(exp_avg_sq)
    denom /= bias_correction2_sqrt
    denom += eps
    upd = exp_avg / denom
    upd *= -step_size
    p += upd
