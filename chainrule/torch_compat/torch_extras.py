"""Names of ``torch.*`` whose torch signature is wider than chainrule's root function:
they take precedence over ``chainrule.<name>`` on the ``torch`` alias module.

* The legacy typed constructors (``torch.LongTensor([1, 2])``, ``torch.FloatTensor(2, 3)``)
  and ``isinstance(x, torch.LongTensor)``.
* ``save(obj, f)`` / ``load(f, map_location=None, weights_only=None)``: ``f`` may be a
  path or an open binary file, as in torch; the format stays chainrule's (safetensors,
  no pickle), so ``weights_only`` is always effectively True.
"""
import numbers
import os
import tempfile

from chainrule.core import dtype as _dt
from chainrule.core.creation import empty as _empty, tensor as _tensor
from chainrule.core.tensor import Tensor as _Tensor
from chainrule.utils import serialization as _ser

__all__ = ["save", "load", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor",
           "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True):
    """``torch.save``: to a path or to a writable binary file object."""
    if hasattr(f, "write"):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "obj")
            _ser.save(obj, path)
            with open(path, "rb") as src:
                f.write(src.read())
        return
    _ser.save(obj, f)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """``torch.load``: from a path or a readable binary file object."""
    if hasattr(f, "read"):
        data = f.read()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "obj")
            with open(path, "wb") as dst:
                dst.write(data if isinstance(data, bytes) else bytes(data))
            return _ser.load(path, map_location=map_location,
                             weights_only=weights_only is not False)
    return _ser.load(f, map_location=map_location, weights_only=weights_only is not False)




class _LegacyType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, _Tensor) and obj.dtype == cls.dtype

    def __call__(cls, *args, device=None):
        """``T(sequence)`` -> a tensor of the values; ``T(*sizes)`` -> uninitialized."""
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            data = args[0]
            return data.to(cls.dtype) if isinstance(data, _Tensor) else \
                _tensor(data, dtype=cls.dtype, device=device)
        return _empty(*args, dtype=cls.dtype, device=device)


def _legacy(name, dtype):
    return _LegacyType(name, (), {"dtype": dtype, "__module__": "torch",
                                  "__doc__": f"Legacy constructor of {dtype} tensors."})


FloatTensor, DoubleTensor = _legacy("FloatTensor", _dt.float32), _legacy("DoubleTensor", _dt.float64)
HalfTensor, LongTensor = _legacy("HalfTensor", _dt.float16), _legacy("LongTensor", _dt.int64)
IntTensor, ShortTensor = _legacy("IntTensor", _dt.int32), _legacy("ShortTensor", _dt.int16)
CharTensor, ByteTensor = _legacy("CharTensor", _dt.int8), _legacy("ByteTensor", _dt.uint8)
BoolTensor = _legacy("BoolTensor", _dt.bool_)
