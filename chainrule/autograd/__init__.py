"""Public autograd API: ``grad``, ``backward``, ``Function``, ``gradcheck``."""
from chainrule.core.autograd_api import backward, grad  # noqa: F401
from chainrule.testing.gradcheck import gradcheck, gradgradcheck, GradcheckError  # noqa: F401,E402
