"""``chainrule.onnx.export``: trace a model once and write it as an ONNX file.

1. The model runs once on the example arguments (in eval mode by default) while
   :class:`chainrule.compile.trace.Tracer` records every op it applies, and forward hooks
   note which submodule each op ran in (for error messages).  Autograd stays on, so that
   in-place ops (``ReLU(inplace=True)``) are recorded like the others.
2. The ops that the outputs depend on are mapped to ONNX nodes by the op table
   (:mod:`chainrule.onnx.ops`); parameters and buffers become initializers (graph inputs
   with ``export_params=False``), the tensors in ``args`` graph inputs (nested tuples and
   lists flattened in order), the returned tensors graph outputs (flattened the same way).
3. :mod:`chainrule.onnx.proto` writes the ModelProto (opset 17, IR version 8).

Shapes are those of the example arguments: the graph is static (``dynamic_axes`` is
refused).  Control flow in Python is unrolled as it ran for these arguments.
"""
import bisect
import enum
import os

from chainrule import backend as B
from chainrule.compile.trace import CaptureError, Tracer
from chainrule.core import grad_mode as _gm
from chainrule.core.tensor import Tensor
from chainrule.onnx.graph import OPSET, Graph, Unsupported
from chainrule.onnx.ops import TABLE, Op

__all__ = ["export", "TrainingMode", "ONNXProgram", "is_in_onnx_export", "OPSET"]

_LIMIT = 2 ** 31 - 1   # protobuf's 2 GiB message limit


class TrainingMode(enum.IntEnum):
    """torch.onnx.TrainingMode: EVAL exports the model in eval mode (then restores its
    modes), PRESERVE as it is; TRAINING is not supported."""
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class ONNXProgram:
    """What :func:`export` returns: the serialized model (``model_bytes``), its graph
    input and output names, and :meth:`save`."""

    def __init__(self, model_bytes, input_names, output_names):
        self.model_bytes = model_bytes
        self.input_names = list(input_names)
        self.output_names = list(output_names)

    def save(self, destination):
        """Write the model to a path or a binary file object."""
        if hasattr(destination, "write"):
            destination.write(self.model_bytes)
        else:
            with open(os.fspath(destination), "wb") as fh:
                fh.write(self.model_bytes)

    def __repr__(self):
        return (f"ONNXProgram(opset {OPSET}, {len(self.model_bytes)} bytes, inputs "
                f"{self.input_names}, outputs {self.output_names})")


class _Exporting:
    active = False


def is_in_onnx_export():
    """True while :func:`export` runs the model."""
    return _Exporting.active


def _err(msg):
    return f"chainrule.onnx.export: {msg}"


def export(model, args=(), f=None, *, kwargs=None, verbose=None, input_names=None,
           output_names=None, opset_version=None, dynamo=True, external_data=True,
           dynamic_shapes=None, custom_translation_table=None, report=False, optimize=True,
           verify=False, profile=False, dump_exported_program=False, artifacts_dir=".",
           export_params=True, keep_initializers_as_inputs=False, dynamic_axes=None,
           training=TrainingMode.EVAL, operator_export_type=None, do_constant_folding=True,
           custom_opsets=None, export_modules_as_functions=False, autograd_inlining=True):
    """Export ``model`` called on ``args`` to ONNX (opset 17) at ``f`` (torch.onnx.export).

    ``args``: a tensor or a tuple of positional arguments (tensors, nested tuples or
    lists of tensors, other values passed through); a dict as its last element (or
    ``kwargs``) gives keyword arguments.  ``f``: a path or a binary file object (None:
    write nothing; the returned :class:`ONNXProgram` holds the bytes).
    ``input_names`` / ``output_names``: names of the flattened tensor inputs and outputs
    (default ``input_<i>``, ``output_<i>``).  ``export_params=False`` makes parameters and
    buffers graph inputs named by their ``state_dict`` keys instead of initializers;
    ``keep_initializers_as_inputs=True`` also lists the initializers as inputs.
    ``verbose`` prints the graph.  ``dynamo``, ``external_data``, ``report``, ``optimize``,
    ``verify``, ``profile``, ``dump_exported_program``, ``artifacts_dir``,
    ``operator_export_type``, ``do_constant_folding`` and ``autograd_inlining`` are
    accepted and ignored; ``dynamic_axes``, ``dynamic_shapes``, custom translations or
    opsets, functions per module and ``TrainingMode.TRAINING`` raise.
    """
    if opset_version is not None and int(opset_version) != OPSET:
        raise ValueError(_err(f"opset_version={opset_version} is not supported; chainrule "
                              f"writes opset {OPSET} (pass opset_version=None or {OPSET})"))
    if dynamic_axes or dynamic_shapes:
        raise NotImplementedError(_err("dynamic_axes / dynamic_shapes are not supported: the "
                                       "graph is traced with the example arguments' shapes"))
    for name, value in (("custom_translation_table", custom_translation_table),
                        ("custom_opsets", custom_opsets),
                        ("export_modules_as_functions", export_modules_as_functions)):
        if value:
            raise NotImplementedError(_err(f"{name} is not supported"))
    if training not in (TrainingMode.EVAL, TrainingMode.PRESERVE, None):
        raise NotImplementedError(_err(f"training={training!r} is not supported (export "
                                       f"in eval mode)"))
    if not callable(model):
        raise TypeError(_err(f"expected a Module, got {type(model).__name__}"))
    model = getattr(model, "_orig_mod", model)   # chainrule.compile(model): the module
    args, kwargs = _split_args(args, kwargs)
    modes = None
    if training in (TrainingMode.EVAL, None) and hasattr(model, "modules"):
        modes = [(m, m.training) for m in model.modules()]
        model.eval()
    try:
        data = _export(model, args, kwargs, input_names, output_names, export_params,
                       keep_initializers_as_inputs, verbose)
    finally:
        if modes is not None:
            for m, was in modes:
                m.training = was
    if f is not None:
        data.save(f)
    return data


def _split_args(args, kwargs):
    if isinstance(args, Tensor):
        args = (args,)
    elif not isinstance(args, tuple):
        args = (args,)
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):
        kwargs = {**args[-1], **kwargs}
        args = args[:-1]
    return args, kwargs


def _flatten(obj, out):
    """The tensors inside ``obj`` (tuples, lists, dict values), in order."""
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for v in obj:
            _flatten(v, out)
    elif isinstance(obj, dict):
        for v in obj.values():
            _flatten(v, out)
    return out


def _names(given, n, default, what):
    given = list(given or [])
    if len(given) > n:
        raise ValueError(_err(f"{len(given)} {what} names given for {n} {what}s: {given}"))
    if len(set(given)) != len(given):
        raise ValueError(_err(f"{what} names must be unique, got {given}"))
    return given + [f"{default}_{i}" for i in range(len(given), n)]


def _run_traced(model, args, kwargs, leaves, live):
    """Run the model under the tracer; returns (trace, flat outputs, module path per op)."""
    events = []           # (index of the first op, module path) each time the path changes
    stack = []
    handles = []
    tracer = Tracer(leaves, live)
    if hasattr(model, "named_modules"):
        def pre(name):
            def hook(module, inputs):
                stack.append((name, type(module).__name__))
                events.append((len(tracer.trace.nodes), stack[-1]))
            return hook

        def post(module, inputs, output):
            stack.pop()
            events.append((len(tracer.trace.nodes), stack[-1] if stack else None))
        for name, m in model.named_modules():
            handles.append(m.register_forward_pre_hook(pre(name)))
            handles.append(m.register_forward_hook(post))
    _Exporting.active = True
    try:
        with _gm.enable_grad(), tracer:
            out = model(*args, **kwargs)
    finally:
        _Exporting.active = False
        for h in handles:
            h.remove()
    flat = _flatten(out, [])
    if not flat:
        raise RuntimeError(_err(f"{type(model).__name__} returned no tensors"))
    try:
        tracer.finish(flat)
    except CaptureError as e:
        raise RuntimeError(_err(f"cannot trace {type(model).__name__}: {e}")) from None
    starts = [k for k, _ in events]

    def where(k):
        i = bisect.bisect_right(starts, k) - 1
        return events[i][1] if i >= 0 else None
    return tracer.trace, flat, where


def _where_text(where):
    if where is None or where[0] == "":
        return "in the model's own forward" + (f" ({where[1]})" if where else "")
    return f"in module {where[0]!r} ({where[1]})"


def _export(model, args, kwargs, input_names, output_names, export_params,
            keep_initializers_as_inputs, verbose):
    leaves = _flatten(args, []) + _flatten(kwargs, [])
    pnames = {}
    if hasattr(model, "named_parameters"):
        for n, t in list(model.named_parameters()) + list(model.named_buffers()):
            if t is not None:
                pnames.setdefault(id(t), n)
    live = [t for t in _live(model)]
    trace, flat, where = _run_traced(model, args, kwargs, leaves, live)
    in_names = _names(input_names, len(leaves), "input", "input")
    out_names = _names(output_names, len(flat), "output", "output")
    g = Graph(reserved=in_names + out_names,
              fold=export_params and not keep_initializers_as_inputs)

    # values the outputs depend on
    needed = set(trace.outputs)
    keep = []
    for k in range(len(trace.nodes) - 1, -1, -1):
        node = trace.nodes[k]
        if node.kind != "op" or not needed.intersection(node.outs):
            continue
        keep.append(k)
        needed.update(node.ins)
        needed.update(s for _, s in node.binds)
    keep.reverse()

    value = {}
    for i, t in enumerate(leaves):   # the tracer numbers the inputs first
        a = t.array
        value[i] = in_names[i]
        g.inputs.append((in_names[i], a.dtype, tuple(a.shape)))
    for s, (kind, obj) in sorted(trace.free.items()):
        if kind == "input" or s not in needed:
            continue
        if kind == "live":
            name = pnames.get(id(obj), f"buffer_{s}")
            if export_params:
                value[s] = g.initializer(name, B.asnumpy(obj.array))
            else:
                value[s] = g.fresh(name)
                g.inputs.append((value[s], obj.array.dtype, tuple(obj.shape)))
        else:
            value[s] = g.const(B.asnumpy(obj), "const")

    for k in keep:
        node = trace.nodes[k]
        _lower(g, node, trace, value, where(k))

    claimed = set()
    produced = g.produced()
    for i, s in enumerate(trace.outputs):
        v, want = value[s], out_names[i]
        if v in produced and v not in claimed:
            g.rename(v, want)
            produced.discard(v)
            produced.add(want)
            for s2 in value:
                if value[s2] == v:
                    value[s2] = want
        else:
            g.add("Identity", [v], [want])
        claimed.add(want)
        shape, dtype = trace.meta[s]
        g.outputs.append((want, dtype, tuple(shape)))

    if verbose:
        print(_describe(g))
    data = g.serialize(type(model).__name__, _version(), keep_initializers_as_inputs)
    if len(data) > _LIMIT:
        raise RuntimeError(_err(f"the model is {len(data)} bytes, over protobuf's 2 GiB "
                                f"limit (external data is not supported)"))
    return ONNXProgram(data, in_names, out_names)


def _live(model):
    if not hasattr(model, "parameters"):
        return []
    return list(model.parameters()) + [b for b in model.buffers() if b is not None]


def _lower(g, node, trace, value, where):
    fn = node.fn
    emit = TABLE.get(type(fn))
    if emit is None:
        raise NotImplementedError(_err(f"no ONNX mapping for op {node.name} "
                                       f"({_where_text(where)})"))
    prefix = "/" + where[0].replace(".", "/") if where and where[0] else ""
    x = [value[s] for s in node.ins]
    y = [g.fresh(f"{prefix}/{node.name}_out{j}") for j in range(len(node.outs))]
    # a bound value made by no op that ONNX has (a dropout mask's random draw) stays
    # None: the op's emitter refuses it with its own reason
    bound = {path: value.get(s) for path, s in node.binds}
    start = len(g.nodes)
    op = Op(g, fn, x, y, [trace.meta[s] for s in node.ins], [trace.meta[s] for s in node.outs],
            bound)
    try:
        result = emit(op)
    except Unsupported as e:
        why = f"; {e.why}" if e.why else ""
        raise NotImplementedError(_err(f"op {node.name}: {e.what} is not supported "
                                       f"({_where_text(where)}){why}")) from None
    if result is not None:
        results = result if isinstance(result, list) else [result]
        new = {o for n in g.nodes[start:] for o in n[2]}
        for r, want in zip(results, y):
            if r in new:
                for n in g.nodes[start:]:
                    n[1] = [want if v == r else v for v in n[1]]
                    n[2] = [want if v == r else v for v in n[2]]
                new.discard(r)
            else:
                g.add("Identity", [r], [want])
    made = {o for n in g.nodes[start:] for o in n[2]}
    missing = [v for v in y if v not in made]
    if missing:   # a bug in an emitter, not the user's
        raise AssertionError(f"chainrule.onnx: the {node.name} emitter did not write {missing}")
    for s, v in zip(node.outs, y):
        value[s] = v


def _describe(g):
    lines = [f"graph: {len(g.nodes)} nodes, opset {OPSET}",
             "inputs: " + ", ".join(f"{n}{list(s)}" for n, _, s in g.inputs)]
    for op_type, ins, outs, attrs in g.nodes:
        extra = f" {attrs}" if attrs else ""
        lines.append(f"  {', '.join(outs)} = {op_type}({', '.join(ins)}){extra}")
    lines.append("outputs: " + ", ".join(f"{n}{list(s)}" for n, _, s in g.outputs))
    return "\n".join(lines)


def _version():
    try:
        from importlib.metadata import version
        return version("chainrule")
    except Exception:   # not installed as a distribution (a source checkout)
        return ""
