"""``chainrule.onnx`` (``torch.onnx`` under ``chainrule run-torch``): export a model to
ONNX, opset 17, written without the ``onnx`` or ``protobuf`` packages.

>>> import io, chainrule as cr
>>> buf = io.BytesIO()
>>> _ = export(cr.nn.Linear(3, 2), (cr.randn(4, 3),), buf)
>>> len(buf.getvalue()) > 0
True

What is exported and what is not: ``docs/onnx.md``.  This package sits on the text
floor (it traces with ``chainrule.compile``'s capture, one floor down).
"""
from chainrule.onnx.export import (  # noqa: F401
    OPSET, ONNXProgram, TrainingMode, export, is_in_onnx_export)

__all__ = ["export", "TrainingMode", "ONNXProgram", "is_in_onnx_export", "OPSET"]
