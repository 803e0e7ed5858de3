"""torch-style custom differentiable functions.

>>> import chainrule as cr
>>> class Cube(cr.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x ** 3
...     @staticmethod
...     def backward(ctx, gy):
...         (x,) = ctx.saved_tensors
...         return gy * 3 * x ** 2
>>> x = cr.tensor(2.0, requires_grad=True)
>>> Cube.apply(x).backward(); x.grad
tensor(12.)
"""
from chainrule.core import grad_mode as _gm
from chainrule.core.function import Function as _Node
from chainrule.core.tensor import Tensor

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx(_Node):
    """The ``ctx`` object: a graph node that also carries what forward saved."""
    save_inputs = False

    def __init__(self, fn_cls):
        self._fn_cls = fn_cls
        self._saved = ()
        self._saved_versions = ()
        self._non_diff = set()
        self.materialize_grads = True

    def name(self):
        return self._fn_cls.__name__

    @property
    def needs_input_grad(self):
        """One bool per ``forward`` argument."""
        return self._needs

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"{self.name()}: save_for_backward can only save tensors "
                                f"(or None), got {type(t).__name__}")
        self._saved = tensors
        self._saved_versions = tuple(None if t is None else t._version[0] for t in tensors)

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(f"{self.name()}: saved tensors were freed by a previous "
                               f"backward; use retain_graph=True")
        return self._saved

    def mark_non_differentiable(self, *tensors):
        self._non_diff.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        """Accepted for compatibility; in-place outputs are handled by rebasing."""

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def _check_saved(self):
        super()._check_saved()
        for i, (t, v) in enumerate(zip(self._saved, self._saved_versions)):
            if t is not None and t._version[0] != v:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been "
                    f"modified by an inplace operation: saved tensor {i} of {self.name()} "
                    f"is at version {t._version[0]}; expected version {v} instead.")

    def _release_extra(self):
        self._saved = ()

    def backward(self, *gys):
        if not self.materialize_grads:
            gys = tuple(None if g is not None and not g.array.any() else g for g in gys)
        res = self._fn_cls.backward(self, *gys)
        if not isinstance(res, tuple):
            res = (res,)
        if len(res) != self._n_args:
            raise RuntimeError(f"{self.name()}.backward returned {len(res)} gradients; "
                               f"forward took {self._n_args} arguments")
        out = []
        for pos in self._tensor_pos:
            g = res[pos]
            if g is not None and not isinstance(g, Tensor):
                raise TypeError(f"{self.name()}.backward: gradient {pos} is a "
                                f"{type(g).__name__}, expected a Tensor or None")
            out.append(g)
        return tuple(out)


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``,
    then call ``MyFn.apply(*args)``.  ``backward`` returns one gradient (or None)
    per ``forward`` argument."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("custom Function must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("custom Function must implement backward(ctx, ...)")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx(cls)
        pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx._tensor_pos, ctx._n_args = pos, len(args)
        ctx._needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with _gm.no_grad():
            outs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outs, tuple)
        outs_t = (outs,) if single else outs
        tensors = [args[i] for i in pos]
        tensor_out = [k for k, o in enumerate(outs_t) if isinstance(o, Tensor)]
        wrapped = ctx._wrap_outputs(tensors, tuple(outs_t[k].array for k in tensor_out))
        result = list(outs_t)
        for k, w in zip(tensor_out, wrapped):
            if id(outs_t[k]) in ctx._non_diff:
                w.requires_grad, w.grad_fn = False, None
            result[k] = w
        return result[0] if single else tuple(result)
