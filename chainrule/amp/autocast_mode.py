"""``chainrule.autocast``: torch's autocast context manager and decorator.

>>> import chainrule as cr
>>> w = cr.randn(3, 4, requires_grad=True)
>>> with cr.autocast("cpu", dtype=cr.float16):
...     y = cr.nn.functional.linear(cr.randn(2, 4), w)
...     s = y.softmax(-1)
>>> y.dtype, s.dtype
(chainrule.float16, chainrule.float32)

Inside the region the ops of :mod:`chainrule.functional.autocast` cast their inputs:
GEMMs (linear, matmul, conv, RNN cells...) to float16, precision-sensitive ops
(softmax, log, exp, sum, the losses...) to float32, ops with several inputs to the
widest.  Casts are recorded by autograd, so each parameter's gradient comes back in
its own dtype.  See docs/amp.md.
"""
import functools
import warnings

from chainrule.backend import cuda_available
from chainrule.core import autocast_state as _ac
from chainrule.core import dtype as D
from chainrule.core.tensor import Tensor

__all__ = ["autocast", "is_autocast_available", "is_autocast_enabled", "get_autocast_dtype",
           "set_autocast_enabled", "set_autocast_dtype", "is_autocast_cache_enabled",
           "set_autocast_cache_enabled", "clear_autocast_cache",
           "autocast_increment_nesting", "autocast_decrement_nesting",
           "is_autocast_cpu_enabled", "is_autocast_gpu_enabled", "get_autocast_cpu_dtype",
           "get_autocast_gpu_dtype", "set_autocast_cpu_enabled", "set_autocast_gpu_enabled",
           "set_autocast_cpu_dtype", "set_autocast_gpu_dtype", "custom_fwd", "custom_bwd"]

from chainrule.core.autocast_state import (  # noqa: E402,F401
    is_autocast_enabled, get_autocast_dtype, set_autocast_enabled, set_autocast_dtype,
    is_autocast_cache_enabled, set_autocast_cache_enabled, clear_autocast_cache)


def is_autocast_available(device_type):
    """Whether ``device_type`` can autocast: ``"cpu"`` always, ``"cuda"`` with a GPU."""
    return device_type == "cpu" or (device_type == "cuda" and cuda_available())


def autocast_increment_nesting():
    _ac._State.nesting += 1
    return _ac._State.nesting


def autocast_decrement_nesting():
    _ac._State.nesting -= 1
    return _ac._State.nesting


# torch's older per-device query names
def is_autocast_cpu_enabled():
    return is_autocast_enabled("cpu")


def is_autocast_gpu_enabled():
    return is_autocast_enabled("cuda")


def get_autocast_cpu_dtype():
    return get_autocast_dtype("cpu")


def get_autocast_gpu_dtype():
    return get_autocast_dtype("cuda")


def set_autocast_cpu_enabled(enabled):
    set_autocast_enabled("cpu", enabled)


def set_autocast_gpu_enabled(enabled):
    set_autocast_enabled("cuda", enabled)


def set_autocast_cpu_dtype(dtype):
    set_autocast_dtype("cpu", dtype)


def set_autocast_gpu_dtype(dtype):
    set_autocast_dtype("cuda", dtype)


class autocast:
    """``autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``.

    A context manager or decorator; regions nest, and ``autocast(..., enabled=False)``
    inside one turns autocast off for its body (torch's semantics).  ``dtype`` defaults
    to the device type's autocast dtype, float16 for both ``"cpu"`` and ``"cuda"``
    (torch's CPU default is bfloat16, which NumPy and CuPy lack).  ``cache_enabled``
    (default True) caches the float16 copies of leaf parameters for the region.
    """

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _ac.DEVICE_TYPES:
            raise RuntimeError(f"autocast: unsupported device_type {device_type!r}; chainrule "
                               f"autocasts 'cpu' and 'cuda'")
        self.device = device_type
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else D._as_dtype(dtype)
        self._cache_enabled = (is_autocast_cache_enabled() if cache_enabled is None
                               else bool(cache_enabled))
        self._enabled = bool(enabled)
        if device_type == "cuda" and self._enabled and not cuda_available():
            warnings.warn("User provided device_type of 'cuda', but CUDA is not available. "
                          "Disabling")
            self._enabled = False
        if self._enabled and self.fast_dtype not in _ac.LOWER_DTYPES:
            warnings.warn(f"In {device_type} autocast, but the target dtype "
                          f"{self.fast_dtype} is not supported. Disabling autocast.\n"
                          f"chainrule autocast only supports dtype of chainrule.float16 "
                          f"(NumPy and CuPy have no bfloat16).")
            self._enabled = False

    def __enter__(self):
        self.prev_cache_enabled = is_autocast_cache_enabled()
        self.prev = is_autocast_enabled(self.device)
        self.prev_fastdtype = get_autocast_dtype(self.device)
        self._prev_active = _ac._State.active   # (an engine backward suspends autocast)
        set_autocast_enabled(self.device, self._enabled)
        set_autocast_dtype(self.device, self.fast_dtype)
        autocast_increment_nesting()
        set_autocast_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if autocast_decrement_nesting() == 0:
            clear_autocast_cache()
        set_autocast_enabled(self.device, self.prev)
        set_autocast_dtype(self.device, self.prev_fastdtype)
        set_autocast_cache_enabled(self.prev_cache_enabled)
        _ac._State.active = self._prev_active
        return False

    def __call__(self, func):
        args = (self.device, self.fast_dtype, self._enabled, self._cache_enabled)

        @functools.wraps(func)
        def decorate_autocast(*a, **kw):
            with autocast(*args):
                return func(*a, **kw)
        return decorate_autocast

    def __repr__(self):
        return (f"autocast(device_type={self.device!r}, dtype={self.fast_dtype}, "
                f"enabled={self._enabled})")


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """torch.amp.custom_fwd for an ``autograd.Function``'s ``forward``: remembers the
    autocast state for ``custom_bwd``; with ``cast_inputs`` the forward runs with
    autocast off and its floating-point Tensor inputs cast to ``cast_inputs`` (when
    autocast is on)."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        ctx = args[0]
        ctx._fwd_used_autocast = is_autocast_enabled(device_type)
        ctx._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None or not ctx._fwd_used_autocast:
            return fwd(*args, **kwargs)
        want = D._as_dtype(cast_inputs)

        def c(v):
            if isinstance(v, Tensor) and v.is_floating_point() and v.dtype != D.float64:
                return v.to(want)
            return v
        with autocast(device_type, enabled=False):
            return fwd(*(c(a) for a in args), **{k: c(v) for k, v in kwargs.items()})
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """torch.amp.custom_bwd: run ``backward`` with the autocast state its forward had."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type, enabled=getattr(ctx, "_fwd_used_autocast", False),
                      dtype=getattr(ctx, "_dtype", None)):
            return bwd(*args, **kwargs)
    return decorate_bwd
