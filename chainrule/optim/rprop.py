"""Rprop: resilient back-propagation (Riedmiller & Braun 1993): a per-weight step size
that grows while the gradient keeps its sign and shrinks when it flips; only the sign
of the gradient is used."""
from chainrule import backend as B
from chainrule.optim.optimizer import (Optimizer, _bump, _flags, _grads, _incr_step,
                                       _step_tensor, _zeros_like)

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Rprop, like ``torch.optim.Rprop``.

    With ``g = grad`` (negated if ``maximize``) and ``(eta-, eta+) = etas``::

        s = sign(g * prev)
        step_size = clamp(step_size * (eta+ if s > 0, eta- if s < 0, 1 if s == 0),
                          step_sizes[0], step_sizes[1])
        g = 0 where s < 0                 (skip the update after a sign flip)
        p = p - sign(g) * step_size
        prev = g

    State: ``step`` (0-d tensor), ``prev``, ``step_size`` (starts at ``lr``).
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        _flags("Rprop", foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            lo, hi = group["step_sizes"]
            for p, g in _grads(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["prev"] = _zeros_like(p)
                    state["step_size"] = _zeros_like(p)
                    state["step_size"].array[...] = group["lr"]
                _incr_step(state["step"])
                x, prev, size = p.array, state["prev"].array, state["step_size"].array
                xp = B.xp_of(x)
                g = -g if group["maximize"] else g
                s = xp.sign(g * prev)
                factor = xp.where(s > 0, etaplus, xp.where(s < 0, etaminus, 1.0))
                size *= factor.astype(size.dtype, copy=False)
                xp.clip(size, lo, hi, out=size)
                g = xp.where(s < 0, 0, g).astype(x.dtype, copy=False)
                x -= xp.sign(g) * size
                prev[...] = g
                for k in ("prev", "step_size"):
                    state[k]._version[0] += 1
                _bump(p)
        return loss
