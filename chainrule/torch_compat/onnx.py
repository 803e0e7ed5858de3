"""``torch.onnx``: present so that scripts importing it at the top run; chainrule has no
ONNX exporter, so ``torch.onnx.export`` stops with "chainrule does not implement
torch.onnx.export yet" where a script calls it."""
__all__ = []
