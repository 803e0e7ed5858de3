"""NAdam: Adam with Nesterov momentum (Dozat 2016), with the momentum schedule
``mu_t = beta1 (1 - 0.5 * 0.96^(t psi))``."""
from chainrule import backend as B
from chainrule.optim.adam import _check_adam_args
from chainrule.optim.optimizer import (Optimizer, _adaptive_steps, _flags, _lerp_, _step_tensor,
                                       _weight_decay)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam, like ``torch.optim.NAdam``.

    With ``g = grad`` (negated if ``maximize``), at step ``t`` and ``psi =
    momentum_decay``::

        g = g + weight_decay * p          (p = p * (1 - lr * weight_decay) if decoupled)
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * psi));  mu_{t+1} likewise
        mu_product = mu_product * mu_t
        exp_avg = lerp(exp_avg, g, 1 - beta1)
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        denom = sqrt(exp_avg_sq / (1 - beta2**t)) + eps
        p = p - lr * (1 - mu_t) / (1 - mu_product) * g / denom
              - lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * exp_avg / denom

    State: ``step`` and ``mu_product`` (0-d tensors), ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        _flags("NAdam", foreach=foreach, capturable=capturable,
               differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable,
                                      differentiable=differentiable))

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, wd, psi = (group[k] for k in ("lr", "eps", "weight_decay",
                                                     "momentum_decay"))
            for x, g, state, t in _adaptive_steps(self, group, ("exp_avg", "exp_avg_sq")):
                if "mu_product" not in state:
                    state["mu_product"] = _step_tensor()
                    state["mu_product"].array[...] = 1.0
                m, v = state["exp_avg"].array, state["exp_avg_sq"].array
                xp = B.xp_of(x)
                g = _weight_decay(x, g, lr, wd, group["decoupled_weight_decay"])
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
                mp = state["mu_product"].array
                mp *= mp.dtype.type(mu)
                mu_product = float(mp)
                _lerp_(m, g, 1 - beta1, xp)
                v *= beta2
                v += (1 - beta2) * g * g
                denom = xp.sqrt(v / (1 - beta2 ** t)) + eps
                x += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
                x += (-lr * mu_next / (1.0 - mu_product * mu_next)) * (m / denom)
                state["mu_product"]._version[0] += 1
        return loss
