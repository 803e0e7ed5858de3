"""L-BFGS, like ``torch.optim.LBFGS`` (fixed step ``lr``; no line search yet)."""
from chainrule import backend as B
from chainrule.core.grad_mode import enable_grad
from chainrule.optim.optimizer import Optimizer, _bump

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    """Limited-memory BFGS over all parameters as one flat vector (one param group).

    ``step(closure)`` re-evaluates the model up to ``max_iter`` times; ``closure``
    clears the gradients, computes the loss, calls ``backward`` and returns the loss.
    State (``d``, ``t``, ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``, ``prev_flat_grad``,
    ``prev_loss``, ``n_iter``...) follows torch's names.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.5, -2.0], requires_grad=True)
        >>> opt = LBFGS([w], lr=1)
        >>> def closure():
        ...     opt.zero_grad(); loss = ((w - 3) ** 2).sum(); loss.backward(); return loss
        >>> _ = opt.step(closure)
        >>> [round(float(v), 4) for v in w]
        [3.0, 3.0]
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if lr <= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if line_search_fn is not None:
            raise NotImplementedError(f"LBFGS: line_search_fn={line_search_fn!r} is not "
                                      f"implemented in chainrule yet (use None)")
        max_eval = max_iter * 5 // 4 if max_eval is None else max_eval
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=None))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _flat_grad(self):
        xp = B.xp_of(self._params[0].array)
        return xp.concatenate([(p.grad.array if p.grad is not None else
                                xp.zeros_like(p.array)).reshape(-1) for p in self._params])

    def _add_grad(self, step_size, update):
        offset = 0
        for p in self._params:
            n = p.array.size
            p.array += (step_size * update[offset:offset + n]).reshape(p.array.shape).astype(
                p.array.dtype, copy=False)
            _bump(p)
            offset += n

    def _direction(self, state, flat_grad, n_iter, history_size):
        """The new search direction ``d`` from the two-loop recursion."""
        if n_iter == 1:
            state["old_dirs"], state["old_stps"], state["ro"] = [], [], []
            state["H_diag"] = 1.0
            return -flat_grad
        y = flat_grad - state["prev_flat_grad"]
        s = state["d"] * state["t"]
        ys = float((y * s).sum())
        if ys > 1e-10:
            if len(state["old_dirs"]) == history_size:
                for k in ("old_dirs", "old_stps", "ro"):
                    state[k].pop(0)
            state["old_dirs"].append(y)
            state["old_stps"].append(s)
            state["ro"].append(1.0 / ys)
            state["H_diag"] = ys / float((y * y).sum())
        dirs, stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        q = -flat_grad
        al = [0.0] * len(dirs)
        for i in range(len(dirs) - 1, -1, -1):
            al[i] = float((stps[i] * q).sum()) * ro[i]
            q = q - al[i] * dirs[i]
        d = q * state["H_diag"]
        for i in range(len(dirs)):
            be_i = float((dirs[i] * d).sum()) * ro[i]
            d = d + stps[i] * (al[i] - be_i)
        return d

    def step(self, closure):
        """One L-BFGS step: up to ``max_iter`` iterations; returns the first loss."""
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that re-evaluates the model")
        g = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if abs(flat_grad).max() <= g["tolerance_grad"]:
            return orig_loss
        n_iter = 0
        while n_iter < g["max_iter"]:
            n_iter += 1
            state["n_iter"] += 1
            d = self._direction(state, flat_grad, state["n_iter"], g["history_size"])
            state["prev_flat_grad"], state["prev_loss"] = flat_grad.copy(), loss
            t = (min(1.0, 1.0 / float(abs(flat_grad).sum())) * g["lr"]
                 if state["n_iter"] == 1 else g["lr"])
            gtd = float((flat_grad * d).sum())
            if gtd > -g["tolerance_change"]:
                break
            self._add_grad(t, d)
            state["d"], state["t"] = d, t
            if n_iter != g["max_iter"]:
                with enable_grad():
                    loss = float(closure())
                flat_grad = self._flat_grad()
                current_evals += 1
                state["func_evals"] += 1
            if (current_evals >= g["max_eval"] or abs(flat_grad).max() <= g["tolerance_grad"]
                    or abs(d * t).max() <= g["tolerance_change"]
                    or abs(loss - state["prev_loss"]) < g["tolerance_change"]):
                break
        return orig_loss
