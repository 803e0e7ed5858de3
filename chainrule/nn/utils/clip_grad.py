"""Gradient clipping, computed on the raw gradient arrays (no graph)."""
import math
import numbers

from chainrule import backend as B
from chainrule.core.tensor import Tensor, from_array

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _as_list(tensors):
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def _norm_of(a, norm_type):
    """The ``norm_type``-norm of array ``a`` as a float64 0-d array."""
    xp = B.xp_of(a)
    if a.size == 0:
        return xp.asarray(0.0)
    if norm_type == 2 and a.dtype.kind == "f":
        # squares in the array's dtype, summed in float64: 15x faster than a float64
        # copy and as accurate unless a square overflows, then the float64 path
        with B.np.errstate(over="ignore", invalid="ignore"):
            s = xp.square(a).sum(dtype="float64")
        if bool(xp.isfinite(s)) or not bool(xp.isfinite(a).all()):
            return xp.sqrt(s)
    a = xp.abs(a.astype("float64", copy=False))
    if norm_type == math.inf:
        return a.max()
    if norm_type == -math.inf:
        return a.min()
    if norm_type == 2:
        return xp.sqrt((a * a).sum())
    if norm_type == 1:
        return a.sum()
    if norm_type == 0:
        return (a != 0).sum().astype("float64")
    return (a ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of all ``tensors`` together (as if concatenated),
    as a 0-d tensor of their dtype; 0 for an empty list."""
    tensors = [t for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        from chainrule.core.creation import tensor
        return tensor(0.0)
    xp = B.xp_of(tensors[0].array)
    norms = xp.stack([xp.asarray(_norm_of(t.array, norm_type)) for t in tensors])
    total = _norm_of(norms, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            f"non-finite, so it cannot be clipped. To disable this error and scale the "
            f"gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return from_array(xp.asarray(total, dtype=tensors[0].array.dtype))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))``."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    tn = float(total_norm) if not isinstance(total_norm, Tensor) else \
        float(B.asnumpy(total_norm.array))
    coef = min(float(max_norm) / (tn + 1e-6), 1.0)
    if math.isnan(tn):
        coef = math.nan
    for g in grads:
        g.array *= g.array.dtype.type(coef)
        g._version[0] += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Rescale the gradients of ``parameters`` in place so that their total
    ``norm_type``-norm is at most ``max_norm``.

    Returns the total norm before clipping (a 0-d tensor).  With
    ``error_if_nonfinite`` a NaN/inf total norm raises ``RuntimeError``.

    >>> import chainrule as cr
    >>> from chainrule.nn import Parameter
    >>> p = Parameter(cr.zeros(2)); p.grad = cr.tensor([3., 4.])
    >>> clip_grad_norm_([p], 1.0).item()
    5.0
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                   foreach=None):
    """Deprecated alias of :func:`clip_grad_norm_`."""
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place."""
    if not isinstance(clip_value, numbers.Real):
        raise TypeError(f"clip_value must be a number, got {type(clip_value).__name__}")
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            g = p.grad.array
            B.xp_of(g).clip(g, -clip_value, clip_value, out=g)
            p.grad._version[0] += 1
