"""Graph capture: ``chainrule.compile(model)`` traces a call once, runs passes over the
captured ops and replays them as one planned program (see docs/performance.md).

Modules: :mod:`.trace` (capture), :mod:`.program` (the plan and the autograd node that
runs it), :mod:`.passes` (dce, cse, fuse), :mod:`.api` (guards, cache, fallback),
:mod:`.explain` (the program as text).
"""
from chainrule.compile.api import compile, CompiledCallable, OptimizedModule  # noqa: F401
from chainrule.compile.passes import PASSES, DEFAULT_PASSES  # noqa: F401
from chainrule.compile.trace import CaptureError  # noqa: F401

__all__ = ["compile", "CompiledCallable", "OptimizedModule", "PASSES", "DEFAULT_PASSES", "CaptureError"]
