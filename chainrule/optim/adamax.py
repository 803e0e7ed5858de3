"""Adamax: Adam with the infinity norm of past gradients (Kingma & Ba 2015, sec. 7.1)."""
from chainrule import backend as B
from chainrule.optim.adam import _check_adam_args
from chainrule.optim.optimizer import Optimizer, _adaptive_steps, _flags, _lerp_, _weight_decay

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax, like ``torch.optim.Adamax``.

    With ``g = grad`` (negated if ``maximize``), at step ``t``::

        g = g + weight_decay * p
        exp_avg = lerp(exp_avg, g, 1 - beta1)
        exp_inf = max(beta2 * exp_inf, |g| + eps)
        p = p - lr / (1 - beta1**t) * exp_avg / exp_inf

    State: ``step`` (0-d tensor), ``exp_avg``, ``exp_inf``.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        _flags("Adamax", foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            for x, g, state, t in _adaptive_steps(self, group, ("exp_avg", "exp_inf")):
                m, u = state["exp_avg"].array, state["exp_inf"].array
                xp = B.xp_of(x)
                g = _weight_decay(x, g, lr, wd)
                _lerp_(m, g, 1 - beta1, xp)
                u *= beta2
                xp.maximum(u, xp.abs(g) + eps, out=u)
                x -= (lr / (1 - beta1 ** t)) * (m / u)
        return loss
