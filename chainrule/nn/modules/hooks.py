"""Forward hooks for Modules: removable handles and the hooked call path."""

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``remove()`` unregisters
    the hook.  Also a context manager that removes the hook on exit."""
    _next_id = 0

    def __init__(self, *hook_dicts):
        self.hook_dicts = hook_dicts
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        for d in self.hook_dicts:
            if isinstance(d, set):
                d.discard(self.id)
            else:
                d.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def add_hook(hooks, kwargs_set, hook, prepend, with_kwargs):
    """Register ``hook`` in the ordered dict ``hooks``; returns its handle."""
    h = RemovableHandle(hooks, kwargs_set)
    hooks[h.id] = hook
    if prepend:
        hooks.move_to_end(h.id, last=False)
    if with_kwargs:
        kwargs_set.add(h.id)
    return h


def call_with_hooks(module, args, kwargs):
    """Run the forward pre-hooks, ``forward``, then the forward hooks (torch's order)."""
    for hid, hook in list(module._forward_pre_hooks.items()):
        if hid in module._forward_pre_hooks_with_kwargs:
            res = hook(module, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError("forward pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {res}.")
                args, kwargs = res
        else:
            res = hook(module, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
    result = module.forward(*args, **kwargs)
    for hid, hook in list(module._forward_hooks.items()):
        if hid in module._forward_hooks_with_kwargs:
            res = hook(module, args, kwargs, result)
        else:
            res = hook(module, args, result)
        if res is not None:
            result = res
    return result
