"""``Parameter`` (a leaf Tensor that a Module registers as learnable) and
``Buffer`` (a Tensor that a Module registers as state), like torch's."""
import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor
from chainrule.utils import serialization as _ser

__all__ = ["Parameter", "Buffer"]


def _init_from(t, data, requires_grad):
    """Make ``t`` (fresh, uninitialised) share ``data``'s memory as a new leaf."""
    if data is None:
        arr = np.empty((0,), dtype=np.float32)
        version = [0]
    elif isinstance(data, Tensor):
        arr, version = data.array, data._version
    else:
        from chainrule.core.creation import _to_array
        arr, version = _to_array(data, copy=False), [0]
    t.array = arr
    t.grad = None
    t.grad_fn = None
    t._out_idx = 0
    t._version = version
    t._is_view = False
    t._hooks = t._post_hooks = None
    t._base = t._views = None
    t.requires_grad = False
    if requires_grad:
        t.requires_grad_(True)


class Parameter(Tensor):
    """A Tensor that is a module parameter: assigning one as a Module attribute
    registers it in ``parameters()`` and ``state_dict()``.

    It shares memory with ``data`` (like ``torch.nn.Parameter``), is always a
    leaf, and requires grad unless ``requires_grad=False``.

    >>> import chainrule as cr
    >>> p = Parameter(cr.ones(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    def __new__(cls, data=None, requires_grad=True):
        return object.__new__(cls)

    def __init__(self, data=None, requires_grad=True):
        _init_from(self, data, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce__(self):
        return (_rebuild_parameter, (B.asnumpy(self.array), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = object.__new__(type(self))
        _init_from(result, None, False)
        result.array = self.array.copy()
        result.requires_grad = self.requires_grad
        memo[id(self)] = result
        return result


class Buffer(Tensor):
    """A Tensor that a Module registers as a buffer when assigned as an
    attribute (``self.running_mean = Buffer(zeros(3))``).

    ``persistent=False`` keeps it out of ``state_dict()``.
    """

    def __new__(cls, data=None, *, persistent=True):
        return object.__new__(cls)

    def __init__(self, data=None, *, persistent=True):
        _init_from(self, data, False)
        self.persistent = persistent

    def __reduce__(self):
        return (_rebuild_buffer, (B.asnumpy(self.array), self.persistent))


def _rebuild_parameter(array, requires_grad):
    return Parameter(array, requires_grad)


def _rebuild_buffer(array, persistent):
    return Buffer(array, persistent=persistent)


# torch.save(model): a Parameter is stored as its tensor and requires_grad, and comes
# back a Parameter (chainrule/utils/serialization.py)
_ser.register_storable(Parameter, lambda t, requires_grad: Parameter(t, requires_grad))
