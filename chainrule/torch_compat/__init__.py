"""Run unmodified PyTorch code on chainrule.

``chainrule run-torch script.py [args]`` or ``python -m chainrule.torch_compat script.py
[args]`` runs a PyTorch script with ``torch`` and ``torchvision`` resolved to chainrule
(an import hook, :mod:`chainrule.torch_compat.aliases`).  A torch name chainrule lacks
stops the script with "chainrule does not implement torch.X yet" at the user's line.

This package sits on the top floor, next to cli: it may import every floor below.
"""
from chainrule.torch_compat.aliases import (  # noqa: F401
    NotImplementedInChainrule, install, uninstall)
from chainrule.torch_compat.runner import run_script, EXIT_NOT_IMPLEMENTED  # noqa: F401

__all__ = ["run_script", "install", "uninstall", "NotImplementedInChainrule",
           "EXIT_NOT_IMPLEMENTED"]
