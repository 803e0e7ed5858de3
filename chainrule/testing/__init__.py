"""Testing helpers users can apply to their own ops and layers."""
from chainrule.testing.gradcheck import gradcheck, gradgradcheck, GradcheckError  # noqa: F401
from chainrule.testing.opinfo import OpInfo, Sample, nograd  # noqa: F401
from chainrule.testing.compare import assert_close  # noqa: F401
