"""Numerical gradient checks (float64 central differences), public like torch's.

``gradcheck`` compares the analytic vector-Jacobian product with central
differences, element by element for small inputs, and along random directions
for every input.  ``gradgradcheck`` runs ``gradcheck`` on the gradient itself.
A failure names the input and the worst element.
"""
import numpy as np

from chainrule.core import grad_mode as _gm
from chainrule.core.autograd_api import grad as _grad
from chainrule.core.tensor import Tensor, from_array

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]

_FULL_LIMIT = 400  # elements per input for the element-by-element check


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,) if isinstance(x, Tensor) else tuple(x)


def _float_outputs(outs):
    return [o for o in outs if isinstance(o, Tensor) and o.requires_grad and
            o.array.dtype.kind == "f"]


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              n_directions=3, seed=0, **_ignored):
    """Check ``func``'s gradients w.r.t. every input that requires grad.

    >>> import chainrule as cr
    >>> x = cr.randn(3, dtype=cr.float64, requires_grad=True)
    >>> gradcheck(cr.tanh, (x,))
    True
    """
    inputs = _as_tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    for i in diff:
        if inputs[i].array.dtype != np.float64:
            import warnings
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype}, not float64; "
                          f"the check will probably fail")
    rng = np.random.default_rng(seed)
    outs = _float_outputs(_as_tuple(func(*inputs)))
    if not outs:
        raise ValueError("gradcheck: no output requires grad")
    ws = [rng.standard_normal(o.shape) for o in outs]

    def scalar():
        with _gm.no_grad():
            res = _float_outputs_nograd(_as_tuple(func(*inputs)), len(outs))
        return float(sum((np.asarray(o.array, np.float64) * w).sum() for o, w in zip(res, ws)))

    analytic = _grad(outs, [inputs[i] for i in diff],
                     grad_outputs=[from_array(w.astype(o.array.dtype)) for o, w in zip(outs, ws)],
                     allow_unused=True)
    analytic = [np.zeros(inputs[i].shape) if g is None else np.asarray(g.array, np.float64)
                for i, g in zip(diff, analytic)]

    for i, a in zip(diff, analytic):
        t = inputs[i]
        orig = t.array
        if a.shape != orig.shape:
            return _fail(f"gradcheck: gradient of input {i} has shape {a.shape}, "
                         f"expected {orig.shape}", raise_exception)
        try:
            msg = None
            if orig.size <= _FULL_LIMIT:
                msg = _check_full(t, i, a, scalar, eps, atol, rtol)
            for d in range(n_directions if msg is None else 0):
                msg = _check_direction(t, i, a, scalar, rng.standard_normal(orig.shape), d,
                                       eps, atol, rtol)
                if msg is not None:
                    break
        finally:
            t.array = orig
        if msg is not None:
            return _fail(msg, raise_exception)
    return True


def _check_full(t, i, a, scalar, eps, atol, rtol):
    """Compare analytic gradient ``a`` of input ``i`` with central differences in
    every element; returns a message naming the worst element, or None."""
    orig = t.array
    flat = orig.copy().reshape(-1)
    num = np.empty(flat.size)
    for j in range(flat.size):
        v = flat[j]
        flat[j] = v + eps
        t.array = flat.reshape(orig.shape)
        hi = scalar()
        flat[j] = v - eps
        lo = scalar()
        flat[j] = v
        num[j] = (hi - lo) / (2 * eps)
    num = num.reshape(orig.shape)
    err = np.abs(a - num) - (atol + rtol * np.abs(num))
    if not (err.size and err.max() > 0):
        return None
    k = np.unravel_index(int(np.argmax(err)), err.shape)
    return (f"gradcheck: Jacobian mismatch for input {i} (shape {orig.shape}) at "
            f"element {tuple(int(x) for x in k)}: analytic {a[k]:.8g}, numerical "
            f"{num[k]:.8g} (atol={atol}, rtol={rtol}); "
            f"{int((err > 0).sum())} of {err.size} elements differ")


def _check_direction(t, i, a, scalar, u, d, eps, atol, rtol):
    """Compare the derivative of input ``i`` along direction ``u`` with a central
    difference; returns a message or None."""
    orig = t.array
    t.array = np.asarray(orig + eps * u)
    hi = scalar()
    t.array = np.asarray(orig - eps * u)
    lo = scalar()
    t.array = orig
    numd = (hi - lo) / (2 * eps)
    anad = float((a * u).sum())
    if abs(anad - numd) > atol * max(1, np.sqrt(u.size)) + rtol * abs(numd):
        return (f"gradcheck: directional derivative mismatch for input {i} (shape "
                f"{orig.shape}), direction {d}: analytic {anad:.8g}, numerical "
                f"{numd:.8g}")
    return None


def _float_outputs_nograd(outs, n):
    res = [o for o in outs if isinstance(o, Tensor) and o.array.dtype.kind == "f"]
    return res[:n] if len(res) >= n else res


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, seed=0, **_ignored):
    """Check second derivatives: gradcheck of ``(inputs, v) -> vJ``."""
    inputs = _as_tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outs = _float_outputs(_as_tuple(func(*inputs)))
    rng = np.random.default_rng(seed + 1)
    if grad_outputs is None:
        grad_outputs = [from_array(rng.standard_normal(o.shape).astype(o.array.dtype))
                        .requires_grad_() for o in outs]
    n = len(inputs)

    def first_grad(*args):
        ins, ws = args[:n], args[n:]
        with _gm.enable_grad():
            o = _float_outputs(_as_tuple(func(*ins)))
            gs = _grad(o, [ins[i] for i in diff], grad_outputs=list(ws),
                       create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None and g.requires_grad)

    if not first_grad(*inputs, *grad_outputs):
        return True  # the gradient is constant: nothing to check
    return gradcheck(first_grad, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception, seed=seed)
