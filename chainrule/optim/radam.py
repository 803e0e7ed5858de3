"""RAdam: Adam whose adaptive step is switched on only once the variance of its
estimate is tractable, and rectified by its ratio (Liu et al. 2020)."""
from chainrule import backend as B
from chainrule.optim.adam import _check_adam_args
from chainrule.optim.optimizer import Optimizer, _adaptive_steps, _flags, _lerp_, _weight_decay

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam, like ``torch.optim.RAdam``.

    With ``g = grad`` (negated if ``maximize``), at step ``t``::

        g = g + weight_decay * p          (p = p * (1 - lr * weight_decay) if decoupled)
        exp_avg = lerp(exp_avg, g, 1 - beta1)
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        m_hat = exp_avg / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        if rho_t > 5:   r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                        p = p - lr * m_hat * r * sqrt(1 - beta2**t) / (sqrt(exp_avg_sq) + eps)
        else:           p = p - lr * m_hat                    (SGD with momentum)

    State: ``step`` (0-d tensor), ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        _flags("RAdam", foreach=foreach, capturable=capturable,
               differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            for x, g, state, t in _adaptive_steps(self, group, ("exp_avg", "exp_avg_sq")):
                m, v = state["exp_avg"].array, state["exp_avg_sq"].array
                xp = B.xp_of(x)
                g = _weight_decay(x, g, lr, wd, group["decoupled_weight_decay"])
                _lerp_(m, g, 1 - beta1, xp)
                v *= beta2
                v += (1 - beta2) * g * g
                bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
                m_hat = m / bc1
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * t * (beta2 ** t) / bc2
                if rho_t > 5.0:
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                    x -= m_hat * lr * (bc2 ** 0.5 / (xp.sqrt(v) + eps)) * rect
                else:
                    x -= m_hat * lr
        return loss
