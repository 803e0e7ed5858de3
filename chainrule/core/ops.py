"""The op table: how core calls the ops that live on the floor above it.

Core defines Tensor and the autograd engine; the differentiable ops live in
``chainrule.functional``, which imports core.  Tensor's methods
(:mod:`chainrule.core.methods`), its ``backward`` and the engine's broadcast
reduction call those ops through :data:`ops`, which the upper floors fill when
they are imported (``chainrule.functional`` registers its ops,
``chainrule.core.autograd_api`` its ``backward``), so imports point one way.
"""

import types

__all__ = ["ops", "OpTable"]


class OpTable:
    """A namespace of callables filled by :meth:`register`."""

    def register(self, namespace):
        """Add the public callables of ``namespace`` (a dict), keyed by name."""
        for name, obj in namespace.items():
            if callable(obj) and not isinstance(obj, (types.ModuleType, type)):
                setattr(self, name, obj)

    def __getattr__(self, name):
        raise AttributeError(f"op {name!r} is not registered: it is defined on a floor "
                             f"above core (import chainrule first)")


ops = OpTable()
