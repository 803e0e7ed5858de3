"""Stochastic gradient descent, with momentum and Nesterov momentum."""
from chainrule import backend as B
from chainrule.core.tensor import from_array
from chainrule.optim.optimizer import Optimizer, _bump, _flags, _grads

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), like ``torch.optim.SGD``.

    With ``g = grad + weight_decay * p`` (negated first if ``maximize``)::

        buf = g                                   (first step)
        buf = momentum * buf + (1 - dampening) * g
        g = g + momentum * buf   if nesterov else   buf
        p = p - lr * g

    State: ``momentum_buffer`` (only when ``momentum != 0``).

    Args:
        params: tensors or param-group dicts to optimize.
        lr (float): learning rate. Default: 1e-3.
        momentum (float): momentum factor. Default: 0.
        dampening (float): dampening of the momentum. Default: 0.
        weight_decay (float): L2 penalty. Default: 0.
        nesterov (bool): use Nesterov momentum. Default: False.
        maximize (bool): maximize the objective instead. Default: False.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([ 0.8000, -1.6000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        _flags("SGD", foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            momentum = group["momentum"]
            sparse = []
            dense = _grads(group, sparse)
            for p, g in sparse:  # torch: param.add_(grad, alpha=-lr), rows summed
                if momentum != 0 or group["weight_decay"] != 0:
                    raise RuntimeError("SGD: sparse gradients need momentum=0 and "
                                       "weight_decay=0")
                lr = -group["lr"] if group["maximize"] else group["lr"]
                B.scatter_add(p.array, g._idx, (-lr * g._val).astype(p.array.dtype))
                _bump(p)
            for p, g in dense:
                state = self.state[p] if momentum != 0 else {}
                buf = _sgd_update(p.array, g, state.get("momentum_buffer"),
                                  lr=group["lr"], momentum=momentum,
                                  dampening=group["dampening"],
                                  weight_decay=group["weight_decay"],
                                  nesterov=group["nesterov"], maximize=group["maximize"])
                if momentum != 0 and "momentum_buffer" not in state:
                    state["momentum_buffer"] = from_array(buf)
                _bump(p)
        return loss


def _sgd_update(p, g, buf_t, *, lr, momentum, dampening, weight_decay, nesterov, maximize):
    """One SGD step on array ``p`` (NumPy or CuPy: only array methods are used);
    returns the momentum buffer array (or None)."""
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    buf = None
    if momentum != 0:
        if buf_t is None:
            buf = g.copy()
        else:
            buf = buf_t.array
            buf *= momentum
            buf += g if dampening == 0 else (1 - dampening) * g
            buf_t._version[0] += 1
        g = g + momentum * buf if nesterov else buf
    p -= lr * g
    return buf
