"""Every ``>>>`` example in chainrule's docstrings runs and prints what it shows.

Docstring examples are documentation a reader copies; one that went stale (a shape
printed as a tuple after ``Tensor.shape`` became a ``Size``, a number from an older
formula) teaches the wrong thing. This walks every module of the package, as
``doctest.testmod`` would one by one.
"""
import doctest
import importlib
import pkgutil

import pytest

import chainrule

# importing these runs a program (the CLI entry point, the torch-script runner)
_SKIP = ("chainrule.__main__", "chainrule.torch_compat.__main__")


def _modules():
    for mi in pkgutil.walk_packages(chainrule.__path__, "chainrule."):
        if mi.name not in _SKIP:
            yield mi.name


@pytest.mark.parametrize("name", sorted(_modules()))
def test_docstring_examples_run(name):
    try:
        module = importlib.import_module(name)
    except ImportError as ex:  # an optional extra (CuPy, mpi4py) that is not installed
        pytest.skip(f"{name} needs {ex.name}")
    res = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0, f"{res.failed} of {res.attempted} docstring examples in {name} fail"
