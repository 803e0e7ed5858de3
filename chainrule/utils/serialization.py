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


def _decode(obj, arrays, device):
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            a = arrays[obj["__tensor__"]]
            return from_array(a if device is None else B.to_device(a, device))
        if "__ndarray__" in obj:
            return arrays[obj["__ndarray__"]]
        if "__dict__" in obj:
            return {k: _decode(v, arrays, device) for k, v in obj["__dict__"]}
        if "__kdict__" in obj:
            return {_decode(k, arrays, device): _decode(v, arrays, device)
                    for k, v in obj["__kdict__"]}
        if "__list__" in obj:
            return [_decode(v, arrays, device) for v in obj["__list__"]]
        if "__tuple__" in obj:
            return tuple(_decode(v, arrays, device) for v in obj["__tuple__"])
        if "__float__" in obj:
            return float(obj["__float__"])
    return obj


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

    ``map_location`` may name a device (``'cpu'``/``'cuda'``).  Truncated or
    corrupt files raise a RuntimeError naming the file.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such file: {path}") from None
    bad = f"load: {path} is not a valid chainrule/safetensors file"
    if len(data) < 8:
        raise RuntimeError(f"{bad} (only {len(data)} bytes: truncated?)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or 8 + n > len(data):
        raise RuntimeError(f"{bad} (header of {n} bytes does not fit in {len(data)} bytes: "
                           f"truncated or corrupt)")
    try:
        header = json.loads(data[8:8 + n].decode())
    except (UnicodeDecodeError, ValueError):
        raise RuntimeError(f"{bad} (header is not JSON: corrupt)") from None
    if not isinstance(header, dict):
        raise RuntimeError(f"{bad} (header is not a JSON object)")
    meta = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + n:]
    arrays = {}
    for name, info in header.items():
        try:
            dt = np.dtype(_DT[info["dtype"]])
            start, end = info["data_offsets"]
            shape = tuple(info["shape"])
        except (KeyError, TypeError, ValueError):
            raise RuntimeError(f"{bad} (entry {name!r} has an unsupported or broken "
                               f"description: {info})") from None
        count = int(np.prod(shape)) if shape else 1
        if end > len(body) or start < 0 or end - start != count * dt.itemsize:
            raise RuntimeError(f"{bad} (tensor {name!r} needs bytes {start}..{end} but the "
                               f"data section has {len(body)}: truncated or corrupt)")
        arrays[name] = np.frombuffer(body[start:end], dtype=dt).reshape(shape).copy()
    if _META_KEY in meta:
        return _decode(json.loads(meta[_META_KEY]), arrays, map_location)
    return {k: from_array(a if map_location is None else B.to_device(a, map_location))
            for k, a in arrays.items()}
