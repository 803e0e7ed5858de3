"""Alias modules: ``torch``, ``torch.nn``, ``torchvision`` ... resolved to chainrule.

A meta-path finder answers imports of ``torch`` and ``torchvision`` (and their
submodules) with :class:`AliasModule` objects.  Each forwards attribute access to the
chainrule module it stands for, so ``torch.Tensor is chainrule.Tensor`` and a class
defined on ``torch.nn.Module`` is a chainrule module.  A name chainrule lacks raises
:class:`NotImplementedInChainrule` -- "chainrule does not implement torch.X yet" --
at the user's line, not an AttributeError deep in the stack.  It subclasses
AttributeError, so ``hasattr(torch.backends, "mps")`` still answers False.
"""
import importlib
import importlib.abc
import importlib.util
import sys
import types

__all__ = ["NotImplementedInChainrule", "AliasModule", "TorchFinder", "install", "uninstall",
           "target_of"]

_COMPAT = "chainrule.torch_compat"

# torch module name -> the chainrule module it stands for.  Names not listed map by
# rule: torch.a.b -> chainrule.a.b, torchvision.a -> chainrule.torch_compat.torchvision.a.
TARGETS = {
    "torch": "chainrule",
    "torch.utils": f"{_COMPAT}.torch_utils",
    "torch.utils.data": "chainrule.data",
    "torch.utils.data.dataset": "chainrule.data.dataset",
    "torch.utils.data.dataloader": "chainrule.data.loader",
    "torch.utils.data.sampler": "chainrule.data.sampler",
    "torch.backends": f"{_COMPAT}.backends",
    "torch.accelerator": f"{_COMPAT}.accelerator",
    "torch.serialization": f"{_COMPAT}.serialization",
    "torch.nn.parallel": f"{_COMPAT}.parallel",
    "torch.nn.modules": f"{_COMPAT}.nn_modules",
    "torch.multiprocessing": f"{_COMPAT}.multiprocessing",
    "torchvision": f"{_COMPAT}.torchvision",
    "torchvision.transforms": "chainrule.data.transforms",
    "torchvision.transforms.functional": "chainrule.data.vision_functional",
}


# Modules whose names take precedence on an alias (torch's wider signatures).
OVERRIDES = {"torch": f"{_COMPAT}.torch_extras"}


class NotImplementedInChainrule(AttributeError, NotImplementedError):
    """A torch name chainrule does not implement (yet)."""


def target_of(name):
    """The chainrule module name a torch/torchvision module name stands for."""
    if name in TARGETS:
        return TARGETS[name]
    parent, _, leaf = name.rpartition(".")
    if parent == "torch.nn.modules":  # torch.nn.modules.linear -> chainrule.nn (flat)
        return f"{_COMPAT}.nn_modules"
    if parent:
        return f"{target_of(parent)}.{leaf}"
    return None


_ABSENT = object()


def _missing(torch_name):
    return f"chainrule does not implement {torch_name} yet"


class AliasModule(types.ModuleType):
    """A ``torch.*`` module that forwards to its chainrule module."""

    def __init__(self, name, target):
        super().__init__(name)
        object.__setattr__(self, "_target", target)
        self.__file__ = getattr(target, "__file__", None)
        self.__doc__ = target.__doc__

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        sub = f"{self.__name__}.{attr}"
        value = _ABSENT
        if self.__name__ in OVERRIDES:
            value = getattr(importlib.import_module(OVERRIDES[self.__name__]), attr, _ABSENT)
        if value is _ABSENT:
            value = getattr(self._target, attr, _ABSENT)
        # a submodule comes back as its alias (torch.utils, not chainrule.utils)
        if (value is _ABSENT or isinstance(value, types.ModuleType)) and _importable(sub):
            return importlib.import_module(sub)
        if value is not _ABSENT:
            return value
        raise NotImplementedInChainrule(_missing(sub), name=attr, obj=self)

    def __setattr__(self, attr, value):
        if attr.startswith("__"):
            object.__setattr__(self, attr, value)
        else:  # torch.backends.cudnn.benchmark = True reaches the real module
            setattr(self._target, attr, value)

    def __dir__(self):
        return sorted(set(dir(self._target)))

    def __repr__(self):
        return f"<module {self.__name__!r} (chainrule: {self._target.__name__})>"


def _load_target(name):
    """The chainrule module object a torch module name stands for, or None: an importable
    module, or a module-typed attribute of its parent's target (torch.backends.cudnn)."""
    target = target_of(name)
    if target is None:
        return None
    try:
        if importlib.util.find_spec(target) is not None:
            return importlib.import_module(target)
    except (ImportError, ValueError):
        pass
    parent, _, leaf = name.rpartition(".")
    obj = getattr(_load_target(parent), leaf, None) if parent else None
    return obj if isinstance(obj, types.ModuleType) else None


def _importable(name):
    return _load_target(name) is not None


class _AliasLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return AliasModule(spec.name, _load_target(spec.name))

    def exec_module(self, module):
        module.__path__ = []  # a package, so `import torch.nn.functional` can descend


class TorchFinder(importlib.abc.MetaPathFinder):
    """Answers ``import torch...`` / ``import torchvision...`` with alias modules."""

    ROOTS = ("torch", "torchvision")

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in self.ROOTS:
            return None
        if not _importable(name):
            # no name=: `from torchvision import io` must show this message, not
            # "cannot import name 'io'" (the import system swallows a named miss there)
            raise ModuleNotFoundError(_missing(name))
        return importlib.util.spec_from_loader(name, _AliasLoader(),
                                               is_package=True)


_FINDER = TorchFinder()


def install():
    """Resolve ``torch`` and ``torchvision`` to chainrule in this process."""
    real = [n for n, m in sys.modules.items() if n.split(".")[0] in TorchFinder.ROOTS
            and not isinstance(m, AliasModule)]
    if real:
        raise RuntimeError("the real torch is already imported in this process; "
                           "run the script in a fresh one (chainrule run-torch script.py)")
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall():
    """Undo :func:`install` and forget the alias modules."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for n in [n for n, m in sys.modules.items() if isinstance(m, AliasModule)]:
        del sys.modules[n]
