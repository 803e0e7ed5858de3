"""Public autograd API: ``grad``, ``backward``, ``Function``, ``gradcheck``."""
from chainrule.core.autograd_api import backward, grad  # noqa: F401
from chainrule.testing.gradcheck import gradcheck, gradgradcheck, GradcheckError  # noqa: F401,E402
from chainrule.autograd.function import Function, FunctionCtx  # noqa: F401,E402
