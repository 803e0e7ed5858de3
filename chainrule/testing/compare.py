"""``assert_close``: torch.testing's comparison of tensors, numbers and containers.

>>> import chainrule as cr
>>> from chainrule.testing import assert_close
>>> assert_close(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0 + 1e-7]))
"""
import collections.abc
import numbers

import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor

__all__ = ["assert_close"]

# torch.testing's default tolerances by dtype: (rtol, atol)
_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7)}


def _array(x):
    if isinstance(x, Tensor):
        return B.asnumpy(x.detach().array)
    return np.asarray(x)


def _compare(actual, expected, rtol, atol, equal_nan, check_dtype, where):
    a, e = _array(actual), _array(expected)
    if type(actual) is not type(expected) and isinstance(actual, Tensor) != isinstance(expected, Tensor):
        raise TypeError(f"assert_close{where}: types differ: {type(actual).__name__} vs "
                        f"{type(expected).__name__}")
    if a.shape != e.shape:
        raise AssertionError(f"assert_close{where}: shapes differ: {a.shape} vs {e.shape}")
    if check_dtype and isinstance(actual, Tensor) and a.dtype != e.dtype:
        raise AssertionError(f"assert_close{where}: dtypes differ: {a.dtype} vs {e.dtype}")
    default = _TOLERANCES.get(np.result_type(a, e), (0.0, 0.0))
    rtol = default[0] if rtol is None else rtol
    atol = default[1] if atol is None else atol
    ok = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if not ok.all():
        bad = int((~ok).sum())
        diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
        diff = np.where(ok, 0, diff)
        i = tuple(int(v) for v in np.unravel_index(
            int(np.argmax(np.nan_to_num(diff, nan=np.inf))), a.shape))
        raise AssertionError(
            f"Tensor-likes are not close!{where}\n\nMismatched elements: {bad} / {a.size}\n"
            f"Greatest absolute difference: {diff.max()} at index {i} (up to {atol} allowed)\n"
            f"(rtol={rtol}, atol={atol})")


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None, _where=""):
    """Raise AssertionError unless ``actual`` and ``expected`` are close:
    ``|a - e| <= atol + rtol * |e|`` elementwise, with torch's per-dtype defaults;
    sequences and mappings are compared entry by entry."""
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: give both rtol and atol, or neither")
    try:
        if isinstance(actual, collections.abc.Mapping):
            if set(actual) != set(expected):
                raise AssertionError(f"assert_close{_where}: keys differ")
            for k in actual:
                assert_close(actual[k], expected[k], rtol=rtol, atol=atol, equal_nan=equal_nan,
                             check_dtype=check_dtype, _where=f"{_where}[{k!r}]")
        elif isinstance(actual, (list, tuple)) and not isinstance(actual, Tensor):
            if len(actual) != len(expected):
                raise AssertionError(f"assert_close{_where}: lengths differ: "
                                     f"{len(actual)} vs {len(expected)}")
            for i, (a, e) in enumerate(zip(actual, expected)):
                assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan,
                             check_dtype=check_dtype, _where=f"{_where}[{i}]")
        elif isinstance(actual, (Tensor, numbers.Number, np.ndarray)):
            _compare(actual, expected, rtol, atol, equal_nan, check_dtype, _where)
        else:
            raise TypeError(f"assert_close: cannot compare {type(actual).__name__}")
    except AssertionError as e:
        raise AssertionError(msg if isinstance(msg, str) else e) from None
