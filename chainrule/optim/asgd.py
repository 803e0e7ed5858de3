"""ASGD: SGD with Polyak-Ruppert averaging of the iterates (Polyak & Juditsky 1992),
with the decaying step size of torch's implementation."""
from chainrule.optim.optimizer import (Optimizer, _bump, _flags, _grads, _incr_step,
                                       _step_tensor, _zeros_like)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged SGD, like ``torch.optim.ASGD``.

    With ``g = grad`` (negated if ``maximize``), at step ``t``::

        g = g + weight_decay * p
        p = p * (1 - lambd * eta) - eta * g
        ax = ax + mu * (p - ax)           (ax = p while mu == 1)
        eta = lr / (1 + lambd * lr * t)**alpha
        mu = 1 / max(1, t - t0)           (averaging starts after t0 steps)

    ``ax`` (in ``optimizer.state[p]['ax']``) is the averaged parameter.
    State: ``step``, ``eta``, ``mu`` (0-d tensors), ``ax``.
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _flags("ASGD", foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0 = (group[k] for k in ("lr", "lambd", "alpha", "t0"))
            for p, g in _grads(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["eta"] = _step_tensor()
                    state["eta"].array[...] = lr
                    state["mu"] = _step_tensor()
                    state["mu"].array[...] = 1.0
                    state["ax"] = _zeros_like(p)
                t = _incr_step(state["step"])
                x, ax = p.array, state["ax"].array
                g = -g if group["maximize"] else g
                if group["weight_decay"] != 0:
                    g = g + group["weight_decay"] * x
                eta, mu = float(state["eta"].array), float(state["mu"].array)
                x *= 1 - lambd * eta
                x -= eta * g
                if mu != 1:
                    ax += (x - ax) * mu
                else:
                    ax[...] = x
                state["eta"].array[...] = lr / ((1 + lambd * lr * t) ** alpha)
                state["mu"].array[...] = 1 / max(1, t - t0)
                for k in ("eta", "mu", "ax"):
                    state[k]._version[0] += 1
                _bump(p)
        return loss
