"""Names of ``torch.*`` whose torch signature is wider than chainrule's root function:
they take precedence over ``chainrule.<name>`` on the ``torch`` alias module.

* ``save(obj, f)`` / ``load(f, map_location=None, weights_only=None)``: ``f`` may be a
  path or an open binary file, as in torch; the format stays chainrule's (safetensors,
  no pickle), so ``weights_only`` is always effectively True.
"""
import os
import tempfile

from chainrule.utils import serialization as _ser

__all__ = ["save", "load"]


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
            return _ser.load(path, map_location=map_location)
    return _ser.load(f, map_location=map_location)


