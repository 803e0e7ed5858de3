"""``backward`` and ``grad``: the public entry points to the engine."""
from chainrule.backend import xp_of
from chainrule.core.creation import tensor, zeros_like
from chainrule.core.engine import run_backward
from chainrule.core.ops import ops
from chainrule.core.tensor import Tensor, _make
from chainrule.core import views as _views  # noqa: F401  (registers in-place on views)

__all__ = ["backward", "grad"]


def _as_list(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _root_grads(outputs, grad_outputs, op):
    grads = []
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{op}: got {len(grad_outputs)} grad_outputs for "
                           f"{len(outputs)} outputs")
    for k, (o, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(o, Tensor):
            raise TypeError(f"{op}: output {k} is a {type(o).__name__}, not a Tensor")
        if not o.requires_grad:
            raise RuntimeError(f"{op}: element {k} of tensors does not require grad and "
                               f"does not have a grad_fn")
        if g is None:
            if o._data.size != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar "
                                   f"outputs (output {k} has shape {tuple(o.shape)})")
            g = _make(xp_of(o._data).ones(o.shape, o._data.dtype))
        elif not isinstance(g, Tensor):
            g = tensor(g, dtype=o.dtype)
        if tuple(g.shape) != tuple(o.shape):
            raise RuntimeError(f"{op}: Mismatch in shape: grad_output[{k}] has a shape of "
                               f"{tuple(g.shape)} and output[{k}] has a shape of "
                               f"{tuple(o.shape)}.")
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves."""
    tensors = _as_list(tensors)
    grads = _root_grads(tensors, _as_list(grad_tensors), "backward")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _as_list(inputs)
        res = run_backward(tensors, grads, retain_graph, create_graph, inputs, True)
        for t, g in zip(inputs, res):
            if g is not None:
                t.grad = g if t.grad is None else t.grad + g
        return
    run_backward(tensors, grads, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False, materialize_grads=False):
    """Return d(outputs)/d(inputs) without touching ``.grad``.

    >>> import chainrule
    >>> x = chainrule.tensor(3.0, requires_grad=True)
    >>> (g,) = chainrule.autograd.grad(x ** 2, x, create_graph=True)
    >>> g.item(), chainrule.autograd.grad(g, x)[0].item()
    (6.0, 2.0)
    """
    outputs = _as_list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = _as_list(inputs)
    for k, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {k} (shape {tuple(t.shape)}) does not require grad")
    grads = _root_grads(outputs, _as_list(grad_outputs), "grad")
    if retain_graph is None:
        retain_graph = create_graph
    res = run_backward(outputs, grads, retain_graph, create_graph, inputs,
                       allow_unused or materialize_grads)
    if materialize_grads:
        res = [zeros_like(t) if r is None else r for t, r in zip(inputs, res)]
    return tuple(res) if not single else (res[0],)


ops.register({"backward": backward})  # Tensor.backward calls it through the op table
