"""Flatten parameters into one vector and back."""
from chainrule import backend as B
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


class _FlatCat(Function):
    """Concatenate flattened inputs into one 1-D array."""
    save_inputs = False

    def forward(self, *xs):
        xp = B.xp_of(xs[0])
        return xp.concatenate([x.reshape(-1) for x in xs])

    def backward(self, gy):  # split gy back into the input shapes
        return _Split([m[0] for m in self._in_meta])(gy)


class _Split(Function):
    """Split a 1-D array into pieces of the given shapes (adjoint of _FlatCat)."""
    save_inputs = False

    def __init__(self, shapes):
        self.shapes = shapes

    def forward(self, v):
        out, i = [], 0
        for s in self.shapes:
            n = 1
            for d in s:
                n *= d
            out.append(v[i:i + n].reshape(s))
            i += n
        return tuple(out)

    def backward(self, *gys):  # concatenate the pieces' gradients (the engine fills Nones)
        return _FlatCat()(*gys)


def _check_device(params):
    devs = {p.device for p in params}
    if len(devs) > 1:
        raise TypeError(f"Found parameters on different devices: {sorted(map(str, devs))}")


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D tensor
    (differentiable: gradients flow back to the parameters)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not params:
        raise RuntimeError("parameters_to_vector: expected at least one parameter")
    _check_device(params)
    return _FlatCat()(*params)


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of 1-D ``vec`` into ``parameters`` (in place;
    each parameter keeps its identity and memory)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected chainrule.Tensor, but got: {type(vec).__name__}")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    _check_device(params)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise RuntimeError(f"vector_to_parameters: vec of shape {tuple(vec.shape)} does not "
                           f"match the {total} elements of the parameters")
    v, i = vec.array, 0
    for p in params:
        n = p.numel()
        p.array[...] = v[i:i + n].reshape(p.shape)
        p._version[0] += 1
        i += n
