"""A small regression problem run identically in chainrule and torch."""
import numpy as np
import torch

import chainrule as cr
import chainrule.optim  # noqa: F401  (makes cr.optim available)

STEPS = 25


def problem_data(seed=0):
    rng = np.random.default_rng(seed)
    return {"X": rng.standard_normal((8, 4)), "Y": rng.standard_normal((8, 3)),
            "W": rng.standard_normal((3, 4)) * 0.5, "b": rng.standard_normal(3) * 0.1,
            "c": rng.standard_normal(5), "t": rng.standard_normal(5)}


def loss_fn(W, b, c, X, Y, t):
    """Works for both frameworks: only @, .T, ** and sum/mean."""
    r = X @ W.T + b - Y
    return (r * r).mean() + 0.5 * ((c - t) ** 2).sum() + 0.1 * (c ** 4).mean()


class Run:
    """Parameters, data and an optimizer in one framework (``cr`` or ``torch``)."""

    def __init__(self, mod, opt_name, kwargs, group_kwargs=None, data=None, params=None):
        self.mod = mod
        d = problem_data() if data is None else data
        mk = (lambda a, g: cr.tensor(a, dtype=cr.float64, requires_grad=g)) if mod is cr else \
            (lambda a, g: torch.tensor(a, dtype=torch.float64, requires_grad=g))
        init = params if params is not None else {k: d[k] for k in "Wbc"}
        self.W, self.b, self.c = (mk(np.array(init[k]), True) for k in "Wbc")
        self.X, self.Y, self.t = (mk(d[k], False) for k in "XYt")
        if group_kwargs is None:
            params = [self.W, self.b, self.c]
        else:
            params = [dict(params=[self.W, self.b], **group_kwargs[0]),
                      dict(params=[self.c], **group_kwargs[1])]
        self.sign = -1.0 if kwargs.get("maximize") else 1.0
        self.opt = getattr(mod.optim, opt_name)(params, **kwargs)

    def loss(self):
        return self.sign * loss_fn(self.W, self.b, self.c, self.X, self.Y, self.t)

    def flat(self):
        return np.concatenate([np.asarray(p.detach()).ravel() for p in (self.W, self.b, self.c)])

    def params(self):
        return {k: np.asarray(getattr(self, k).detach()).copy() for k in "Wbc"}

    def train(self, steps=STEPS):
        traj = []
        for _ in range(steps):
            self.opt.zero_grad()
            self.loss().backward()
            self.opt.step()
            traj.append(self.flat())
        return np.array(traj)
