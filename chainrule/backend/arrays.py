"""Arrays and devices: which array module owns an array, devices, host
transfer, the random number generators and scatter-add.

This module holds the project's one import of CuPy (optional).
"""
import numpy as np

try:  # optional GPU backend
    import cupy as _cupy  # type: ignore
except Exception:  # pragma: no cover - CuPy absent or broken
    _cupy = None

__all__ = ["np", "xp_of", "Device", "device_of", "to_device", "asnumpy", "is_array",
           "is_device_array", "array_types", "scatter_add", "cuda_available",
           "cuda_device_count", "get_rng", "manual_seed", "get_rng_state", "set_rng_state",
           "view_positions", "writeable_alias", "overlaps_itself", "shared_array", "matmul",
           "half_gemm"]

array_types = (np.ndarray,) if _cupy is None else (np.ndarray, _cupy.ndarray)


def is_array(a):
    """Whether ``a`` is an array of a backend (NumPy or CuPy), not a scalar."""
    return isinstance(a, array_types)


def is_device_array(a):
    """Whether ``a`` is an array on an accelerator (a CuPy array)."""
    return _cupy is not None and isinstance(a, _cupy.ndarray)


def cuda_device_count():
    """How many CUDA GPUs CuPy sees (0 without CuPy or a GPU)."""
    if _cupy is None:
        return 0
    try:
        return int(_cupy.cuda.runtime.getDeviceCount())
    except Exception:  # pragma: no cover
        return 0


def cuda_available():
    return cuda_device_count() > 0


def xp_of(a):
    """The array module (numpy or cupy) that owns array ``a``."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy
    return np


class half_gemm:
    """How NumPy float16 GEMMs run (:func:`matmul`): ``in_float32`` True (default) runs
    them on float32 BLAS and rounds the result to float16; False uses NumPy's own float16
    loop.  Both convert the float16 inputs exactly, accumulate in float32 and round once
    (results differ only by the float32 summation order: at most one float16 ulp, rarely);
    NumPy's loop has no BLAS and is ~40x slower (docs/amp.md).  CuPy's float16 GEMMs are cuBLAS's and unaffected."""
    in_float32 = True


_HALF_TO_FLOAT = []


def half_to_float(a):
    """A NumPy float16 array as float32, exactly: a lookup in the 65,536 float16 values
    (2x faster than ``astype``, whose float16 conversion runs one element at a time)."""
    if not _HALF_TO_FLOAT:
        _HALF_TO_FLOAT.append(np.arange(65536, dtype=np.uint16).view(np.float16)
                              .astype(np.float32))
    return np.take(_HALF_TO_FLOAT[0], a.view(np.uint16))


_HALF = np.dtype(np.float16)


def matmul(a, b, out=None):
    """``a @ b`` (NumPy's matmul broadcasting), float16 on NumPy via float32 BLAS."""
    if a.dtype is _HALF and b.dtype is _HALF and half_gemm.in_float32 \
            and type(a) is np.ndarray:
        r = np.matmul(half_to_float(a), half_to_float(b))
        if out is None:
            return r.astype(np.float16)
        out[...] = r
        return out
    if out is None:
        return a @ b
    return xp_of(a).matmul(a, b, out=out)


class Device:
    """A device like ``torch.device``: ``Device('cpu')``, ``Device('cuda:0')``."""
    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        spec = str(spec)
        if ":" in spec:
            spec, idx = spec.split(":", 1)
            index = int(idx)
        if spec not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {spec!r}: expected 'cpu' or 'cuda[:N]'")
        self.type, self.index = spec, index

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and self.type == other.type and \
            (self.index or 0) == (other.index or 0)

    def __hash__(self):
        return hash((self.type, self.index or 0))


_CPU = Device("cpu")


def device_of(a):
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return Device("cuda", a.device.id)
    return _CPU


def to_device(a, device):
    """Move array ``a`` to ``device``; raises a clear error if CUDA is missing."""
    device = Device(device)
    if device.type == "cpu":
        return asnumpy(a)
    if _cupy is None:
        raise RuntimeError("device 'cuda' needs CuPy: pip install 'chainrule[gpu]' "
                           "(cupy-cuda12x) on a machine with an NVIDIA GPU")
    with _cupy.cuda.Device(device.index or 0):
        return _cupy.asarray(a)


def asnumpy(a):
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy.asnumpy(a)
    return np.asarray(a)


def scatter_add(target, index, values):
    """In-place ``target[index] += values`` with repeated indices summed."""
    xp = xp_of(target)
    if xp is np:
        if (isinstance(index, np.ndarray) and index.ndim == 1 and index.size > 1
                and index.dtype.kind in "iu" and target.ndim >= 2
                and getattr(values, "shape", None) == index.shape + target.shape[1:]):
            _scatter_add_rows(target, index, values)
        else:
            np.add.at(target, index, values)
    else:  # pragma: no cover - GPU path
        _cupy.add.at(target, index, values)
    return target


def _scatter_add_rows(target, index, values):
    """``target[index] += values`` for whole rows: sort the indices once and sum
    each run of equal indices with ``add.reduceat`` (``np.add.at`` is several
    times slower on rows, e.g. an embedding's gradient)."""
    n = target.shape[0]
    idx = np.where(index < 0, index + n, index) if index.dtype.kind == "i" else index
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        np.add.at(target, index, values)  # let NumPy raise its IndexError
        return
    order = np.argsort(idx, kind="stable")
    sidx = idx[order]
    starts = np.flatnonzero(np.concatenate(([True], sidx[1:] != sidx[:-1])))
    target[sidx[starts]] += np.add.reduceat(values[order], starts, axis=0)


# ---------------------------------------------------------------- randomness
class _RNGState:
    seed = None
    np_gen = np.random.default_rng()
    cp_gen = None


def manual_seed(seed):
    """Seed every random source chainrule uses (NumPy, CuPy, Python's ``random``)."""
    import random
    seed = int(seed)
    _RNGState.seed = seed
    _RNGState.np_gen = np.random.default_rng(seed)
    random.seed(seed)
    if _cupy is not None:
        _RNGState.cp_gen = None
        try:
            _cupy.random.seed(seed)
        except Exception:  # pragma: no cover
            pass


def get_rng(xp=np):
    """The global generator for array module ``xp``."""
    if xp is np:
        return _RNGState.np_gen
    if _RNGState.cp_gen is None:  # pragma: no cover - GPU path
        _RNGState.cp_gen = _cupy.random.default_rng(_RNGState.seed)
    return _RNGState.cp_gen  # pragma: no cover


def get_rng_state():
    """A picklable snapshot of the global NumPy generator state."""
    return _RNGState.np_gen.bit_generator.state


def set_rng_state(state):
    _RNGState.np_gen.bit_generator.state = state


def _addresses(xp, a):
    """The byte address of every element of ``a`` (an int64 array of its shape)."""
    ptr = a.data.ptr if hasattr(a.data, "ptr") else a.__array_interface__["data"][0]
    addr = xp.full(a.shape, ptr, dtype=xp.int64)
    for k, (n, s) in enumerate(zip(a.shape, a.strides)):
        shape = [1] * a.ndim
        shape[k] = n
        addr = addr + (xp.arange(n, dtype=xp.int64) * s).reshape(shape)
    return addr


def view_positions(base, view):
    """For each element of ``view`` (an array sharing ``base``'s memory), its flat
    C-order index in ``base``: ``base.reshape(-1)[view_positions(base, view)]``
    has ``view``'s values.  Raises ValueError if ``view`` is not inside ``base``."""
    xp = xp_of(base)
    if view.size == 0:
        return xp.zeros(view.shape, xp.int64)
    ab = _addresses(xp, base).reshape(-1)
    order = xp.argsort(ab, kind="stable")
    av = _addresses(xp, view)
    pos = xp.clip(xp.searchsorted(ab[order], av), 0, max(ab.size - 1, 0))
    idx = order[pos]
    if ab.size == 0 or not bool((ab[idx] == av).all()):
        raise ValueError("view_positions: the view is not inside the base array")
    return idx


def overlaps_itself(a):
    """True when two elements of ``a`` share memory through a stride-0 dim (an
    expanded view); torch refuses most in-place writes into such a tensor."""
    return a.size > 1 and any(s == 0 and n > 1 for n, s in zip(a.shape, a.strides))


def writeable_alias(a):
    """An array over ``a``'s memory that can be written (``a`` itself when it can),
    or None when the memory is read-only.  NumPy marks expanded views
    (``broadcast_to``) read-only although their memory belongs to a writeable
    array; torch writes through them where no two written elements overlap."""
    flags = getattr(a, "flags", None)
    if flags is None or flags.writeable:
        return a
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not (root.flags.writeable and root.flags.c_contiguous):
        return None
    if a.size == 0:
        return np.empty(a.shape, a.dtype)
    off = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    try:
        return np.ndarray(a.shape, a.dtype, buffer=root, offset=off, strides=a.strides)
    except (TypeError, ValueError):
        return None


def shared_array(a):
    """A copy of host array ``a`` in an anonymous shared mapping: processes forked
    afterwards read and write the same memory (``Tensor.share_memory_``, Hogwild).
    The array holds the mapping; it is freed with the last array that views it."""
    import mmap
    if is_device_array(a):
        return a  # CUDA memory: nothing to do here (torch: a no-op for CUDA tensors too)
    buf = mmap.mmap(-1, max(a.nbytes, 1), flags=mmap.MAP_SHARED,
                    prot=mmap.PROT_READ | mmap.PROT_WRITE)
    out = np.frombuffer(buf, dtype=a.dtype, count=a.size).reshape(a.shape)
    out[...] = a
    return out
