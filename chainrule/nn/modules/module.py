"""``Module``: the base class of every layer and model, with torch's API.

Assigning a :class:`Parameter`, a :class:`Buffer` or a ``Module`` as an
attribute registers it (``__setattr__``), so ``parameters()``,
``state_dict()``, ``to()``, ``train()``... reach everything a model holds,
under the same dotted names PyTorch uses (``features.0.weight``).
"""
from collections import OrderedDict

from chainrule import backend as B
from chainrule.core import dtype as D
from chainrule.core.tensor import Tensor, from_array
from chainrule.nn.parameter import Parameter, Buffer
from chainrule.nn.modules import state_dict as _sd
from chainrule.utils import serialization as _ser
from chainrule.nn.modules.hooks import RemovableHandle, add_hook, call_with_hooks

__all__ = ["Module", "RemovableHandle"]


def _addindent(s_, num_spaces):
    s = s_.split("\n")
    if len(s) == 1:
        return s_
    first = s.pop(0)
    return first + "\n" + "\n".join((num_spaces * " ") + line for line in s)


def _typename(v):
    if isinstance(v, Tensor):
        return type(v).__name__
    m = type(v).__module__
    return type(v).__qualname__ if m == "builtins" else f"{m}.{type(v).__qualname__}"


def _check_name(self, name, store, kind):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
    if "." in name:
        raise KeyError(f"{kind} name can't contain \".\", got {name!r}")
    if name == "":
        raise KeyError(f"{kind} name can't be empty string \"\"")
    if hasattr(self, name) and name not in store:
        raise KeyError(f"attribute '{name}' already exists")


class Module:
    """Base class for all neural-network modules.

    Subclasses set up parameters and sub-modules in ``__init__`` (after
    calling ``super().__init__()``) and compute the output in ``forward``;
    call the module itself (``model(x)``) so that hooks run.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = nn.Linear(4, 2)
    ...     def forward(self, x):
    ...         return self.fc(x).relu()
    >>> [k for k in Net().state_dict()]
    ['fc.weight', 'fc.bias']
    """
    training: bool
    _version = 1

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments "
                            f"{args} {kwargs}; did you forget to pass them to a layer?")
        sa = object.__setattr__
        sa(self, "training", True)
        sa(self, "_parameters", {})
        sa(self, "_buffers", {})
        sa(self, "_non_persistent_buffers_set", set())
        sa(self, "_modules", {})
        sa(self, "_forward_hooks", OrderedDict())
        sa(self, "_forward_hooks_with_kwargs", set())
        sa(self, "_forward_pre_hooks", OrderedDict())
        sa(self, "_forward_pre_hooks_with_kwargs", set())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function')

    # ------------------------------------------------------------ registration
    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer (state that is not a parameter, e.g. running statistics);
        ``persistent=False`` keeps it out of ``state_dict()``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(self, name, self._buffers, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            f"(Tensor or None required)")
        if isinstance(tensor, Buffer):
            alias = from_array(tensor.array)  # shares memory and version; not a view
            alias._version = tensor._version
            tensor = alias
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name, param):
        """Add a :class:`Parameter` (or ``None``) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(self, name, self._parameters, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            f"(chainrule.nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model "
                             f"parameters must be created explicitly; to express '{name}' "
                             f"as a function of another Tensor, compute the value in "
                             f"the forward() method.")
        self._parameters[name] = param

    def add_module(self, name, module):
        """Add a child module (or ``None``) under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        _check_name(self, name, self._modules, "module")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The sub-module at dotted path ``target`` (``''`` is ``self``)."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    def _get_leaf(self, target, store, kind):
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        if name not in getattr(mod, store):
            raise AttributeError("`" + name + "` is not a " + kind)
        return getattr(mod, name)

    def get_parameter(self, target):
        return self._get_leaf(target, "_parameters", "nn.Parameter")

    def get_buffer(self, target):
        return self._get_leaf(target, "_buffers", "buffer")

    def get_extra_state(self):
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should "
                           "never be called.")

    def set_extra_state(self, state):
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should "
                           "never be called.")

    # ------------------------------------------------------------ attributes
    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name, value):
        d = self.__dict__

        def remove_from(*stores):
            for s in stores:
                if name in s:
                    s.discard(name) if isinstance(s, set) else s.__delitem__(name)

        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                f"(chainrule.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        else:
            modules = d.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign module before Module.__init__() call")
                remove_from(d, self._parameters, self._buffers,
                            self._non_persistent_buffers_set)
                modules[name] = value
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(f"cannot assign '{_typename(value)}' as child module "
                                    f"'{name}' (chainrule.nn.Module or None expected)")
                modules[name] = value
            else:
                buffers = d.get("_buffers")
                if isinstance(value, Buffer) or buffers is not None and name in buffers:
                    if value is not None and not isinstance(value, Tensor):
                        raise TypeError(f"cannot assign '{_typename(value)}' as buffer "
                                        f"'{name}' (chainrule.nn.Buffer, Tensor or None "
                                        f"expected)")
                    persistent = value.persistent if isinstance(value, Buffer) else \
                        name not in self._non_persistent_buffers_set
                    self.register_buffer(name, value, persistent)
                else:
                    object.__setattr__(self, name, value)

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        attrs = list(dir(type(self))) + list(self.__dict__)
        keys = attrs + list(self._parameters) + list(self._modules) + list(self._buffers)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    def __setstate__(self, state):
        self.__dict__.update(state)
        for k, v in (("_forward_hooks_with_kwargs", set()),
                     ("_forward_pre_hooks_with_kwargs", set()),
                     ("_non_persistent_buffers_set", set())):
            self.__dict__.setdefault(k, v)

    # ------------------------------------------------------------ iteration
    def _named_members(self, get_members_fn, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members_fn(module):
                if v is None or v in memo:
                    continue
                if remove_duplicate:
                    memo.add(v)
                yield (module_prefix + ("." if module_prefix else "") + k, v)

    def parameters(self, recurse=True):
        """Iterate over the parameters (of sub-modules too if ``recurse``)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Iterate over ``(dotted_name, parameter)``; a shared parameter is
        yielded once unless ``remove_duplicate=False``."""
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                   remove_duplicate)

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_children(self):
        memo = set()
        for name, m in self._modules.items():
            if m is not None and m not in memo:
                memo.add(m)
                yield name, m

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Iterate over ``(dotted_name, module)`` for this module (name
        ``prefix``) and all descendants, depth first."""
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from m.named_modules(memo, sub, remove_duplicate)

    __hash__ = object.__hash__

    # ------------------------------------------------------------ modes
    def train(self, mode=True):
        """Set training mode (Dropout, BatchNorm... behave differently)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters (to ``None`` by default)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            elif p.grad.grad_fn is not None or p.grad.requires_grad:
                p.grad = from_array(B.xp_of(p.grad.array).zeros_like(p.grad.array))
            else:
                p.grad.array[...] = 0
                p.grad._version[0] += 1

    def apply(self, fn):
        """Call ``fn(m)`` on every sub-module (children first) and then ``self``."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ dtype / device
    def _apply(self, fn):
        """Convert every parameter, gradient and buffer with ``fn(array) ->
        array``; parameters keep their identity (their data is replaced)."""
        for m in self.children():
            m._apply(fn)
        for p in self._parameters.values():
            if p is None:
                continue
            new = fn(p.array)
            if new is not p.array:
                p.array = new
                p._version[0] += 1
            if p.grad is not None:
                g = fn(p.grad.array)
                if g is not p.grad.array:
                    p.grad = from_array(g)
        for k, b in self._buffers.items():
            if b is not None:
                new = fn(b.array)
                if new is not b.array:
                    self._buffers[k] = from_array(new, b.requires_grad)
        return self

    def to(self, *args, dtype=None, device=None, non_blocking=False):
        """``to(dtype)``, ``to(device)``, ``to(tensor)`` or keywords; only
        floating-point parameters and buffers change dtype.  In place."""
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, B.Device) or isinstance(a, str) and a not in D._NAME2DT:
                device = a
            else:
                dtype = a
        npd = None
        if dtype is not None:
            npd = D.to_np_dtype(dtype)
            if npd.kind != "f":
                raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got "
                                f"desired dtype={D.from_np_dtype(npd)}")
        dev = None if device is None else B.Device(device)

        def convert(a):
            if dev is not None and B.device_of(a) != dev:
                a = B.to_device(a, dev)
            if npd is not None and a.dtype.kind == "f" and a.dtype != npd:
                a = a.astype(npd)
            return a
        return self._apply(convert)

    def float(self):
        return self.to(D.float32)

    def double(self):
        return self.to(D.float64)

    def half(self):
        return self.to(D.float16)

    def type(self, dst_type):
        return self.to(dst_type)

    def share_memory(self):
        """Move every parameter and buffer to shared memory: processes forked afterwards
        (``torch.multiprocessing``) train the same weights (Hogwild).  Gradients are
        made later, per process, and stay private (as in torch)."""
        for t in list(self.parameters()) + list(self.buffers()):
            t.share_memory_()
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{int(device)}")

    # ------------------------------------------------------------ state dict
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + _sd.EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """An ``OrderedDict`` of the parameters then the persistent buffers of
        this module and (recursively) its children, keyed by dotted names
        identical to PyTorch's; values are detached (memory-sharing) tensors."""
        if args:  # torch's deprecated positional form
            destination = args[0]
            prefix = args[1] if len(args) > 1 else prefix
            keep_vars = args[2] if len(args) > 2 else keep_vars
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".",
                             keep_vars=keep_vars)
        return destination

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Load this module's own entries; torch's signature, so that layers
        can override it to convert old checkpoint formats."""
        assign = local_metadata.get("assign_to_params_buffers", False)
        _sd.load_local(self, state_dict, prefix, assign, missing_keys, unexpected_keys,
                       error_msgs, type(self).set_extra_state is not Module.set_extra_state)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from ``state_dict`` (chainrule Tensors or NumPy arrays)
        into this module's parameters and buffers in place (parameters keep
        their identity; dtypes are cast to the model's).

        Returns ``(missing_keys, unexpected_keys)``; with ``strict`` (the
        default) any missing or unexpected key raises ``RuntimeError``, and a
        shape mismatch always does.  ``assign=True`` replaces the tensors
        instead of copying into them.
        """
        return _sd.load_state_dict(self, state_dict, strict, assign)

    # ------------------------------------------------------------ hooks and calling
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` (or ``hook(module, args, kwargs)`` with
        ``with_kwargs``) runs before ``forward``; a non-None result replaces
        the arguments.  Returns a handle with ``remove()``."""
        return add_hook(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs, hook,
                        prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """``hook(module, args, output)`` runs after ``forward``; a non-None
        result replaces the output.  Returns a handle with ``remove()``."""
        return add_hook(self._forward_hooks, self._forward_hooks_with_kwargs, hook,
                        prepend, with_kwargs)

    def __call__(self, *args, **kwargs):
        if not (self._forward_hooks or self._forward_pre_hooks):
            return self.forward(*args, **kwargs)
        return call_with_hooks(self, args, kwargs)

    # ------------------------------------------------------------ printing
    def extra_repr(self):
        """The module-specific part of ``repr`` (sizes and options)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = ["(" + k + "): " + _addindent(repr(m), 2)
                       for k, m in self._modules.items()]
        lines = extra_lines + child_lines
        s = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                s += extra_lines[0]
            else:
                s += "\n  " + "\n  ".join(lines) + "\n"
        return s + ")"


# torch.save(model) stores a module by its class name and __dict__, no pickle; load
# rebuilds chainrule's own module classes, and others passed to safe_globals
_ser.register_storable(Module)
