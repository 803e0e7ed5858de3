"""The ONNX graph being built: values, nodes, initializers, graph inputs and outputs.

Values are named strings.  The op table (:mod:`.ops`) adds nodes with :meth:`Graph.add`
and constants with :meth:`Graph.const`; :meth:`Graph.serialize` writes the ModelProto,
keeping only the initializers some node (or output) reads.
"""
import numpy as np

from chainrule.onnx import proto

__all__ = ["Graph", "Unsupported", "OPSET", "IR_VERSION"]

OPSET = 17        # the one opset chainrule writes (ai.onnx domain)
IR_VERSION = 8    # the IR version that goes with opset 17


class Unsupported(Exception):
    """An op the table knows, used in a way ONNX (or this exporter) cannot express:
    ``what`` is not supported, ``why`` (optional) says why or what to do instead.  The
    exporter adds the op's name and module path to the message."""

    def __init__(self, what, why=""):
        super().__init__(what)
        self.what, self.why = what, why


class Graph:
    def __init__(self, reserved=(), fold=True):
        self.fold = fold        # initializers are constants (not overridable inputs)
        self.nodes = []         # [op_type, inputs, outputs, attrs]
        self.inits = {}         # name -> array
        self.inputs = []        # (name, dtype, shape)
        self.outputs = []       # (name, dtype, shape)
        self._used = set(reserved)
        self._consts = {}       # (dtype, shape, bytes) -> name, for small constants
        self._count = {}

    # ------------------------------------------------------------ names
    def fresh(self, hint):
        """A value name not used yet, from ``hint``."""
        if hint not in self._used:
            self._used.add(hint)
            return hint
        k = self._count.get(hint, 0)
        while f"{hint}.{k}" in self._used:
            k += 1
        self._count[hint] = k + 1
        name = f"{hint}.{k}"
        self._used.add(name)
        return name

    # ------------------------------------------------------------ building
    def add(self, op_type, inputs, outputs=1, **attrs):
        """Append a node; ``outputs`` is a count (fresh names) or a list of names.
        Returns the output name, or the list of them when there are several."""
        if isinstance(outputs, int):
            outputs = [self.fresh(f"/{op_type}_out") for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append([op_type, list(inputs), list(outputs), attrs])
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def const(self, array, hint="const"):
        """An initializer holding ``array`` (small ones shared by value)."""
        a = np.asarray(array)
        key = None
        if a.size <= 16:
            key = (a.dtype.str, a.shape, a.tobytes())
            if key in self._consts:
                return self._consts[key]
        name = self.fresh(hint)
        self.inits[name] = a
        if key is not None:
            self._consts[key] = name
        return name

    def ints(self, values):
        """An int64 1-D constant (shapes, axes, split sizes)."""
        return self.const(np.asarray(list(values), np.int64), "ints")

    def scalar(self, value, dtype):
        """A 0-d constant of ``dtype``."""
        return self.const(np.asarray(value, dtype=dtype), "scalar")

    def constant_value(self, name):
        """The array of an initializer when it may be folded into new constants, else None."""
        return self.inits.get(name) if self.fold else None

    def initializer(self, name, array):
        name = self.fresh(name)
        self.inits[name] = np.asarray(array)
        return name

    # ------------------------------------------------------------ writing
    def rename(self, old, new):
        """Rename a value produced by a node (to give a graph output its name)."""
        for node in self.nodes:
            node[1] = [new if v == old else v for v in node[1]]
            node[2] = [new if v == old else v for v in node[2]]

    def produced(self):
        return {o for node in self.nodes for o in node[2]}

    def serialize(self, graph_name, producer_version, keep_initializers_as_inputs=False):
        read = {i for node in self.nodes for i in node[1]} | {n for n, _, _ in self.outputs}
        inits = [(n, a) for n, a in self.inits.items() if n in read]
        nodes = [proto.node_proto(op, ins, outs, f"{op}_{k}", attrs)
                 for k, (op, ins, outs, attrs) in enumerate(self.nodes)]
        inputs = [proto.value_info_proto(n, dt, shape) for n, dt, shape in self.inputs]
        if keep_initializers_as_inputs:
            inputs += [proto.value_info_proto(n, a.dtype, a.shape) for n, a in inits]
        graph = proto.graph_proto(
            graph_name, nodes, [proto.tensor_proto(n, a) for n, a in inits], inputs,
            [proto.value_info_proto(n, dt, shape) for n, dt, shape in self.outputs])
        return proto.model_proto(graph, OPSET, IR_VERSION, "chainrule", producer_version)
