"""The op table: each recorded chainrule op (a ``Function`` class) -> ONNX nodes.

An emitter gets an :class:`Op` (the recorded op, the names of its input values and the
names its outputs must be written to) and adds nodes to the graph: it writes the output
names itself, or returns the value (or list of values) that the outputs are.  Shapes are
those of the trace (static).  Ops missing here stop the export with their name.
"""
import math

import numpy as np

from chainrule.functional import activation as A
from chainrule.functional import binary as BI
from chainrule.functional import conv as CV
from chainrule.functional import elementwise as E
from chainrule.functional import embedding as EM
from chainrule.functional import indexing as IX
from chainrule.functional import join as J
from chainrule.functional import linalg as LA
from chainrule.functional import normalization as NO
from chainrule.functional import pooling as PO
from chainrule.functional import reduction as RE
from chainrule.functional import rnn as RNN
from chainrule.functional import shape as SH
from chainrule.functional.dropout import Dropout
from chainrule.onnx.graph import Unsupported
from chainrule.onnx.proto import onnx_dtype

__all__ = ["Op", "TABLE"]


class Op:
    """One recorded op as the emitters see it.

    ``fn``: the op's Function object; ``x``: names of its input values; ``y``: the names
    its outputs must have; ``x_meta`` / ``y_meta``: (shape, dtype) of each."""

    def __init__(self, g, fn, x, y, x_meta, y_meta, bound):
        self.g, self.fn, self.x, self.y = g, fn, x, y
        self.x_meta, self.y_meta = x_meta, y_meta
        self._bound = bound     # attribute path -> value name

    def bound(self, path):
        """The value name of an array the op holds as an attribute (or None)."""
        return self._bound.get(path)

    def cast(self, name, have, want):
        """``name`` converted from dtype ``have`` to ``want`` (a Cast node if they differ)."""
        if np.dtype(have) == np.dtype(want):
            return name
        return self.g.add("Cast", [name], to=onnx_dtype(want))

    def out(self, op_type, inputs, **attrs):
        """A node writing this op's (single) output."""
        return self.g.add(op_type, inputs, [self.y[0]], **attrs)


TABLE = {}


def emits(*classes):
    def deco(f):
        for c in classes:
            TABLE[c] = f
        return f
    return deco


# ---------------------------------------------------------------- elementwise
_BINARY = {BI.Add: "Add", BI.Sub: "Sub", BI.Mul: "Mul", BI.Div: "Div", BI.Pow: "Pow",
           BI.Maximum: "Max", BI.Minimum: "Min"}


@emits(*_BINARY)
def _binary(op):
    npd = op.fn.npd
    a, b = (op.cast(n, m[1], npd) for n, m in zip(op.x, op.x_meta))
    if type(op.fn) is BI.Pow and op.y_meta[0][1].kind in "iu":
        raise Unsupported("integer pow", "ONNX's Pow differs on negative exponents")
    op.out(_BINARY[type(op.fn)], [a, b])


_UNARY = {E.Neg: "Neg", E.Abs: "Abs", E.Sign: "Sign", E.Exp: "Exp", E.Log: "Log",
          E.Sqrt: "Sqrt", E.Reciprocal: "Reciprocal", E.Sin: "Sin", E.Cos: "Cos",
          E.Tan: "Tan", E.Tanh: "Tanh", E.Asin: "Asin", E.Acos: "Acos", E.Atan: "Atan",
          E.Sinh: "Sinh", E.Cosh: "Cosh", E.Erf: "Erf", E.Sigmoid: "Sigmoid",
          E.Relu: "Relu", E.Floor: "Floor", E.Ceil: "Ceil", E.Round: "Round"}


def _x_as_y(op):
    """The input converted to the output's dtype (integer inputs of exp, log, ...)."""
    return op.cast(op.x[0], op.x_meta[0][1], op.y_meta[0][1])


@emits(*_UNARY)
def _unary(op):
    op.out(_UNARY[type(op.fn)], [_x_as_y(op)])


@emits(E.Rsqrt)
def _rsqrt(op):
    op.out("Reciprocal", [op.g.add("Sqrt", [_x_as_y(op)])])


@emits(E.Square)
def _square(op):
    x = _x_as_y(op)
    op.out("Mul", [x, x])


@emits(E.Clamp)
def _clamp(op):
    dt, g = op.y_meta[0][1], op.g
    lo = "" if op.fn.lo is None else g.scalar(op.fn.lo, dt)
    hi = "" if op.fn.hi is None else g.scalar(op.fn.hi, dt)
    op.out("Clip", [op.x[0], lo, hi])


_COMPARE = {"equal": "Equal", "less": "Less", "less_equal": "LessOrEqual",
            "greater": "Greater", "greater_equal": "GreaterOrEqual"}
_LOGICAL = {"logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}


@emits(BI._Compare)
def _compare(op):
    """Comparisons in the promoted dtype; logical ops (and bitwise ops on bools) on
    truth values."""
    u, npd = op.fn.ufunc, op.fn.npd
    if u.startswith("bitwise_") and npd.kind == "b":
        u = "logical_" + u[len("bitwise_"):]
    if u in _LOGICAL:
        a, b = (op.cast(n, m[1], np.bool_) for n, m in zip(op.x, op.x_meta))
        return op.out(_LOGICAL[u], [a, b])
    a, b = (op.cast(n, m[1], npd) for n, m in zip(op.x, op.x_meta))
    if u == "not_equal":
        return op.out("Not", [op.g.add("Equal", [a, b])])
    if u not in _COMPARE:
        raise Unsupported(f"{u} on {npd} values", "ONNX opset 17 has no bitwise ops")
    op.out(_COMPARE[u], [a, b])


@emits(E._Predicate)
def _predicate(op):
    u, g, x = op.fn.ufunc, op.g, op.x[0]
    if op.x_meta[0][1].kind != "f" and u in ("isnan", "isinf", "isfinite"):
        t = g.add("Equal", [x, x])      # integers: always finite, never NaN or inf
        return t if u == "isfinite" else op.out("Not", [t])
    if u == "isnan":
        return op.out("IsNaN", [x])
    if u == "isinf":
        return op.out("IsInf", [x])
    if u == "isfinite":
        return op.out("Not", [g.add("Or", [g.add("IsNaN", [x]), g.add("IsInf", [x])])])
    if u == "logical_not" or (u == "invert" and op.x_meta[0][1].kind == "b"):
        return op.out("Not", [op.cast(x, op.x_meta[0][1], np.bool_)])
    raise Unsupported(u, "ONNX opset 17 has no bitwise ops")


@emits(BI.Where)
def _where(op):
    c = op.cast(op.x[0], op.x_meta[0][1], np.bool_)
    a, b = (op.cast(n, m[1], op.fn.npd) for n, m in zip(op.x[1:], op.x_meta[1:]))
    op.out("Where", [c, a, b])


@emits(BI.Cast)
def _cast(op):
    op.out("Cast", [op.x[0]], to=onnx_dtype(op.fn.npd))


@emits(BI.Clone, BI.ToDevice)
def _identity(op):
    return op.x[0]


@emits(Dropout)
def _dropout(op):
    raise Unsupported("dropout in training mode", "it draws random masks; export in eval "
                      "mode (training=TrainingMode.EVAL, the default)")


# ---------------------------------------------------------------- activations
@emits(A.LeakyRelu)
def _leaky_relu(op):
    op.out("LeakyRelu", [op.x[0]], alpha=float(op.fn.slope))


@emits(A.Elu)
def _elu(op):
    alpha, scale, input_scale = op.fn.alpha, op.fn.scale, op.fn.input_scale
    if scale == 1 and input_scale == 1:
        op.out("Elu", [op.x[0]], alpha=float(alpha))
    elif input_scale == 1 and math.isclose(alpha, A.SELU_ALPHA) and \
            math.isclose(scale, A.SELU_SCALE):
        op.out("Selu", [op.x[0]], alpha=float(alpha), gamma=float(scale))
    elif scale == 1 and math.isclose(input_scale * alpha, 1.0):
        op.out("Celu", [op.x[0]], alpha=float(alpha))
    else:
        raise Unsupported(f"elu with alpha={alpha}, scale={scale}, input_scale={input_scale}")


@emits(A.Gelu)
def _gelu(op):
    g, x, dt = op.g, op.x[0], op.y_meta[0][1]
    if op.fn.approximate == "tanh":   # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        x3 = g.add("Mul", [g.add("Mul", [x, x]), x])
        inner = g.add("Add", [x, g.add("Mul", [x3, g.scalar(0.044715, dt)])])
        t = g.add("Tanh", [g.add("Mul", [inner, g.scalar(math.sqrt(2 / math.pi), dt)])])
    else:                             # 0.5 x (1 + erf(x / sqrt(2)))
        t = g.add("Erf", [g.add("Mul", [x, g.scalar(1 / math.sqrt(2), dt)])])
    half_x = g.add("Mul", [x, g.scalar(0.5, dt)])
    op.out("Mul", [half_x, g.add("Add", [t, g.scalar(1.0, dt)])])


@emits(A.Silu)
def _silu(op):
    op.out("Mul", [op.x[0], op.g.add("Sigmoid", [op.x[0]])])


@emits(A.Softplus)
def _softplus(op):
    # softplus(beta x) / beta, and x itself where beta x > threshold (torch)
    g, x, dt = op.g, op.x[0], op.y_meta[0][1]
    beta, threshold = op.fn.beta, op.fn.threshold
    bx = x if beta == 1 else g.add("Mul", [x, g.scalar(beta, dt)])
    soft = g.add("Softplus", [bx])
    if beta != 1:
        soft = g.add("Div", [soft, g.scalar(beta, dt)])
    op.out("Where", [g.add("Greater", [bx, g.scalar(threshold, dt)]), x, soft])


@emits(A.LogSigmoid)
def _log_sigmoid(op):   # log sigmoid(x) = -softplus(-x)
    g = op.g
    op.out("Neg", [g.add("Softplus", [g.add("Neg", [op.x[0]])])])


@emits(A.Softmax)
def _softmax(op):
    op.out("Softmax", [op.x[0]], axis=int(op.fn.dim))


@emits(A.LogSoftmax)
def _log_softmax(op):
    op.out("LogSoftmax", [op.x[0]], axis=int(op.fn.dim))


# ---------------------------------------------------------------- shapes
@emits(SH.Reshape)
def _reshape(op):
    op.out("Reshape", [op.x[0], op.g.ints(op.y_meta[0][0])])


@emits(SH.Permute)
def _permute(op):
    op.out("Transpose", [op.x[0]], perm=[int(a) for a in op.fn.axes])


@emits(LA.SwapLast)
def _swap_last(op):
    perm = list(range(len(op.x_meta[0][0])))
    perm[-2], perm[-1] = perm[-1], perm[-2]
    op.out("Transpose", [op.x[0]], perm=perm)


@emits(SH.BroadcastTo)
def _expand(op):
    op.out("Expand", [op.x[0], op.g.ints(op.fn.shape)])


@emits(J.Cat)
def _cat(op):
    if not op.fn.keep:
        raise Unsupported("cat of empty tensors only")
    parts = [op.cast(op.x[i], op.x_meta[i][1], op.fn.npd) for i in op.fn.keep]
    op.out("Concat", parts, axis=int(op.fn.dim))


@emits(J.Split)
def _split(op):
    op.g.add("Split", [op.x[0], op.g.ints(op.fn.sizes)], op.y, axis=int(op.fn.dim))


@emits(J.Unbind)
def _unbind(op):
    g, d = op.g, int(op.fn.dim)
    n = op.x_meta[0][0][d]
    pieces = g.add("Split", [op.x[0], g.ints([1] * n)], n, axis=d)
    for piece, y in zip([pieces] if n == 1 else pieces, op.y):
        g.add("Squeeze", [piece, g.ints([d])], [y])


def _basic_index(op, x, basic, rank, shape):
    """Nodes for NumPy basic indexing (ints, slices, None, one Ellipsis) of ``x``."""
    g = op.g
    items = list(basic)
    if any(i is Ellipsis for i in items):
        k = items.index(Ellipsis)
        used = sum(1 for i in items if i is not None and i is not Ellipsis)
        items[k:k + 1] = [slice(None)] * (rank - used)
    ints = [k for k, it in enumerate(items) if it is not None and not isinstance(it, slice)]
    if len(ints) == 1 and all(it == slice(None) for k, it in enumerate(items) if k != ints[0]):
        d = ints[0]   # x[..., i, ...]: one Gather with a 0-d index drops the axis
        return g.add("Gather", [x, g.const(np.asarray(int(items[d]) % shape[d], np.int64),
                                           "index")], axis=d)
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    d = out_pos = 0
    for it in items:
        if it is None:
            unsqueeze.append(out_pos)
            out_pos += 1
            continue
        n = shape[d]
        if isinstance(it, slice):
            start, stop, step = it.indices(n)
            if (start, stop, step) != (0, n, 1):
                if step < 0:
                    raise Unsupported("negative slice steps")
                starts.append(start), ends.append(stop), axes.append(d), steps.append(step)
            out_pos += 1
        else:
            i = int(it) % n
            starts.append(i), ends.append(i + 1), axes.append(d), steps.append(1)
            squeeze.append(d)
        d += 1
    if starts:
        x = g.add("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if squeeze:
        x = g.add("Squeeze", [x, g.ints(squeeze)])
    if unsqueeze:
        x = g.add("Unsqueeze", [x, g.ints(unsqueeze)])
    return x


@emits(IX.Slice)
def _slice(op):
    idx = op.fn.idx
    if idx.adv is not None or idx.basic is None:
        raise Unsupported("advanced indexing in a view op")
    shape = op.x_meta[0][0]
    return _basic_index(op, op.x[0], idx.basic, len(shape), shape)


@emits(IX.Index)
def _index(op):
    """``x[basic][adv]`` where ``adv`` is slices and one integer index tensor: Gather."""
    idx = op.fn.idx
    shape = op.x_meta[0][0]
    x = op.x[0]
    if idx.basic is not None:
        x = _basic_index(op, x, idx.basic, len(shape), shape)
    arrays = [k for k, a in enumerate(idx.adv) if not isinstance(a, slice)]
    if len(arrays) != 1 or any(a != slice(None) for k, a in enumerate(idx.adv)
                               if k != arrays[0]):
        raise Unsupported("indexing with several index tensors or boolean masks")
    k = arrays[0]
    name = op.bound((("attr", "idx"), ("attr", "adv"), ("item", k)))
    if name is None:
        raise Unsupported("indexing with a list or mask made inside forward",
                          "it may depend on the data; index with a tensor computed by ops "
                          "or passed in")
    op.out("Gather", [x, name], axis=k)


@emits(EM.Embedding)
def _embedding(op):
    name = op.bound((("attr", "idx"), ("attr", "adv"), ("item", 0)))
    if name is None:   # indices made in forward from Python values (positions): a constant
        name = op.g.const(np.asarray(op.fn.idx.adv[0]), "indices")
    op.out("Gather", [op.x[0], name], axis=0)


# ---------------------------------------------------------------- reductions
def _axes(op):
    axes = op.fn.axes
    return list(range(len(op.x_meta[0][0]))) if axes is None else [int(a) for a in axes]


@emits(RE.Sum)
def _sum(op):
    x = op.cast(op.x[0], op.x_meta[0][1], op.fn.npd)
    axes = _axes(op)
    if not axes:
        return x
    op.out("ReduceSum", [x, op.g.ints(axes)], keepdims=int(bool(op.fn.keepdim)))


@emits(RE.Mean)
def _mean(op):
    axes = _axes(op)
    if not axes:
        return op.x[0]
    op.out("ReduceMean", [op.x[0]], axes=axes, keepdims=int(bool(op.fn.keepdim)))


# ---------------------------------------------------------------- linear algebra
@emits(LA.Matmul)
def _matmul(op):
    op.out("MatMul", op.x)


@emits(LA.Linear)
def _linear(op):
    g = op.g
    x, w = op.x[0], op.x[1]
    b = op.x[2] if len(op.x) > 2 else None
    if len(op.x_meta[0][0]) == 2 and (b is None or len(op.x_meta[2][0]) <= 1):
        op.out("Gemm", [x, w] + ([b] if b else []), transB=1)
        return
    y = g.add("MatMul", [x, g.add("Transpose", [w], perm=[1, 0])])
    return y if b is None else g.add("Add", [y, b])


# ---------------------------------------------------------------- convolution, pooling
@emits(CV.Conv2d)
def _conv2d(op):
    geom = op.fn.g
    (top, bottom), (left, right) = geom.pads
    if min(top, bottom, left, right) < 0:
        raise Unsupported(f"negative padding {geom.pads}")
    if tuple(geom.out) != tuple(geom.natural_out()):
        raise Unsupported("an output size other than the natural one")
    op.out("Conv", op.x, kernel_shape=list(geom.kernel), strides=list(geom.stride),
           dilations=list(geom.dilation), group=int(geom.groups),
           pads=[top, left, bottom, right])


def _windows(op):
    """kernel, strides, dilations, pads of regular pooling windows (torch's
    ``Windows.regular``), and whether the input lacks the batch dim."""
    wins = op.fn.wins
    nd = len(wins)
    rank = len(op.x_meta[0][0])
    if any(w.step is None for w in wins):
        raise Unsupported("adaptive pooling windows")
    kernel, strides, dils, begin, end = [], [], [], [], []
    for w in wins:
        base, d = w.step
        k = len(w.picks)
        p_before, p_after = w.pad
        eff = d * (k - 1) + 1
        if len(base) > 1:
            s = int(base[1] - base[0])
        else:   # one output: any stride that yields one window
            s = max(1, w.in_size + p_before + p_after - eff + 1)
        kernel.append(k), strides.append(s), dils.append(int(d))
        begin.append(int(p_before)), end.append(int(p_after))
    return kernel, strides, dils, begin + end, rank == nd + 1


def _pool(op, op_type, extra):
    g = op.g
    kernel, strides, dils, pads, unbatched = _windows(op)
    x = op.x[0]
    if unbatched:
        x = g.add("Unsqueeze", [x, g.ints([0])])
    attrs = dict(kernel_shape=kernel, strides=strides, pads=pads, **extra)
    if op_type == "MaxPool":
        attrs["dilations"] = dils
    y = g.add(op_type, [x], **attrs)
    if unbatched:
        y = g.add("Squeeze", [y, g.ints([0])])
    return y, kernel


@emits(PO.MaxPool)
def _max_pool(op):
    return _pool(op, "MaxPool", {})[0]


@emits(PO.AvgPool)
def _avg_pool(op):
    # AveragePool over the explicitly padded windows with pads counted is (window sum) /
    # prod(kernel); chainrule's op is (window sum) * scale, scale a number or a grid
    y, kernel = _pool(op, "AveragePool", {"count_include_pad": 1})
    factor = np.asarray(op.fn.scale, np.float64) * float(np.prod(kernel))
    if factor.ndim == 0 and abs(float(factor) - 1.0) < 1e-12:
        return y
    op.out("Mul", [y, op.g.const(factor.astype(op.y_meta[0][1]), "avg_pool_scale")])


@emits(NO.Normalize)
def _normalize(op):
    """(x - mean) / sqrt(var + eps) over ``axes`` (biased variance), then weight, bias."""
    g, x, dt = op.g, op.x[0], op.y_meta[0][1]
    axes = [int(a) for a in op.fn.axes]
    mean = g.add("ReduceMean", [x], axes=axes, keepdims=1)
    d = g.add("Sub", [x, mean])
    var = g.add("ReduceMean", [g.add("Mul", [d, d])], axes=axes, keepdims=1)
    std = g.add("Sqrt", [g.add("Add", [var, g.scalar(op.fn.eps, dt)])])
    y = g.add("Div", [d, std])
    rest = list(op.x[1:])
    if op.fn.has_weight:
        y = g.add("Mul", [y, rest.pop(0)])
    if op.fn.has_bias:
        y = g.add("Add", [y, rest.pop(0)])
    return y


# ---------------------------------------------------------------- recurrent layers
# ONNX gate orders, as indices of torch's gate blocks: LSTM i,o,f,c from torch's
# i,f,g,o; GRU z,r,h from torch's r,z,n
_GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}


def _regate(g, name, order):
    """A weight or bias with its gate blocks (along axis 0) put in ONNX's order."""
    if len(order) == 1:
        return name
    parts = g.add("Split", [name], len(order), axis=0)
    return g.add("Concat", [parts[i] for i in order], axis=0)


def _dirs(g, name):
    """Add the leading num_directions axis (1) ONNX's recurrent ops expect."""
    return g.add("Unsqueeze", [name, g.ints([0])])


def _rnn_weight(g, names, order, hint):
    """ONNX's W, R or B input from torch's tensors: gate blocks reordered, the tensors
    concatenated (B = [Wb, Rb]), a leading directions axis.  Folded into one initializer
    when the tensors are constant parameters, else computed in the graph."""
    arrays = [g.constant_value(n) for n in names]
    if all(a is not None for a in arrays):
        parts = [np.concatenate([np.split(a, len(order))[i] for i in order])
                 if len(order) > 1 else a for a in arrays]
        return g.const(np.concatenate(parts)[None], hint)
    parts = [_regate(g, n, order) for n in names]
    return _dirs(g, parts[0] if len(parts) == 1 else g.add("Concat", parts, axis=0))


@emits(RNN.FusedLSTM, RNN.FusedGRU, RNN.FusedRNN)
def _recurrent(op):
    fn, g = op.fn, op.g
    mode = fn.mode
    if fn.batch_sizes is not None:
        raise Unsupported("packed (variable-length) sequences")
    a = dict(zip(fn.names, op.x))
    meta = dict(zip(fn.names, op.x_meta))
    if "w_hr" in a:
        raise Unsupported("LSTM with proj_size", "ONNX's LSTM has no projection")
    order = _GATE_ORDER[mode]
    hidden = meta["w_hh"][0][1]
    W = _rnn_weight(g, [a["w_ih"]], order, f"{a['w_ih']}.onnx_W")
    R = _rnn_weight(g, [a["w_hh"]], order, f"{a['w_hh']}.onnx_R")
    B = ""
    if "b_ih" in a:
        B = _rnn_weight(g, [a["b_ih"], a["b_hh"]], order, f"{a['b_ih']}.onnx_B")
    ins = [a["x"], W, R, B, "", _dirs(g, a["h0"])]
    attrs = {"hidden_size": int(hidden), "direction": "reverse" if fn.reverse else "forward"}
    if mode == "LSTM":
        ins.append(_dirs(g, a["c0"]))
        if "w_ci" in a:   # ONNX's peepholes P are [Pi, Po, Pf]
            ins.append(_rnn_weight(g, [a["w_ci"], a["w_co"], a["w_cf"]], [0], "peepholes"))
        op_type, n_out = "LSTM", 3
    elif mode == "GRU":
        op_type, n_out = "GRU", 2
        attrs["linear_before_reset"] = 1   # torch's n = tanh(W_in x + r * (W_hn h + b_hn))
    else:
        op_type, n_out = "RNN", 2
        attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"]
    outs = g.add(op_type, ins, n_out, **attrs)
    # Y (T, 1, N, H) -> (T, N, H); Y_h, Y_c (1, N, H) -> (N, H)
    g.add("Squeeze", [outs[0], g.ints([1])], [op.y[0]])
    for o, y in zip(outs[1:], op.y[1:]):
        g.add("Squeeze", [o, g.ints([0])], [y])
