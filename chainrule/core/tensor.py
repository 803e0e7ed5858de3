"""Tensor: an array plus the autograd bookkeeping.

A Tensor holds a NumPy (or CuPy) array in ``_data``.  When it was produced by
a recorded op, ``grad_fn`` is that op's node and ``_out_idx`` says which of
the node's outputs it is.  ``_version`` is a one-element list shared by a
tensor and its views; in-place ops bump it so that backward can detect a
value it saved having been overwritten.
"""
import numpy as np

from chainrule import backend as B
from chainrule.core import grad_mode as _gm
from chainrule.core import dtype as D

__all__ = ["Tensor", "from_array"]

_new = object.__new__


def _make(data, requires_grad=False, grad_fn=None, idx=0, version=None, is_view=False):
    """Fast internal constructor (no checks, no copy)."""
    t = _new(Tensor)
    t._data = data
    t.requires_grad = requires_grad
    t.grad = None
    t.grad_fn = grad_fn
    t._out_idx = idx
    t._version = [0] if version is None else version
    t._is_view = is_view
    t._hooks = None
    return t


def from_array(array, requires_grad=False):
    """Wrap a backend array (NumPy or CuPy) as a leaf Tensor without copying.

    The public way for layers, optimizers and data code to turn the arrays
    they compute into tensors.  The tensor shares ``array``'s memory and takes
    its dtype as it is (no promotion, no checks): pass one of chainrule's
    dtypes.  Use :func:`chainrule.tensor` for Python data or to copy.

    >>> import numpy as np
    >>> from_array(np.zeros(2, np.float32))
    tensor([0., 0.])
    """
    return _make(array, requires_grad)


def _fwd(name, doc=None):
    """A method that forwards to ``chainrule.functional.<name>(self, ...)``."""
    def method(self, *args, **kwargs):
        return getattr(F, name)(self, *args, **kwargs)
    method.__name__ = name
    method.__doc__ = doc or f"See :func:`chainrule.{name}`."
    return method


def _fwd_inplace(name):
    """An in-place method ``name_`` computing ``functional.<name>`` into self."""
    def method(self, *args, **kwargs):
        return self._inplace(getattr(F, name), name + "_", *args, **kwargs)
    method.__name__ = name + "_"
    method.__doc__ = f"In-place version of :meth:`{name}`."
    return method


class Tensor:
    """A multi-dimensional array that records the ops applied to it.

    Build tensors with :func:`chainrule.tensor`, :func:`chainrule.zeros`, ...;
    ``Tensor(data)`` works too and behaves like ``chainrule.tensor(data)``.
    """
    __slots__ = ("_data", "requires_grad", "grad", "grad_fn", "_out_idx", "_version",
                 "_is_view", "_hooks", "__weakref__")
    __array_priority__ = 1000  # make ndarray <op> Tensor defer to Tensor

    def __init__(self, data=(), dtype=None, requires_grad=False, device=None):
        from chainrule.core.creation import _to_array
        self._data = _to_array(data, dtype, device)
        self.grad = None
        self.grad_fn = None
        self._out_idx = 0
        self._version = [0]
        self._is_view = False
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------ metadata
    @property
    def shape(self):
        return self._data.shape

    def size(self, dim=None):
        if dim is None:
            return self._data.shape
        return self._data.shape[_norm_dim(dim, self._data.ndim, "size")]

    @property
    def ndim(self):
        return self._data.ndim

    def dim(self):
        return self._data.ndim

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

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        from chainrule.core.autograd_api import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

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
        from chainrule.core.printing import tensor_repr
        return tensor_repr(self)

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
        from chainrule.core.creation import _rebuild
        return (_rebuild, (B.asnumpy(self._data), self.requires_grad))

    # ------------------------------------------------------------ in-place machinery
    def _inplace(self, fn, name, *args, **kwargs):
        """Compute ``fn(self, *args)`` and write it into this tensor's memory.

        Under autograd the tensor is rebased onto the new node (like torch);
        a leaf that requires grad, or a view of one, raises instead.
        """
        recording = _gm._State.enabled and (self.requires_grad or any(
            isinstance(a, Tensor) and a.requires_grad for a in args))
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
        if self._is_view and self.requires_grad:
            raise RuntimeError(
                f"{name}: in-place operation on a view of a tensor that requires grad "
                f"is not supported; clone() the view first, or use x[index] = value "
                f"on the base tensor.")
        old = _make(self._data, self.requires_grad, self.grad_fn, self._out_idx,
                    [self._version[0]])
        out = fn(old, *args, **kwargs)
        node = out.grad_fn
        if node is not None and any(t is old for t in node.inputs):
            old._data = old._data.copy()  # the node saved the pre-op value
        self._write(out._data, name)
        self.grad_fn, self._out_idx, self.requires_grad = node, out._out_idx, True
        self._version[0] += 1
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
        except ValueError as e:
            raise RuntimeError(f"{name}: cannot write into this tensor ({e}); it is "
                               f"probably an expanded view: clone() it first") from None

    # in-place ops
    add_ = _fwd_inplace("add")
    sub_ = _fwd_inplace("sub")
    mul_ = _fwd_inplace("mul")
    div_ = _fwd_inplace("div")
    pow_ = _fwd_inplace("pow")
    neg_ = _fwd_inplace("neg")
    abs_ = _fwd_inplace("abs")
    exp_ = _fwd_inplace("exp")
    log_ = _fwd_inplace("log")
    sqrt_ = _fwd_inplace("sqrt")
    sin_ = _fwd_inplace("sin")
    cos_ = _fwd_inplace("cos")
    tanh_ = _fwd_inplace("tanh")
    sigmoid_ = _fwd_inplace("sigmoid")
    relu_ = _fwd_inplace("relu")
    clamp_ = _fwd_inplace("clamp")
    clip_ = _fwd_inplace("clamp")
    floor_ = _fwd_inplace("floor")
    ceil_ = _fwd_inplace("ceil")
    round_ = _fwd_inplace("round")
    reciprocal_ = _fwd_inplace("reciprocal")
    masked_fill_ = _fwd_inplace("masked_fill")
    index_add_ = _fwd_inplace("index_add")
    scatter_ = _fwd_inplace("scatter")
    scatter_add_ = _fwd_inplace("scatter_add")
    addcmul_ = _fwd_inplace("addcmul")
    addcdiv_ = _fwd_inplace("addcdiv")
    lerp_ = _fwd_inplace("lerp")
    index_fill_ = _fwd_inplace("index_fill")
    index_copy_ = _fwd_inplace("index_copy")
    index_put_ = _fwd_inplace("index_put")
    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_
    __ipow__ = pow_

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

    # ------------------------------------------------------------ operators
    __add__ = _fwd("add")
    __sub__ = _fwd("sub")
    __mul__ = _fwd("mul")
    __truediv__ = _fwd("div")
    __floordiv__ = _fwd("floor_divide")
    __mod__ = _fwd("remainder")
    __pow__ = _fwd("pow")
    __matmul__ = _fwd("matmul")
    __neg__ = _fwd("neg")
    __abs__ = _fwd("abs")
    __invert__ = _fwd("bitwise_not")
    __and__ = _fwd("bitwise_and")
    __or__ = _fwd("bitwise_or")
    __xor__ = _fwd("bitwise_xor")
    __eq__ = _fwd("eq")
    __ne__ = _fwd("ne")
    __lt__ = _fwd("lt")
    __le__ = _fwd("le")
    __gt__ = _fwd("gt")
    __ge__ = _fwd("ge")

    def __pos__(self):
        return self

    def __radd__(self, o):
        return F.add(o, self)

    def __rsub__(self, o):
        return F.sub(o, self)

    def __rmul__(self, o):
        return F.mul(o, self)

    def __rtruediv__(self, o):
        return F.div(o, self)

    def __rfloordiv__(self, o):
        return F.floor_divide(o, self)

    def __rmod__(self, o):
        return F.remainder(o, self)

    def __rpow__(self, o):
        return F.pow(o, self)

    def __rmatmul__(self, o):
        return F.matmul(o, self)

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__

    # ------------------------------------------------------------ op methods
    # elementwise
    add = _fwd("add"); sub = _fwd("sub"); mul = _fwd("mul"); div = _fwd("div")  # noqa: E702
    subtract = sub; multiply = mul; divide = div  # noqa: E702
    true_divide = div
    pow = _fwd("pow"); neg = _fwd("neg"); negative = neg; abs = _fwd("abs")  # noqa: E702
    sign = _fwd("sign"); exp = _fwd("exp"); exp2 = _fwd("exp2"); log = _fwd("log")  # noqa: E702
    log2 = _fwd("log2"); log10 = _fwd("log10"); log1p = _fwd("log1p")  # noqa: E702
    expm1 = _fwd("expm1"); sqrt = _fwd("sqrt"); rsqrt = _fwd("rsqrt")  # noqa: E702
    square = _fwd("square"); reciprocal = _fwd("reciprocal")  # noqa: E702
    sin = _fwd("sin"); cos = _fwd("cos"); tan = _fwd("tan"); tanh = _fwd("tanh")  # noqa: E702
    asin = _fwd("asin"); acos = _fwd("acos"); atan = _fwd("atan")  # noqa: E702
    sinh = _fwd("sinh"); cosh = _fwd("cosh"); atan2 = _fwd("atan2")  # noqa: E702
    erf = _fwd("erf"); sigmoid = _fwd("sigmoid"); relu = _fwd("relu")  # noqa: E702
    clamp = _fwd("clamp"); clip = clamp; maximum = _fwd("maximum")  # noqa: E702
    minimum = _fwd("minimum"); floor = _fwd("floor"); ceil = _fwd("ceil")  # noqa: E702
    round = _fwd("round"); trunc = _fwd("trunc"); frac = _fwd("frac")  # noqa: E702
    fmod = _fwd("fmod"); remainder = _fwd("remainder")  # noqa: E702
    floor_divide = _fwd("floor_divide"); lerp = _fwd("lerp")  # noqa: E702
    addcmul = _fwd("addcmul"); addcdiv = _fwd("addcdiv")  # noqa: E702
    where = _fwd("where_method")
    eq = _fwd("eq"); ne = _fwd("ne"); lt = _fwd("lt"); le = _fwd("le")  # noqa: E702
    gt = _fwd("gt"); ge = _fwd("ge"); isnan = _fwd("isnan")  # noqa: E702
    isinf = _fwd("isinf"); isfinite = _fwd("isfinite")  # noqa: E702
    logical_not = _fwd("logical_not"); logical_and = _fwd("logical_and")  # noqa: E702
    logical_or = _fwd("logical_or"); logical_xor = _fwd("logical_xor")  # noqa: E702
    allclose = _fwd("allclose"); equal = _fwd("equal")  # noqa: E702
    isclose = _fwd("isclose")
    # reductions
    sum = _fwd("sum"); mean = _fwd("mean"); prod = _fwd("prod")  # noqa: E702
    var = _fwd("var"); std = _fwd("std"); max = _fwd("max"); min = _fwd("min")  # noqa: E702
    amax = _fwd("amax"); amin = _fwd("amin"); logsumexp = _fwd("logsumexp")  # noqa: E702
    norm = _fwd("norm"); cumsum = _fwd("cumsum"); cumprod = _fwd("cumprod")  # noqa: E702
    argmax = _fwd("argmax"); argmin = _fwd("argmin"); topk = _fwd("topk")  # noqa: E702
    sort = _fwd("sort"); argsort = _fwd("argsort"); all = _fwd("all")  # noqa: E702
    any = _fwd("any"); nansum = _fwd("nansum"); median = _fwd("median")  # noqa: E702
    count_nonzero = _fwd("count_nonzero")
    # shape
    reshape = _fwd("reshape"); view = _fwd("view"); flatten = _fwd("flatten")  # noqa: E702
    unflatten = _fwd("unflatten"); squeeze = _fwd("squeeze")  # noqa: E702
    unsqueeze = _fwd("unsqueeze"); permute = _fwd("permute")  # noqa: E702
    transpose = _fwd("transpose"); swapaxes = transpose  # noqa: E702
    movedim = _fwd("movedim"); t = _fwd("t"); expand = _fwd("expand")  # noqa: E702
    expand_as = _fwd("expand_as"); repeat = _fwd("repeat"); tile = _fwd("tile")  # noqa: E702
    split = _fwd("split"); chunk = _fwd("chunk"); unbind = _fwd("unbind")  # noqa: E702
    flip = _fwd("flip"); roll = _fwd("roll"); tril = _fwd("tril")  # noqa: E702
    triu = _fwd("triu"); diag = _fwd("diag"); diagonal = _fwd("diagonal")  # noqa: E702
    narrow = _fwd("narrow"); view_as = _fwd("view_as")  # noqa: E702
    reshape_as = _fwd("reshape_as")
    # indexing
    gather = _fwd("gather"); scatter = _fwd("scatter")  # noqa: E702
    scatter_add = _fwd("scatter_add"); index_select = _fwd("index_select")  # noqa: E702
    index_add = _fwd("index_add"); masked_fill = _fwd("masked_fill")  # noqa: E702
    masked_select = _fwd("masked_select")
    take_along_dim = _fwd("take_along_dim")
    nonzero = _fwd("nonzero"); take = _fwd("take")  # noqa: E702
    index_fill = _fwd("index_fill"); index_copy = _fwd("index_copy")  # noqa: E702
    index_put = _fwd("index_put")
    # linear algebra
    matmul = _fwd("matmul"); mm = _fwd("mm"); bmm = _fwd("bmm")  # noqa: E702
    mv = _fwd("mv"); dot = _fwd("dot"); outer = _fwd("outer")  # noqa: E702
    # activations
    softmax = _fwd("softmax"); log_softmax = _fwd("log_softmax")  # noqa: E702


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


from chainrule import functional as F  # noqa: E402  (methods resolve F at call time)
