"""``save`` / ``load`` in the safetensors format: no pickle, so loading an
untrusted file runs no code.

A file is an 8-byte little-endian header length, a JSON header mapping each
tensor name to its dtype, shape and byte range, then the raw bytes.  Flat
``state_dict``s are stored as plain safetensors (readable by the
``safetensors`` package and by torch); nested objects (training checkpoints
with optimizer state, epoch, RNG state...) keep their structure as JSON in the
header's ``__metadata__``.  Writes are atomic: temp file, fsync, rename.
"""
import json
import math
import os
import struct
import tempfile

import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor, from_array

__all__ = ["save", "load", "atomic_write_bytes", "TEMP_SUFFIX"]

_DT = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8,
       "U8": np.uint8, "I16": np.int16, "I32": np.int32, "I64": np.int64, "BOOL": np.bool_}
_NP2ST = {np.dtype(v): k for k, v in _DT.items()}
_META_KEY = "chainrule.structure"
_MAX_HEADER = 100 * 1024 * 1024
TEMP_SUFFIX = ".tmp"  # atomic writes go through '.<name>XXXX.tmp' in the same folder


def _encode(obj, tensors, path):
    """JSON-able structure with tensors replaced by references."""
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray):
        key = f"t{len(tensors)}"
        arr = B.asnumpy(obj.array if isinstance(obj, Tensor) else obj)
        tensors[key] = arr
        kind = "tensor" if isinstance(obj, Tensor) else "ndarray"
        return {"__" + kind + "__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"__dict__": [[k, _encode(v, tensors, path)] for k, v in obj.items()]}
        return {"__kdict__": [[_encode(k, tensors, path), _encode(v, tensors, path)]
                              for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"__list__" if isinstance(obj, list) else "__tuple__":
                [_encode(v, tensors, path) for v in obj]}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    raise TypeError(f"save: can't store an object of type {type(obj).__name__} in {path}; "
                    f"only tensors, arrays, numbers, strings, None, and lists/tuples/dicts "
                    f"of them are allowed (no pickle)")


class _Bad(ValueError):
    """A header or structure that does not follow the format (the loader words it)."""


_TAGS = ("__tensor__", "__ndarray__", "__dict__", "__kdict__", "__list__", "__tuple__",
         "__float__")


def _decode(obj, arrays, device):
    """The object that ``_encode`` turned into ``obj``; every tag, pair and tensor
    reference is checked (raises :class:`_Bad` saying what is wrong)."""
    if isinstance(obj, list):
        raise _Bad("a bare JSON list in the structure (lists are tagged)")
    if not isinstance(obj, dict):
        return obj
    if len(obj) != 1 or next(iter(obj)) not in _TAGS:
        raise _Bad(f"an object with keys {sorted(obj)[:4]} in the structure (expected "
                   f"one of the tags {', '.join(_TAGS)})")
    (tag, v), = obj.items()
    if tag in ("__tensor__", "__ndarray__"):
        if not isinstance(v, str) or v not in arrays:
            raise _Bad(f"the structure refers to tensor {v!r}, which is not in the file")
        a = arrays[v]
        if tag == "__ndarray__":
            return a
        return from_array(a if device is None else B.to_device(a, device))
    if tag == "__float__":
        if v not in ("nan", "inf", "-inf"):
            raise _Bad(f"__float__ holds {v!r} (expected 'nan', 'inf' or '-inf')")
        return float(v)
    if not isinstance(v, list):
        raise _Bad(f"{tag} holds a {type(v).__name__}, not a list")
    if tag in ("__list__", "__tuple__"):
        items = [_decode(x, arrays, device) for x in v]
        return items if tag == "__list__" else tuple(items)
    out = {}
    for pair in v:
        if not isinstance(pair, list) or len(pair) != 2:
            raise _Bad(f"{tag} holds {str(pair)[:40]} (expected [key, value] pairs)")
        key = pair[0] if tag == "__dict__" else _decode(pair[0], arrays, device)
        if tag == "__dict__" and not isinstance(key, str):
            raise _Bad(f"__dict__ has a key of type {type(key).__name__}, not str")
        try:
            out[key] = _decode(pair[1], arrays, device)
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
    (2, 3)
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


def load(path, map_location=None):
    """Load what :func:`save` wrote (or any safetensors file) from ``path``.

    ``map_location`` may name a device (``'cpu'``/``'cuda'``).  Nothing is trusted:
    the header is checked before any tensor is made (each tensor's dtype is known, its
    shape has non-negative whole sizes, its byte range lies inside the file and holds
    exactly its data), and the structure of nested objects is checked tag by tag, so
    memory use stays within the file's size.  A truncated or corrupt file raises a
    RuntimeError naming the file and what is wrong.
    """
    path = os.fspath(path)
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
