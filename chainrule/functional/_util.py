"""Helpers shared by the op families: argument coercion, dims, broadcasting."""
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core import dtype as D
from chainrule.core.creation import tensor
from chainrule.core.tensor import Tensor, _make

_SCALARS = (bool, int, float, np.bool_, np.integer, np.floating)


def as_tensor_arg(x, like=None, op="op"):
    """Coerce an op argument to a Tensor (scalars become 0-d constants)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, _SCALARS):
        x = x.item() if isinstance(x, np.generic) else x
        npd = D.result_type(x)
        xp = B.xp_of(like._data) if like is not None else np
        return _make(xp.asarray(x, dtype=npd))
    if isinstance(x, (list, tuple, np.ndarray)):
        return tensor(x)
    raise TypeError(f"{op}: expected a Tensor or a number, got {type(x).__name__}")


def const(value, npd, like):
    """A 0-d constant of dtype ``npd`` on ``like``'s device."""
    return _make(B.xp_of(like._data).asarray(value, dtype=npd))


def norm_dim(dim, ndim, op):
    n = max(ndim, 1)
    if not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not -n <= dim < n:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return int(dim) % n


def norm_dims(dim, ndim, op):
    """``dim`` (None, int or tuple) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, numbers.Integral):
        dim = (dim,)
    axes = tuple(sorted(norm_dim(d, ndim, op) for d in dim))
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
    if ndim == 0:
        return ()
    return axes


def float_np(npd):
    """Result dtype for ops that always produce floats (int -> default float)."""
    return npd if npd.kind == "f" else D._Default.np


# torch's argument parser accepts NumPy's keyword names for every torch.* op and
# Tensor method with a ``dim``/``keepdim`` parameter (python_arg_parser.cpp), and an
# ``out=`` tensor for the result.
NUMPY_KEYWORDS = {"axis": "dim", "keepdims": "keepdim"}


def _write_out(out, result, name):
    """torch's ``out=``: ``out`` takes the result's values (and shape), returned."""
    if not isinstance(out, Tensor) or not isinstance(result, Tensor):
        raise TypeError(f"{name}(): out= must be a Tensor (and the op return one tensor)")
    if out.requires_grad and out.is_leaf:
        raise RuntimeError(f"{name}(): out={tuple(out.shape)} requires grad; out= "
                           f"does not support automatic differentiation")
    out.data = result.detach()
    return out


def numpy_keywords(fn):
    """``fn`` also accepting NumPy's ``axis=`` / ``keepdims=`` for its ``dim`` /
    ``keepdim``, and torch's ``out=`` (``fn`` itself where none applies)."""
    import functools
    import inspect
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn
    aliases = {a: t for a, t in NUMPY_KEYWORDS.items() if t in params and a not in params}
    takes_out = "out" not in params and not any(
        p.kind == p.VAR_KEYWORD for p in params.values())

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not kwargs:
            return fn(*args)
        for alias, name in aliases.items():
            if alias in kwargs:
                if name in kwargs:
                    raise TypeError(f"{fn.__name__}() got both {name}= and {alias}=")
                kwargs[name] = kwargs.pop(alias)
        out = kwargs.pop("out", None) if takes_out else None
        result = fn(*args, **kwargs)
        return result if out is None else _write_out(out, result, fn.__name__)
    return wrapper
