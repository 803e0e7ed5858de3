"""dtypes with torch's names and torch's type-promotion rules.

NumPy's own promotion differs between 1.x (value-based casting) and 2.x
(NEP 50) and from torch's (``int32 + 2.5 -> float32``), so chainrule decides
the result dtype itself and casts before calling NumPy.
"""
import numpy as np

__all__ = ["dtype", "float16", "float32", "float64", "int8", "uint8", "int16",
           "int32", "int64", "bool_", "get_default_dtype", "set_default_dtype",
           "to_np_dtype", "from_np_dtype", "result_type", "is_floating_np"]


class dtype:
    """A tensor element type: ``chainrule.float32`` etc.  Wraps a NumPy dtype."""
    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_cat")

    def __init__(self, name, np_dtype):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        self._cat = {"b": 0, "u": 1, "i": 1, "f": 2}[self.np.kind]

    def __repr__(self):
        return f"chainrule.{self.name}"

    def __reduce__(self):
        return (from_np_dtype, (self.np.str,))


float16 = dtype("float16", np.float16)
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
int8 = dtype("int8", np.int8)
uint8 = dtype("uint8", np.uint8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
bool_ = dtype("bool", np.bool_)

_ALL = (float16, float32, float64, int8, uint8, int16, int32, int64, bool_)
_NP2DT = {d.np: d for d in _ALL}
_NAME2DT = {d.name: d for d in _ALL}
_NAME2DT.update({"float": float32, "double": float64, "half": float16,
                 "long": int64, "int": int32, "short": int16})


class _Default:
    np = np.dtype(np.float32)
    dt = float32


def get_default_dtype():
    return _Default.dt


def set_default_dtype(d):
    d = _as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating-point types are allowed, got {d}")
    _Default.dt, _Default.np = d, d.np


def _as_dtype(d):
    if isinstance(d, dtype):
        return d
    if isinstance(d, str) and d in _NAME2DT:
        return _NAME2DT[d]
    if d is float:
        return _Default.dt
    if d is int:
        return int64
    if d is bool:
        return bool_
    try:
        return _NP2DT[np.dtype(d)]
    except (TypeError, KeyError):
        raise TypeError(f"unsupported dtype {d!r}; use one of "
                        f"{', '.join(x.name for x in _ALL)}") from None


def to_np_dtype(d):
    """NumPy dtype for a chainrule dtype / numpy dtype / string / python type."""
    if d is None:
        return None
    if isinstance(d, dtype):
        return d.np
    return _as_dtype(d).np


def from_np_dtype(npd):
    try:
        return _NP2DT[np.dtype(npd)]
    except KeyError:
        raise TypeError(f"NumPy dtype {npd} has no chainrule equivalent") from None


def is_floating_np(npd):
    return npd.kind == "f"


_CAT = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _scalar_np(v):
    if isinstance(v, bool):
        return np.dtype(np.bool_)
    if isinstance(v, int):
        return np.dtype(np.int64)
    return _Default.np


def result_type(*operands):
    """torch's promotion: dimensioned tensors > 0-d tensors > Python scalars.

    A lower tier only matters when its category (bool < int < float) is higher;
    then a 0-d tensor contributes its own dtype and a Python scalar the default
    dtype of its category.  Operands are arrays (``.ndim``/``.dtype``) or
    Python scalars.
    """
    tiers = ([], [], [])
    for o in operands:
        if isinstance(o, (bool, int, float)):
            tiers[2].append(_scalar_np(o))
        elif o.ndim == 0:
            tiers[1].append(o.dtype)
        else:
            tiers[0].append(o.dtype)
    res = None
    for tier in tiers:
        if not tier:
            continue
        t = tier[0]
        for d in tier[1:]:
            if d == t:
                continue
            if _CAT[d.kind] != _CAT[t.kind]:  # torch: the higher category's dtype wins
                t = d if _CAT[d.kind] > _CAT[t.kind] else t
            else:
                t = np.promote_types(t, d)
        if res is None or _CAT[t.kind] > _CAT[res.kind]:
            res = t
    return res
