"""SparseAdam: Adam for sparse gradients, updating only the rows a step used."""
import math

from chainrule import backend as B
from chainrule.core.tensor import from_array
from chainrule.optim.optimizer import Optimizer, _bump, _grads, _incr_step, _step_tensor

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    r"""Like ``torch.optim.SparseAdam``: Adam's moments and step for the rows present
    in a sparse gradient (``Embedding(sparse=True)``) only; other rows keep their
    moments.  Dense gradients raise, as in torch.

    Args:
        params: tensors or param-group dicts to optimize.
        lr (float): learning rate. Default: 1e-3.
        betas (tuple): Default: (0.9, 0.999).
        eps (float): Default: 1e-8.
        maximize (bool): Default: False.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            sparse = []
            if _grads(group, sparse):
                raise RuntimeError("SparseAdam does not support dense gradients, please "
                                   "consider Adam instead")
            beta1, beta2 = group["betas"]
            for p, g in sparse:
                state = self.state[p]
                if len(state) == 0:
                    xp = B.xp_of(p.array)
                    state["step"] = _step_tensor()
                    state["exp_avg"] = from_array(xp.zeros_like(p.array))
                    state["exp_avg_sq"] = from_array(xp.zeros_like(p.array))
                step = _incr_step(state["step"])
                g = g.coalesce()
                rows, vals = g._idx, g._val
                if group["maximize"]:
                    vals = -vals
                m, v = state["exp_avg"].array, state["exp_avg_sq"].array
                m_old, v_old = m[rows], v[rows]
                m_new = m_old + (vals - m_old) * (1 - beta1)
                v_new = v_old + (vals * vals - v_old) * (1 - beta2)
                m[rows], v[rows] = m_new, v_new
                denom = B.xp_of(v_new).sqrt(v_new) + group["eps"]
                step_size = group["lr"] * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
                p.array[rows] -= (step_size * m_new / denom).astype(p.array.dtype)
                for t in (state["exp_avg"], state["exp_avg_sq"]):
                    t._version[0] += 1
                _bump(p)
        return loss
