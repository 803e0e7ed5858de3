"""``save`` / ``load`` in the safetensors format: no pickle, so loading an
untrusted file runs no code.

A file is an 8-byte little-endian header length, a JSON header mapping each
tensor name to its dtype, shape and byte range, then the raw bytes.  Flat
``state_dict``s are stored as plain safetensors (readable by the
``safetensors`` package and by torch); nested objects (training checkpoints
with optimizer state, epoch, RNG state...) keep their structure as JSON in the
header's ``__metadata__``.  Writes are atomic: temp file, fsync, rename.

Whole objects (``torch.save(model, f)``) are stored without pickle too: an instance of
a storable class (``nn.Module`` registers itself) is its class's name plus its
``__dict__``, encoded like everything else; tensors shared between attributes (tied
weights) are stored once and come back shared.  Loading such a file rebuilds only
classes it trusts, like torch's ``weights_only`` unpickler: chainrule's own storable
classes, and those passed to :func:`add_safe_globals` / the :func:`safe_globals`
context.  Nothing in the file is imported or called: a class is looked up by name
among the trusted ones, created with ``__new__`` and given its ``__dict__``.
"""
import collections
import contextlib
import json
import math
import os
import struct
import tempfile
import types

import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor, from_array

__all__ = ["save", "load", "atomic_write_bytes", "TEMP_SUFFIX", "register_storable",
           "add_safe_globals", "safe_globals", "get_safe_globals"]

_DT = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8,
       "U8": np.uint8, "I16": np.int16, "I32": np.int32, "I64": np.int64, "BOOL": np.bool_}
_NP2ST = {np.dtype(v): k for k, v in _DT.items()}
_META_KEY = "chainrule.structure"
_MAX_HEADER = 100 * 1024 * 1024
TEMP_SUFFIX = ".tmp"  # atomic writes go through '.<name>XXXX.tmp' in the same folder


# ---------------------------------------------------------------- trusted classes
_STORABLE = []      # base classes whose instances save() stores by __dict__ (nn.Module)
_SAFE = {}          # "module:qualname" -> class or function load() may rebuild / refer to
_SCOPED = []        # stack of the safe_globals() contexts' dicts
_LOADED_OK = [False]  # load(weights_only=False): trust storable classes of imported modules


def _name_of(obj):
    return f"{obj.__module__}:{obj.__qualname__}"


def register_storable(cls, constructor=None):
    """Let :func:`save` store instances of ``cls`` and its subclasses by ``__dict__``
    (``nn.Module`` calls this).  With ``constructor``, ``cls`` is a Tensor subclass
    (``nn.Parameter``) rebuilt as ``constructor(tensor, requires_grad)``."""
    _STORABLE.append((cls, constructor))
    _SAFE[_name_of(cls)] = cls


def add_safe_globals(globals_list):
    """Trust these classes and functions when loading whole objects (torch's
    ``torch.serialization.add_safe_globals``)."""
    for g in globals_list:
        obj = g[0] if isinstance(g, tuple) else g
        _SAFE[_name_of(obj)] = obj


@contextlib.contextmanager
def safe_globals(globals_list):
    """Trust these classes and functions inside the ``with`` block only."""
    _SCOPED.append({_name_of(g[0] if isinstance(g, tuple) else g):
                    g[0] if isinstance(g, tuple) else g for g in globals_list})
    try:
        yield
    finally:
        _SCOPED.pop()


def get_safe_globals():
    return list(_SAFE.values())


def _trusted(name):
    """The trusted class or function called ``name`` ("module:qualname"), or None."""
    for scope in reversed(_SCOPED):
        if name in scope:
            return scope[name]
    if name in _SAFE:
        return _SAFE[name]
    mod, _, qual = name.partition(":")
    if mod == "chainrule" or mod.startswith("chainrule.") or _LOADED_OK[0]:
        import sys
        obj = sys.modules.get(mod)  # an imported module only: loading imports nothing
        for part in qual.split("."):
            obj = getattr(obj, part, None)
        storable = isinstance(obj, type) and any(issubclass(obj, c) for c, _ in _STORABLE)
        if storable or isinstance(obj, types.FunctionType):
            return obj
    return None


def _global_name(obj, path):
    """"module:qualname" under which ``obj`` (a function or class) is found again: its
    own module, or a chainrule namespace that re-exports it (chainrule.functional's
    ops are wrapped for torch's keywords, so their own module holds the plain one)."""
    import sys
    qual = obj.__qualname__
    for mod in (obj.__module__, "chainrule.nn.functional", "chainrule.functional",
                "chainrule"):
        found = sys.modules.get(mod)
        for part in qual.split("."):
            found = getattr(found, part, None)
        if found is obj:
            return f"{mod}:{qual}"
    raise TypeError(f"save: can't store {obj!r} in {path}: a function or class is stored "
                    f"by its name, and {obj.__module__}.{qual} does not name it (a lambda "
                    f"or a nested function?)")


def _storable(obj):
    for cls, ctor in _STORABLE:
        if isinstance(obj, cls):
            return cls, ctor
    return None


def _encode(obj, tensors, path, memo=None):
    """JSON-able structure with tensors replaced by references."""
    memo = {} if memo is None else memo
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray):
        if id(obj) in memo:
            return memo[id(obj)][0]
        key = f"t{len(tensors)}"
        arr = B.asnumpy(obj.array if isinstance(obj, Tensor) else obj)
        tensors[key] = arr
        kind = "tensor" if isinstance(obj, Tensor) else "ndarray"
        out = {"__" + kind + "__": key}
        sub = _storable(obj) if isinstance(obj, Tensor) and type(obj) is not Tensor else None
        if sub:
            out = {"__tensorobj__": [key, _name_of(type(obj)), bool(obj.requires_grad)]}
        memo[id(obj)] = (out, obj)  # keep obj alive: ids stay unique while encoding
        return out
    if isinstance(obj, collections.OrderedDict) or isinstance(obj, (set, frozenset)):
        tag = "__odict__" if isinstance(obj, dict) else "__set__"
        items = [[_encode(k, tensors, path, memo), _encode(v, tensors, path, memo)]
                 for k, v in obj.items()] if isinstance(obj, dict) else \
            [_encode(v, tensors, path, memo) for v in obj]
        return {tag: items}
    if isinstance(obj, (types.FunctionType, type)):
        return {"__global__": _global_name(obj, path)}
    if _storable(obj) and not isinstance(obj, Tensor):
        if id(obj) in memo:
            raise TypeError(f"save: {type(obj).__name__} object appears twice in what is "
                            f"saved to {path} (shared modules are not supported)")
        memo[id(obj)] = (None, obj)
        return {"__object__": [_name_of(type(obj)), _encode(vars(obj), tensors, path, memo)]}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"__dict__": [[k, _encode(v, tensors, path, memo)] for k, v in obj.items()]}
        return {"__kdict__": [[_encode(k, tensors, path, memo), _encode(v, tensors, path, memo)]
                              for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"__list__" if isinstance(obj, list) else "__tuple__":
                [_encode(v, tensors, path, memo) for v in obj]}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    raise TypeError(f"save: can't store an object of type {type(obj).__name__} in {path}; "
                    f"only tensors, arrays, numbers, strings, None, modules, and lists/"
                    f"tuples/dicts/sets of them are allowed (no pickle)")


class _Bad(ValueError):
    """A header or structure that does not follow the format (the loader words it)."""


_TAGS = ("__tensor__", "__ndarray__", "__dict__", "__kdict__", "__list__", "__tuple__",
         "__float__", "__odict__", "__set__", "__global__", "__object__", "__tensorobj__")


class UntrustedGlobal(RuntimeError):
    """A whole-object file names a class or function load() does not trust."""


def _untrusted(name):
    mod, _, qual = name.partition(":")
    return UntrustedGlobal(
        f"it holds an instance of or a reference to {mod}.{qual}, which load() does not "
        f"trust (like torch's weights_only load). If you trust this file, allow it with "
        f"add_safe_globals([{qual}]) or inside `with safe_globals([{qual}]):` "
        f"(chainrule.utils.serialization; torch.serialization's names)")


def _decode(obj, arrays, device, memo=None):
    """The object that ``_encode`` turned into ``obj``; every tag, pair and tensor
    reference is checked (raises :class:`_Bad` saying what is wrong)."""
    memo = {} if memo is None else memo
    if isinstance(obj, list):
        raise _Bad("a bare JSON list in the structure (lists are tagged)")
    if not isinstance(obj, dict):
        return obj
    if len(obj) != 1 or next(iter(obj)) not in _TAGS:
        raise _Bad(f"an object with keys {sorted(obj)[:4]} in the structure (expected "
                   f"one of the tags {', '.join(_TAGS)})")
    (tag, v), = obj.items()
    if tag == "__tensorobj__":
        if not (isinstance(v, list) and len(v) == 3 and isinstance(v[1], str)):
            raise _Bad(f"__tensorobj__ holds {str(v)[:60]} (expected [key, class, "
                       f"requires_grad])")
        key, name, rg = v
        if ("t", key) not in memo:
            cls = _trusted(name)
            ctor = next((c for k, c in _STORABLE if cls is not None and issubclass(cls, k)),
                        None)
            if ctor is None:
                raise _untrusted(name)
            memo[("t", key)] = ctor(_decode({"__tensor__": key}, arrays, device), bool(rg))
        return memo[("t", key)]
    if tag in ("__tensor__", "__ndarray__"):
        if not isinstance(v, str) or v not in arrays:
            raise _Bad(f"the structure refers to tensor {v!r}, which is not in the file")
        if (tag, v) in memo:
            return memo[(tag, v)]
        a = arrays[v]
        out = a if tag == "__ndarray__" else \
            from_array(a if device is None else B.to_device(a, device))
        memo[(tag, v)] = out
        return out
    if tag == "__global__":
        if not isinstance(v, str):
            raise _Bad(f"__global__ holds a {type(v).__name__}, not a name")
        g = _trusted(v)
        if g is None:
            raise _untrusted(v)
        return g
    if tag == "__object__":
        if not (isinstance(v, list) and len(v) == 2 and isinstance(v[0], str)):
            raise _Bad(f"__object__ holds {str(v)[:60]} (expected [class, state])")
        cls = _trusted(v[0])
        if not isinstance(cls, type):
            raise _untrusted(v[0])
        state = _decode(v[1], arrays, device, memo)
        if not isinstance(state, dict):
            raise _Bad(f"the state of a {v[0]} object is a {type(state).__name__}")
        inst = cls.__new__(cls)
        inst.__dict__.update(state)
        return inst
    if tag == "__float__":
        if v not in ("nan", "inf", "-inf"):
            raise _Bad(f"__float__ holds {v!r} (expected 'nan', 'inf' or '-inf')")
        return float(v)
    if not isinstance(v, list):
        raise _Bad(f"{tag} holds a {type(v).__name__}, not a list")
    if tag in ("__list__", "__tuple__", "__set__"):
        items = [_decode(x, arrays, device, memo) for x in v]
        try:
            return items if tag == "__list__" else tuple(items) if tag == "__tuple__" \
                else set(items)
        except TypeError:
            raise _Bad("__set__ holds an unhashable item") from None
    out = collections.OrderedDict() if tag == "__odict__" else {}
    for pair in v:
        if not isinstance(pair, list) or len(pair) != 2:
            raise _Bad(f"{tag} holds {str(pair)[:40]} (expected [key, value] pairs)")
        key = pair[0] if tag == "__dict__" else _decode(pair[0], arrays, device, memo)
        if tag == "__dict__" and not isinstance(key, str):
            raise _Bad(f"__dict__ has a key of type {type(key).__name__}, not str")
        try:
            out[key] = _decode(pair[1], arrays, device, memo)
        except TypeError:  # an unhashable key: a list or dict
            raise _Bad(f"{tag} has an unhashable key of type {type(key).__name__}") from None
    return out


def atomic_write_bytes(path, chunks):
    """Write ``chunks`` (bytes-like) to ``path`` atomically: a temp file in the
    same folder, fsync, then rename over the target.  On any failure (a full disk,
    a read-only folder) the temp file is removed, ``path`` keeps its previous
    content, and the OSError names ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path),
                                   suffix=TEMP_SUFFIX)
        with os.fdopen(fd, "wb") as f:
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_folder(folder)
    except OSError as e:
        raise _naming(e, path) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _naming(e, path):
    """``e`` as an OSError of the same kind whose filename is ``path`` (the final name,
    not the temp file's)."""
    if e.errno is None:
        return e
    return OSError(e.errno, e.strerror or str(e), path)


def _fsync_folder(folder):
    try:
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - platforms without directory fsync
        pass


def save(obj, path):
    """Save tensors (a state_dict, or a nested checkpoint) to ``path``.

    >>> import chainrule as cr, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> cr.save({"weight": cr.ones(2, 3)}, p)
    >>> cr.load(p)["weight"].shape
    chainrule.Size([2, 3])
    """
    path = os.fspath(path)
    flat = isinstance(obj, dict) and obj and all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())
    if flat:
        arrays = {k: B.asnumpy(v.array) for k, v in obj.items()}
        meta = {"format": "pt"}
    else:
        arrays = {}
        meta = {_META_KEY: json.dumps(_encode(obj, arrays, path))}
    header = {"__metadata__": meta}
    offset = 0
    blobs = []
    for name, a in arrays.items():
        if a.dtype not in _NP2ST:
            raise TypeError(f"save: dtype {a.dtype} of {name!r} is not supported by {path}")
        a = np.ascontiguousarray(a).reshape(a.shape)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        n = a.nbytes
        header[name] = {"dtype": _NP2ST[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + n]}
        blobs.append(memoryview(a.reshape(-1)).cast("B") if n else b"")
        offset += n
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)  # align the data section like the reference writer
    atomic_write_bytes(path, [struct.pack("<Q", len(hb)), hb] + blobs)


def load(path, map_location=None, weights_only=True):
    """Load what :func:`save` wrote (or any safetensors file) from ``path``.

    ``map_location`` may name a device (``'cpu'``/``'cuda'``).  Nothing is trusted:
    the header is checked before any tensor is made (each tensor's dtype is known, its
    shape has non-negative whole sizes, its byte range lies inside the file and holds
    exactly its data), and the structure of nested objects is checked tag by tag, so
    memory use stays within the file's size.  A truncated or corrupt file raises a
    RuntimeError naming the file and what is wrong.

    Whole objects are rebuilt only from trusted classes (see the module docstring);
    ``weights_only=False`` (torch's opt-out) also trusts the storable classes (Module
    subclasses) of modules the program has already imported: still nothing is
    imported or called.
    """
    path = os.fspath(path)
    if not weights_only:
        _LOADED_OK[0], was = True, _LOADED_OK[0]
        try:
            return load(path, map_location)
        finally:
            _LOADED_OK[0] = was
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such file: {path}") from None
    bad = f"load: {path} is not a valid chainrule/safetensors file"
    try:
        header, body = _read_header(data)
        meta = header.pop("__metadata__", None)
        meta = {} if meta is None else meta
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise _Bad("__metadata__ is not an object of strings")
        arrays = {}
        for name, info in header.items():
            dt, shape, (start, end) = _check_entry(name, info, len(body))
            arrays[name] = np.frombuffer(body[start:end], dtype=dt).reshape(shape).copy()
        if _META_KEY in meta:
            return _decode(json.loads(meta[_META_KEY]), arrays, map_location)
    except _Bad as e:
        raise RuntimeError(f"{bad} ({e})") from None
    except UntrustedGlobal as e:
        raise UntrustedGlobal(f"load: {path}: {e}") from None
    except (ValueError, RecursionError) as e:  # JSON: not JSON, or nested too deep
        raise RuntimeError(f"{bad} (the structure in the header is not valid JSON: "
                           f"{type(e).__name__}: {str(e)[:80]})") from None
    return {k: from_array(a if map_location is None else B.to_device(a, map_location))
            for k, a in arrays.items()}


def _read_header(data):
    """``(header dict, data section)`` of a file's bytes."""
    if len(data) < 8:
        raise _Bad(f"only {len(data)} bytes: truncated?")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or 8 + n > len(data):
        raise _Bad(f"header of {n} bytes does not fit in {len(data)} bytes: truncated "
                   f"or corrupt")
    try:
        header = json.loads(data[8:8 + n].decode())
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Bad("header is not JSON: corrupt") from None
    if not isinstance(header, dict):
        raise _Bad("header is not a JSON object")
    return header, memoryview(data)[8 + n:]


def _whole(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _check_entry(name, info, size):
    """``(dtype, shape, (start, end))`` of a header entry, every part checked against
    the data section's ``size`` (in Python ints: no overflow)."""
    if not isinstance(info, dict) or set(info) - {"dtype", "shape", "data_offsets"}:
        raise _Bad(f"entry {name!r} is not a tensor description: {str(info)[:80]}")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in _DT:
        raise _Bad(f"tensor {name!r} has unsupported dtype {str(dtype)[:20]!r}")
    if not isinstance(shape, list) or not all(_whole(d) and d >= 0 for d in shape):
        raise _Bad(f"tensor {name!r} has shape {str(shape)[:60]} (expected a list of "
                   f"sizes >= 0)")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_whole, offsets))):
        raise _Bad(f"tensor {name!r} has data_offsets {str(offsets)[:60]} (expected "
                   f"[start, end])")
    start, end = offsets
    nbytes = math.prod(shape) * np.dtype(_DT[dtype]).itemsize
    if not 0 <= start <= end <= size:
        raise _Bad(f"tensor {name!r} needs bytes {start}..{end} but the data section "
                   f"has {size}: truncated or corrupt")
    if end - start != nbytes:
        raise _Bad(f"tensor {name!r} of shape {tuple(shape)} {dtype} needs {nbytes} "
                   f"bytes, its range {start}..{end} holds {end - start}")
    return np.dtype(_DT[dtype]), tuple(shape), (start, end)
