"""Tensor: an array plus the autograd bookkeeping.

A Tensor holds a NumPy (or CuPy) array in ``_data``.  When it was produced by
a recorded op, ``grad_fn`` is that op's node and ``_out_idx`` says which of
the node's outputs it is.  ``_version`` is a one-element list shared by a
tensor and its views; in-place ops bump it so that backward can detect a
value it saved having been overwritten.
"""
from weakref import WeakSet

import numpy as np

from chainrule import backend as B
from chainrule.core import grad_mode as _gm
from chainrule.core import dtype as D
from chainrule.core.methods import OpMethods
from chainrule.core.ops import ops as F
from chainrule.core.printing import tensor_repr
from chainrule.core.size import Size

_tuple_new = tuple.__new__  # Size(shape) without re-checking ints NumPy already made

__all__ = ["Tensor", "from_array"]

_new = object.__new__


def _make(data, requires_grad=False, grad_fn=None, idx=0, version=None, is_view=False,
          base=None):
    """Fast internal constructor (no checks, no copy).  ``base``: the tensor a
    differentiable view looks into (it keeps a weak set of its live views)."""
    t = _new(Tensor)
    t._base = base
    if base is not None:
        if base._views is None:
            base._views = WeakSet()
        base._views.add(t)
    t._data = data
    t.requires_grad = requires_grad
    t.grad = None
    t.grad_fn = grad_fn
    t._out_idx = idx
    t._version = [0] if version is None else version
    t._is_view = is_view
    t._hooks = None
    t._post_hooks = None
    t._views = None
    return t


def _snapshot(t):
    """A tensor standing for ``t``'s current value and history, with its own version
    counter (what an in-place op's out-of-place computation reads)."""
    return _make(t._data, t.requires_grad, t.grad_fn, t._out_idx, [t._version[0]])


def _out_of_place(t, fn, args, kwargs):
    """``fn(t, *args)`` computed on a snapshot of ``t``; when the recorded node keeps
    that snapshot for backward, it gets a copy of the pre-op values (the caller is
    about to overwrite ``t``'s memory)."""
    old = _snapshot(t)
    out = fn(old, *args, **kwargs)
    node = out.grad_fn
    if node is not None and any(x is old for x in node.inputs):
        old._data = old._data.copy()
    return out


def from_array(array, requires_grad=False):
    """Wrap a backend array (NumPy or CuPy) as a leaf Tensor without copying.

    The public way for layers, optimizers and data code to turn the arrays
    they compute into tensors.  The tensor shares ``array``'s memory and takes
    its dtype as it is (no promotion, no checks): pass one of chainrule's
    dtypes.  Use :func:`chainrule.tensor` for Python data or to copy.

    >>> from weakref import WeakSet

import numpy as np
    >>> from_array(np.zeros(2, np.float32))
    tensor([0., 0.])
    """
    return _make(array, requires_grad)


class Tensor(OpMethods):
    """A multi-dimensional array that records the ops applied to it.

    Build tensors with :func:`chainrule.tensor`, :func:`chainrule.zeros`, ...;
    ``Tensor(data)`` works too and behaves like ``chainrule.tensor(data)``.
    """
    __slots__ = ("_data", "requires_grad", "grad", "grad_fn", "_out_idx", "_version",
                 "_is_view", "_hooks", "_post_hooks", "_base", "_views", "__weakref__")
    __array_priority__ = 1000  # make ndarray <op> Tensor defer to Tensor

    def __init__(self, data=(), dtype=None, requires_grad=False, device=None):
        self._data = _to_array(data, dtype, device)
        self.grad = None
        self.grad_fn = None
        self._out_idx = 0
        self._version = [0]
        self._is_view = False
        self._hooks = None
        self._post_hooks = None
        self._base = self._views = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------ metadata
    @property
    def shape(self):
        return _tuple_new(Size, self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return _tuple_new(Size, self._data.shape)
        return self._data.shape[_norm_dim(dim, self._data.ndim, "size")]

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

    def share_memory_(self):
        """Move the data to shared memory (a no-op if it is there): processes forked
        afterwards (``torch.multiprocessing``) update the same values, as Hogwild
        training needs.  Views made earlier keep the old memory."""
        if not self.is_shared():
            self._data = B.shared_array(self._data)
        return self

    def is_shared(self):
        a = self._data
        while isinstance(a, np.ndarray) and a.base is not None:
            a = a.base
        return isinstance(a, memoryview) and isinstance(a.obj, __import__("mmap").mmap)

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    @property
    def dtype(self):
        return D.from_np_dtype(self._data.dtype)

    @property
    def device(self):
        return B.device_of(self._data)

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    # torch's other device kinds, which chainrule never uses
    is_xpu = is_mps = is_meta = is_quantized = is_sparse = property(lambda self: False)

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def data(self):
        """A detached Tensor sharing this tensor's memory (like ``torch``'s)."""
        return _make(self._data, version=self._version, is_view=True)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data must be set to a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def array(self):
        """The backend array (NumPy or CuPy) that holds this tensor's values.

        Shared, not copied.  Writing into it bypasses autograd (like writing
        through ``tensor.data`` in torch): optimizers, initializers and data
        code use it under ``no_grad``.  Assigning replaces the storage.
        """
        return self._data

    @array.setter
    def array(self, value):
        self._data = value

    @property
    def T(self):
        return F.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self):
        if self._data.ndim == 0:  # torch: the identity on 0-d tensors (deprecated)
            return self
        return F.transpose(self, -2, -1)

    # ------------------------------------------------------------ conversion
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be "
                               f"converted to a Python scalar")
        return self._data.reshape(()).item()

    def numpy(self, force=False):
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return B.asnumpy(self._data)

    def tolist(self):
        return B.asnumpy(self._data).tolist()

    def __array__(self, dtype=None, copy=None):
        a = B.asnumpy(self._data)
        return a if dtype is None else a.astype(dtype, copy=False)

    def to(self, *args, dtype=None, device=None, copy=False):
        """``to(dtype)``, ``to(device)``, ``to(other_tensor)`` or keywords."""
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, (str, B.Device)) and not (isinstance(a, str) and
                                                          a in D._NAME2DT):
                device = a
            else:
                dtype = a
        out = self
        if device is not None and B.Device(device) != self.device:
            out = F.to_device(out, device)
        if dtype is not None and D.to_np_dtype(dtype) != out._data.dtype:
            out = F.cast(out, dtype)
        if copy and out is self:
            out = self.clone()
        return out

    def type(self, dtype=None):
        if dtype is None:
            return f"chainrule.{self.dtype.name.capitalize()}Tensor"
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def float(self):
        return self.to(D.float32)

    def double(self):
        return self.to(D.float64)

    def half(self):
        return self.to(D.float16)

    def long(self):
        return self.to(D.int64)

    def int(self):
        return self.to(D.int32)

    def bool(self):
        return self.to(D.bool_)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{int(device)}")

    # ------------------------------------------------------------ autograd
    def detach(self):
        """A tensor sharing memory (and the version counter) but cut from the graph."""
        return _make(self._data, version=self._version, is_view=True)

    def detach_(self):
        if self._is_view and self.requires_grad:
            raise RuntimeError("detach_() is not allowed on a view that requires grad; "
                               "use detach() instead")
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(f"only Tensors of floating point dtype can require "
                               f"gradients, got {self.dtype}")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables; "
                               "use detach() to get a tensor that doesn't require grad")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        import weakref
        fn = self.grad_fn
        if fn._retained is None:
            fn._retained = {}
        fn._retained[self._out_idx] = weakref.ref(self)

    @property
    def retains_grad(self):
        fn = self.grad_fn
        return fn is not None and self._out_idx in (fn._retained or {})

    def register_hook(self, hook):
        """``hook(grad) -> Tensor or None`` runs when this tensor's gradient is
        computed; a returned tensor replaces the gradient.  Returns a handle
        with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            lst = self._hooks
        else:
            fn = self.grad_fn
            if fn._tensor_hooks is None:
                fn._tensor_hooks = {}
            lst = fn._tensor_hooks.setdefault(self._out_idx, [])
        lst.append(hook)
        return _HookHandle(lst, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """``hook(tensor) -> None`` runs on a leaf after a gradient has been
        accumulated into its ``.grad`` (once per gradient that reaches it).
        Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)
        return _HookHandle(self._post_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        F.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ------------------------------------------------------------ copies
    def clone(self):
        return F.clone(self)

    def contiguous(self):
        if self._data.flags.c_contiguous:
            return self
        return F.clone(self)

    def is_contiguous(self):
        return bool(self._data.flags.c_contiguous)

    # ------------------------------------------------------------ python protocol
    def __repr__(self):
        return tensor_repr(self)

    def __format__(self, spec):
        """``f"{loss:.4f}"`` formats a 0-d tensor's value, as torch."""
        return format(self.item(), spec) if self.ndim == 0 else object.__format__(self, spec)

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(F.unbind(self, 0))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements "
                               f"is ambiguous")
        return bool(self._data.reshape(()))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be "
                            "converted to an index")
        return int(self.item())

    __hash__ = object.__hash__

    def __getitem__(self, index):
        return F.getitem(self, index)

    def __setitem__(self, index, value):
        F.setitem_(self, index, value)

    def __reduce__(self):
        return (_rebuild, (B.asnumpy(self._data), self.requires_grad))

    # ------------------------------------------------------------ in-place machinery
    def _inplace(self, fn, name, *args, **kwargs):
        """Compute ``fn(self, *args)`` and write it into this tensor's memory.

        Under autograd the tensor is rebased onto the new node (like torch); a
        view's base is rebased too (``core/views.py``); a leaf that requires
        grad, or a view of one, raises instead.
        """
        recording = _gm._State.enabled and (self.requires_grad or any(
            isinstance(a, Tensor) and a.requires_grad for a in args))
        if recording and self._base is not None:
            return F.inplace_on_view(self, fn, name, args, kwargs)
        if not recording:
            with _gm.no_grad():
                out = fn(self, *args, **kwargs)
            self._write(out._data, name)
            self._version[0] += 1
            return self
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError(
                f"{name}: a leaf Variable that requires grad (shape {self.shape}) is being "
                f"used in an in-place operation. Use an out-of-place op, or modify it "
                f"inside `with chainrule.no_grad():`.")
        out = _out_of_place(self, fn, args, kwargs)
        node = out.grad_fn
        self._write(out._data, name)
        # an integer result (int.copy_(float that requires grad)) is not recorded
        self.grad_fn, self._out_idx, self.requires_grad = node, out._out_idx, out.requires_grad
        self._version[0] += 1
        if self._views:
            F.regenerate_views(self)
        return self

    def _new_full(self, size, fill, dtype=None, device=None, requires_grad=False):
        """``new_full``/``new_zeros``...: a tensor like this one's dtype and device."""
        size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) \
            else tuple(size)
        npd = self._data.dtype if dtype is None else D.to_np_dtype(dtype)
        xp = B.xp_of(self._data)
        a = xp.empty(size, npd) if fill is None else xp.full(size, fill, npd)
        t = _make(a if device is None else B.to_device(a, device))
        return t.requires_grad_(True) if requires_grad else t

    def _restride(self, fn, name, *args, **kwargs):
        """Become the view ``fn(self, *args)`` of the same memory (``unsqueeze_``...);
        under autograd, rebased onto the view's node as torch does."""
        if self.requires_grad and self.grad_fn is None and _gm._State.enabled:
            raise RuntimeError(f"{name}: a leaf Variable that requires grad (shape "
                               f"{self.shape}) is being used in an in-place operation.")
        old = _make(self._data, self.requires_grad, self.grad_fn, self._out_idx,
                    [self._version[0]])
        out = fn(old, *args, **kwargs)
        self._data = out._data
        if out.grad_fn is not None:
            self.grad_fn, self._out_idx = out.grad_fn, out._out_idx
        return self

    def _write(self, res, name):
        own = self._data
        if res.dtype != own.dtype and D._CAT[res.dtype.kind] > D._CAT[own.dtype.kind]:
            raise RuntimeError(f"{name}: result type {D.from_np_dtype(res.dtype)} can't be "
                               f"cast to the desired output type {self.dtype}")
        if res.shape != own.shape:
            raise RuntimeError(f"{name}: output with shape {tuple(own.shape)} doesn't match "
                               f"the broadcast shape {tuple(res.shape)}")
        if res is own:
            return
        try:
            own[...] = res
        except ValueError:  # read-only: an expanded view (or read-only memory)
            # like torch, fill_ and masked_fill_ (deprecated there) write into overlapping
            # memory: every element gets the same value; other ops refuse
            alias = None if B.overlaps_itself(own) and name not in ("fill_", "masked_fill_") \
                else B.writeable_alias(own)
            if alias is None:
                raise RuntimeError(
                    f"{name}: unsupported operation: more than one element of the written-to "
                    f"tensor (an expanded view) refers to a single memory location. Please "
                    f"clone() the tensor before performing the operation.") from None
            alias[...] = res

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        return self._inplace(F.full_like_of, "fill_", value)

    def copy_(self, src):
        return self._inplace(F.copy_from, "copy_", src)

    def uniform_(self, a=0.0, b=1.0):
        with _gm.no_grad():
            xp = B.xp_of(self._data)
            self._write(B.get_rng(xp).uniform(a, b, self.shape).astype(self._data.dtype),
                        "uniform_")
        self._version[0] += 1
        return self

    def normal_(self, mean=0.0, std=1.0):
        with _gm.no_grad():
            xp = B.xp_of(self._data)
            self._write((B.get_rng(xp).standard_normal(self.shape) * std + mean)
                        .astype(self._data.dtype), "normal_")
        self._version[0] += 1
        return self

    def bernoulli_(self, p=0.5):
        with _gm.no_grad():
            xp = B.xp_of(self._data)
            self._write((B.get_rng(xp).random(self.shape) < p).astype(self._data.dtype),
                        "bernoulli_")
        self._version[0] += 1
        return self

class _HookHandle:
    def __init__(self, lst, hook):
        self._lst, self._hook = lst, hook

    def remove(self):
        if self._hook in self._lst:
            self._lst.remove(self._hook)


def _norm_dim(dim, ndim, op):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


# ---------------------------------------------------------------- conversion
def _infer_np(data):
    """NumPy array for Python data with torch's dtype inference."""
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _unwrap(data)
    a = np.asarray(data)
    if a.dtype.kind == "f" and not isinstance(data, np.ndarray) and \
            not isinstance(data, np.generic):
        a = a.astype(D._Default.np)  # Python floats -> default dtype
    elif a.dtype.kind in "iu" and not isinstance(data, (np.ndarray, np.generic)):
        a = a.astype(np.int64)
    elif a.dtype.kind not in "fiub":
        raise TypeError(f"tensor(): can't convert data of type {a.dtype} "
                        f"({type(data).__name__}) to a tensor")
    return a


def _flat(seq):
    for x in seq:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _unwrap(seq):
    return [_unwrap(x) if isinstance(x, (list, tuple)) else
            (B.asnumpy(x._data) if isinstance(x, Tensor) else x) for x in seq]


def _to_array(data, dtype=None, device=None, copy=True):
    if isinstance(data, Tensor):
        a = data._data
    elif B.is_device_array(data):
        a = data
    else:
        a = _infer_np(data)
    if dtype is not None:
        npd = D.to_np_dtype(dtype)
        if a.dtype != npd:
            a, copy = a.astype(npd), False
    if device is not None and B.Device(device) != B.device_of(a):
        a, copy = B.to_device(a, device), False
    if copy and a is data or (copy and isinstance(data, (np.ndarray, Tensor))):
        a = a.copy()
    return a


def _rebuild(array, requires_grad):
    t = _make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t
