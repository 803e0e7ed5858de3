"""Tensor creation: ``tensor``, ``zeros``, ``arange``, ``randn``, ... (torch names)."""
import functools
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core import dtype as D
from chainrule.core.tensor import Tensor, _make, _rebuild, _to_array  # noqa: F401  (_rebuild: old pickles)

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty",
           "arange", "linspace", "logspace", "eye", "rand", "randn", "randint",
           "randperm", "normal", "bernoulli", "multinomial", "zeros_like", "ones_like",
           "full_like", "empty_like", "rand_like", "randn_like", "randint_like"]


def tensor(data, dtype=None, device=None, requires_grad=False):
    """Build a tensor by copying ``data`` (nested lists, scalars, arrays).

    >>> import chainrule
    >>> chainrule.tensor([[1., 2.], [3., 4.]]).shape
    chainrule.Size([2, 2])
    """
    t = _make(_to_array(data, dtype, device))
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    """Like :func:`tensor` but shares memory with a NumPy array when it can."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return _make(_to_array(data, dtype, device, copy=False))


def from_numpy(a):
    """A tensor sharing memory with NumPy array ``a``."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(a).__name__}")
    D.from_np_dtype(a.dtype)
    return _make(a)


def _size(size, op):
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"{op}: sizes must be non-negative integers, got {size}")
    return tuple(int(s) for s in size)


def _size_keyword(fn):
    """``fn(*size)`` also taking torch's ``size=`` keyword (``torch.rand(size=(2, 3))``)."""
    @functools.wraps(fn)
    def wrapper(*size, **kwargs):
        if "size" in kwargs:
            if size:
                raise TypeError(f"{fn.__name__}() got sizes both positionally and as size=")
            size = kwargs.pop("size")
            size = (tuple(size),) if isinstance(size, (list, tuple)) else (size,)
        return fn(*size, **kwargs)
    return wrapper


def _finish(a, requires_grad, device):
    if device is not None:
        a = B.to_device(a, device)
    t = _make(a)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_np(dtype):
    return D._Default.np if dtype is None else D.to_np_dtype(dtype)


@_size_keyword
def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _finish(np.zeros(_size(size, "zeros"), _float_np(dtype)), requires_grad, device)


@_size_keyword
def ones(*size, dtype=None, device=None, requires_grad=False):
    return _finish(np.ones(_size(size, "ones"), _float_np(dtype)), requires_grad, device)


@_size_keyword
def empty(*size, dtype=None, device=None, requires_grad=False):
    return _finish(np.empty(_size(size, "empty"), _float_np(dtype)), requires_grad, device)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = D.result_type(fill_value)
    return _finish(np.full(_size((size,), "full"), fill_value, D.to_np_dtype(dtype)),
                   requires_grad, device)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """``arange(end)`` or ``arange(start, end, step)``; integer args give int64."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        npd = np.dtype(np.int64) if ints else D._Default.np
    else:
        npd = D.to_np_dtype(dtype)
    return _finish(np.arange(start, end, step).astype(npd), requires_grad, device)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    return _finish(np.linspace(start, end, int(steps)).astype(_float_np(dtype)),
                   requires_grad, device)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False):
    return _finish(np.logspace(start, end, int(steps), base=base).astype(_float_np(dtype)),
                   requires_grad, device)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _finish(np.eye(n, m, dtype=_float_np(dtype)), requires_grad, device)


@_size_keyword
def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    g = generator or B.get_rng()
    return _finish(g.random(_size(size, "rand")).astype(_float_np(dtype)),
                   requires_grad, device)


@_size_keyword
def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    g = generator or B.get_rng()
    return _finish(g.standard_normal(_size(size, "randn")).astype(_float_np(dtype)),
                   requires_grad, device)


def randint(low, high=None, size=None, dtype=None, device=None, generator=None):
    """``randint(high, size)`` or ``randint(low, high, size)``, like torch."""
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    g = generator or B.get_rng()
    npd = np.dtype(np.int64) if dtype is None else D.to_np_dtype(dtype)
    return _finish(g.integers(low, high, _size((size,), "randint")).astype(npd), False, device)


def randperm(n, dtype=None, device=None, generator=None):
    g = generator or B.get_rng()
    npd = np.dtype(np.int64) if dtype is None else D.to_np_dtype(dtype)
    return _finish(g.permutation(int(n)).astype(npd), False, device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False):
    """Samples of N(mean, std**2): tensor or float ``mean``/``std``, or ``size=``."""
    g = generator or B.get_rng()
    m = B.asnumpy(mean._data) if isinstance(mean, Tensor) else mean
    s = B.asnumpy(std._data) if isinstance(std, Tensor) else std
    shape = np.broadcast_shapes(np.shape(m), np.shape(s)) if size is None else \
        _size((size,), "normal")
    if device is None:
        device = next((B.device_of(t._data) for t in (mean, std) if isinstance(t, Tensor)), None)
    return _finish((g.standard_normal(shape) * s + m).astype(_float_np(dtype)),
                   requires_grad, device)


def bernoulli(input, generator=None):
    g = generator or B.get_rng()
    p = input._data
    return _make((g.random(p.shape) < p).astype(p.dtype))


def multinomial(input, num_samples, replacement=False, generator=None):
    """Sample indices from the rows of a (non-negative) probability tensor."""
    g = generator or B.get_rng()
    p = B.asnumpy(input._data).astype(np.float64)
    rows = p.reshape(-1, p.shape[-1])
    if (rows < 0).any() or not np.isfinite(rows).all() or (rows.sum(1) <= 0).any():
        raise RuntimeError("multinomial: probability tensor contains inf, nan, "
                           "negative values or a zero row")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError(f"multinomial: cannot sample {num_samples} > {rows.shape[1]} "
                           f"categories without replacement")
    out = np.stack([g.choice(rows.shape[1], num_samples, replace=replacement,
                             p=r / r.sum()) for r in rows])
    return _make(out.reshape(p.shape[:-1] + (num_samples,)).astype(np.int64))


def _like(x, dtype):
    return x._data.dtype if dtype is None else D.to_np_dtype(dtype)


def zeros_like(x, dtype=None, device=None, requires_grad=False):
    xp = B.xp_of(x._data)
    return _finish(xp.zeros(x.shape, _like(x, dtype)), requires_grad, device)


def ones_like(x, dtype=None, device=None, requires_grad=False):
    xp = B.xp_of(x._data)
    return _finish(xp.ones(x.shape, _like(x, dtype)), requires_grad, device)


def empty_like(x, dtype=None, device=None, requires_grad=False):
    xp = B.xp_of(x._data)
    return _finish(xp.empty(x.shape, _like(x, dtype)), requires_grad, device)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False):
    xp = B.xp_of(x._data)
    return _finish(xp.full(x.shape, fill_value, _like(x, dtype)), requires_grad, device)


def rand_like(x, dtype=None, device=None, requires_grad=False):
    xp = B.xp_of(x._data)
    a = B.get_rng(xp).random(x.shape).astype(_like(x, dtype))
    return _finish(a, requires_grad, device)


def randn_like(x, dtype=None, device=None, requires_grad=False):
    xp = B.xp_of(x._data)
    a = B.get_rng(xp).standard_normal(x.shape).astype(_like(x, dtype))
    return _finish(a, requires_grad, device)


def randint_like(x, low, high=None, dtype=None, device=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, x.shape, dtype=dtype or x.dtype, device=device)


