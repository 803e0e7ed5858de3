"""``Optimizer``: the base every optimizer builds on, with torch.optim's API.

An optimizer holds ``param_groups`` (a list of dicts, each with its
``"params"`` and its own hyper-parameters) and ``state`` (a dict keyed by the
parameter tensor itself, never by ``id()``).  ``state_dict()`` swaps tensors
for their position so the result can be saved with
:func:`chainrule.save` and loaded into a fresh optimizer built over new
parameters.

Updates work on the raw arrays (``p.array``) in place, outside autograd, and
bump the parameter's version counter the way an in-place op does.  The
array helpers at the bottom take their array module from ``xp_of`` so CuPy
arrays are updated on the GPU.
"""
import functools
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain

import numpy as np

from chainrule import backend as B
from chainrule.core import dtype as D
from chainrule.core.grad_mode import enable_grad
from chainrule.core.tensor import Tensor, from_array

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter every param group must give."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_SET_MSG = ("optimizer parameters need to be organized in ordered collections, but the "
            "ordering of tensors in sets will change between runs. Please use a list instead.")


class _RemovableHandle:
    _next_id = 0

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = _RemovableHandle._next_id
        _RemovableHandle._next_id += 1

    def remove(self):
        self._hooks.pop(self.id, None)


def _hooked_step(fn):
    """Wrap a subclass's ``step`` to run the step hooks and mark that it ran
    (the LR schedulers warn when they are stepped before the optimizer)."""
    @functools.wraps(fn)
    def step(self, *args, **kwargs):
        if getattr(self, "_in_step", False):  # super().step() from a subclass
            return fn(self, *args, **kwargs)
        for hook in list(self._optimizer_step_pre_hooks.values()):
            res = hook(self, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError(f"{hook} must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {res}.")
                args, kwargs = res
        self._in_step = True
        try:
            out = fn(self, *args, **kwargs)
        finally:
            self._in_step = False
        self._opt_called = True
        for hook in list(self._optimizer_step_post_hooks.values()):
            hook(self, args, kwargs)
        return out
    step._hooked = True
    return step


class Optimizer:
    """Base class for all optimizers.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts
            (param groups); a dict gives its own values for any hyper-parameter.
        defaults (dict): the default hyper-parameters of every group.

    Subclasses validate their hyper-parameters, call ``super().__init__`` and
    implement ``step(closure=None)``.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_hooked", False):
            cls.step = _hooked_step(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable "
                            "of Tensors or dicts, but got " + _typename(params))
        if isinstance(params, set):
            raise TypeError(_SET_MSG)
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a param group (a dict with ``"params"`` and optional
        hyper-parameters) to ``param_groups``, e.g. to unfreeze layers while
        training."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        param_group = dict(param_group)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(_SET_MSG)
        else:
            params = list(params)
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple):
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = names
        param_group["params"] = tensors
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params "
                                "is " + _typename(p))
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(tensors) != len(set(tensors)):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        seen = set()
        for group in self.param_groups:
            seen.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all optimized tensors (to ``None`` by default,
        or to zeros in place with ``set_to_none=False``)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if g.grad_fn is not None or g.requires_grad:
                    g = p.grad = g.detach()
                try:
                    g.array[...] = 0
                except ValueError:  # a read-only array: replace it
                    g.array = B.xp_of(g.array).zeros_like(g.array)
                g._version[0] += 1

    def step(self, closure=None):
        """Update the parameters once; ``closure`` re-evaluates the loss and is
        required by some optimizers, optional for the rest."""
        raise NotImplementedError

    @staticmethod
    def _eval_closure(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs before each ``step``; it may
        return ``(new_args, new_kwargs)``.  Returns a handle with ``remove()``."""
        handle = _RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs after each ``step``."""
        handle = _RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------ state
    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``.

        Parameters are replaced by their position over all groups, as in torch;
        the state tensors are shared with the optimizer, not copied.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                if p not in index:
                    index[p] = len(index)
            packed["params"] = [index[p] for p in group["params"]]
            groups.append(packed)
        state = {(index[k] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load what :meth:`state_dict` returned (possibly through
        ``chainrule.save``/``load``).  Groups must match the optimizer's in
        number and size; state tensors are copied onto each parameter's device
        (and floating dtype, except ``step``)."""
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups: "
                             f"the optimizer has {len(groups)}, the state dict has "
                             f"{len(saved_groups)}")
        for i, (g, sg) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group: group {i} has {len(g['params'])} parameters in the "
                    f"optimizer but {len(sg['params'])} in the state dict")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if isinstance(k, str) and k.isdigit():  # keys that went through JSON
                k = int(k)
            if k in id_map:
                param = id_map[k]
                state[param] = _cast(param, v)
            else:
                state[k] = v
        new_groups = []
        for g, sg in zip(groups, saved_groups):
            sg["params"] = g["params"]
            if "param_names" in g and "param_names" not in sg:
                sg["param_names"] = g["param_names"]
            for name, default in self.defaults.items():
                if default is not required:
                    sg.setdefault(name, default)
            if isinstance(sg.get("betas"), list):
                sg["betas"] = tuple(sg["betas"])
            new_groups.append(sg)
        self.state = state
        self.param_groups = new_groups

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()

    def __repr__(self):
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"


def _typename(obj):
    t = type(obj)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _cast(param, value, key=None):
    """A deep copy of ``value`` with tensors moved to ``param``'s device and,
    except for ``step``, cast to its floating dtype."""
    if isinstance(value, Tensor):
        a = value.array
        if key == "step" and a.ndim and a.size == 1:
            a = a.reshape(())  # chainrule.save may write a 0-d tensor with shape (1,)
        if key != "step":
            a = B.to_device(a, param.device)
            if param.array.dtype.kind == "f" and a.dtype.kind == "f":
                a = a.astype(param.array.dtype, copy=False)
        if a is value.array:
            a = a.copy()
        return from_array(a)
    if key == "step" and isinstance(value, (int, float)):  # older torch checkpoints
        return from_array(np.array(float(value), dtype=_scalar_np_dtype()))
    if isinstance(value, dict):
        return {k: _cast(param, v, key=k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(param, v) for v in value)
    return value


# ---------------------------------------------------------------- helpers for subclasses
def _scalar_np_dtype():
    """torch's ``_get_scalar_dtype``: float64 if that is the default, else float32."""
    return np.float64 if D.get_default_dtype() is D.float64 else np.float32


def _step_tensor():
    """A fresh 0-d ``step`` counter; it lives on the host like torch's."""
    return from_array(np.array(0.0, dtype=_scalar_np_dtype()))


def _incr_step(step_t):
    """``step += 1`` in place; returns the new count as a Python float."""
    step_t.array += 1
    step_t._version[0] += 1
    return float(step_t.array.item())


def _zeros_like(p):
    return from_array(B.xp_of(p.array).zeros_like(p.array))


def _bump(p):
    """Record an in-place change of ``p`` (as ``p.add_(...)`` would)."""
    p._version[0] += 1


def _grads(group, sparse=None):
    """``(param, grad array)`` for the group's params that have a gradient.  A sparse
    gradient (``Embedding(sparse=True)``) raises, unless the optimizer collects them
    with ``sparse=[]`` (they are appended there as ``(param, SparseTensor)``)."""
    out = []
    for p in group["params"]:
        g = p.grad
        if g is None:
            continue
        if getattr(g, "is_sparse", False):
            if sparse is None:
                raise RuntimeError("optimizer: this optimizer does not support sparse "
                                   "gradients (Embedding(sparse=True)); use SGD, Adagrad or "
                                   "SparseAdam")
            sparse.append((p, g))
            continue
        if g.array.shape != p.array.shape:
            raise RuntimeError(f"optimizer: the gradient of a parameter of shape "
                               f"{tuple(p.array.shape)} has shape {tuple(g.array.shape)}")
        out.append((p, g.array))
    return out


def _adaptive_steps(optimizer, group, buffers):
    """For each param of ``group`` with a gradient: ``(param array, grad array, state,
    step t)``, with ``state['step']`` counted and ``buffers`` made (zeros like the
    param) on first use, and the gradient negated under ``maximize``; after the loop
    body the buffers and the param are marked modified.  The Adam-family loops
    (Adamax, NAdam, RAdam) share this."""
    for p, g in _grads(group):
        state = optimizer.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor()
            for k in buffers:
                state[k] = _zeros_like(p)
        t = _incr_step(state["step"])
        yield p.array, (-g if group["maximize"] else g), state, t
        for k in buffers:
            state[k]._version[0] += 1
        _bump(p)


def _weight_decay(x, g, lr, weight_decay, decoupled=False):
    """L2: ``g + wd * x``; decoupled (AdamW-style): ``x *= 1 - lr * wd`` in place."""
    if weight_decay == 0:
        return g
    if decoupled:
        x *= 1 - lr * weight_decay
        return g
    return g + weight_decay * x


def _lerp_(a, b, w, xp):
    """``a.lerp_(b, w)`` with torch's formula (exact at both ends)."""
    diff = b - a
    if abs(w) < 0.5:
        diff *= w
        a += diff
    else:
        diff *= 1 - w
        xp.subtract(b, diff, out=a)
    return a




def _flags(op, *, foreach=None, capturable=False, differentiable=False, fused=None):
    """Check torch's implementation switches (``foreach``, ``capturable``,
    ``differentiable``, ``fused``), which the optimizers keep in their param groups
    and ``state_dict`` in torch's key order.

    In torch they choose among kernels that compute the same update (a loop per
    tensor, multi-tensor ``foreach`` kernels, one ``fused`` kernel) and allow CUDA
    graph capture; chainrule has one implementation per optimizer, so they change
    nothing here, and code and checkpoints that pass them carry over.
    ``differentiable=True`` (autograd through the step itself) is not supported and
    says so; ``fused`` with ``foreach`` is torch's error."""
    if differentiable:
        raise NotImplementedError(f"{op}: differentiable=True (autograd through the "
                                  f"optimizer step) is not supported by chainrule")
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
