"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

Each works as a context manager and as a decorator, like torch's.
"""
import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


class _State:
    enabled = True


def is_grad_enabled():
    return _State.enabled


class _GradMode:
    _target = True

    def __enter__(self):
        self._prev = _State.enabled
        _State.enabled = self._target

    def __exit__(self, *exc):
        _State.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)
        return wrapper

    def _args(self):
        return ()


class no_grad(_GradMode):
    """Disable graph recording: ``with chainrule.no_grad(): ...`` or ``@no_grad()``."""
    _target = False


class enable_grad(_GradMode):
    """Re-enable graph recording inside a ``no_grad`` region."""
    _target = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(mode)``: takes effect immediately, and as a context
    manager restores the previous mode on exit."""

    def __init__(self, mode):
        self._target = bool(mode)
        self._prev = _State.enabled
        _State.enabled = self._target

    def __enter__(self):
        _State.enabled = self._target

    def _args(self):
        return (self._target,)

    def __call__(self, fn):
        _State.enabled = self._prev  # decorating must not change the mode now
        return super().__call__(fn)
