"""chainrule.onnx.export: the written models load in onnx (checker, full check) and
onnxruntime reproduces chainrule's eval-mode outputs.

The onnxruntime tests skip where ``onnx`` / ``onnxruntime`` are not installed (they are
in the ``test`` extra); the refusal tests run everywhere.
"""
import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.onnx import OPSET, TrainingMode, export

try:
    import onnx
    import onnxruntime as ort
except ImportError:   # the checks below that need them skip
    onnx = ort = None

needs_ort = pytest.mark.skipif(ort is None, reason="onnx and onnxruntime are not installed "
                               "(pip install onnx onnxruntime; they are in the test extra)")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ATOL = 1e-5


def _flat(obj):
    if isinstance(obj, cr.Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for v in obj for t in _flat(v)]
    return []


def _exported(model, args, **kw):
    """(onnx ModelProto, onnxruntime session) of ``model`` exported on ``args``."""
    buf = io.BytesIO()
    export(model, args, buf, **kw)
    data = buf.getvalue()
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    return proto, ort.InferenceSession(data, providers=["CPUExecutionProvider"])


def _check(model, args, feeds=None, **kw):
    """Export, run in onnxruntime on the same inputs, compare with chainrule (eval mode).
    Returns the ModelProto."""
    model.eval()
    proto, sess = _exported(model, args, **kw)
    inputs = _flat(args)
    if feeds is None:
        feeds = {}
    for info, t in zip(sess.get_inputs(), inputs):
        feeds.setdefault(info.name, t.numpy())
    got = sess.run(None, feeds)
    with cr.no_grad():
        ref = [t.numpy() for t in _flat(model(*(args if isinstance(args, tuple) else (args,))))]
    assert len(got) == len(ref)
    for k, (g, r) in enumerate(zip(got, ref)):
        assert g.shape == r.shape and g.dtype == r.dtype, (k, g.shape, r.shape)
        np.testing.assert_allclose(g, r, atol=ATOL, rtol=1e-5, err_msg=f"output {k}")
    return proto


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


# ---------------------------------------------------------------- models
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 5)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        x = self.drop(F.relu(self.fc1(x)))
        x = cr.tanh(self.fc2(x)) * 2.0 + cr.sigmoid(x[:, :16]) - 0.5
        return F.log_softmax(self.fc3(x / 3), dim=1)


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10), nn.Softmax(dim=1))


class LanguageModel(nn.Module):
    """Embedding, dropout, a multi-layer recurrent net, a decoder, log_softmax: the shape
    of the word_language_model example's RNNModel."""

    def __init__(self, kind, ntoken=40, ninp=12, nhid=16, nlayers=2):
        super().__init__()
        self.kind, self.ntoken, self.nhid, self.nlayers = kind, ntoken, nhid, nlayers
        self.encoder = nn.Embedding(ntoken, ninp)
        self.drop = nn.Dropout(0.2)
        if kind in ("LSTM", "GRU"):
            self.rnn = getattr(nn, kind)(ninp, nhid, nlayers, dropout=0.2)
        else:
            self.rnn = nn.RNN(ninp, nhid, nlayers, dropout=0.2,
                              nonlinearity="tanh" if kind == "RNN_TANH" else "relu")
        self.decoder = nn.Linear(nhid, ntoken)

    def forward(self, x, hidden):
        out, hidden = self.rnn(self.drop(self.encoder(x)), hidden)
        decoded = self.decoder(self.drop(out)).view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def hidden(self, batch):
        shape = (self.nlayers, batch, self.nhid)
        if self.kind == "LSTM":
            return cr.randn(*shape), cr.randn(*shape)
        return cr.randn(*shape)


# ---------------------------------------------------------------- onnxruntime checks
@needs_ort
def test_mlp():
    proto = _check(MLP(), (cr.randn(4, 3, 4),))
    assert _ops(proto).count("Gemm") == 3 and "Dropout" not in _ops(proto)
    assert proto.opset_import[0].version == OPSET == 17 and proto.ir_version == 8
    inits = {t.name for t in proto.graph.initializer}
    assert {"fc1.weight", "fc1.bias", "fc3.weight"} <= inits


@needs_ort
def test_lenet_with_batch_norm_in_eval_mode():
    model = lenet()
    bn = model[1]
    with cr.no_grad():   # non-trivial running statistics and affine parameters
        bn.running_mean.copy_(cr.randn(6))
        bn.running_var.copy_(cr.rand(6) + 0.5)
        bn.weight.copy_(cr.randn(6))
        bn.bias.copy_(cr.randn(6))
    proto = _check(model, (cr.randn(3, 1, 28, 28),))
    ops = _ops(proto)
    assert ops.count("Conv") == 2 and "MaxPool" in ops and "AveragePool" in ops


@needs_ort
@pytest.mark.parametrize("layer", [
    nn.MaxPool2d(3, 2, padding=1, ceil_mode=True),
    nn.MaxPool2d(2, dilation=2),
    nn.AvgPool2d(3, 2, padding=1, count_include_pad=False),
    nn.AvgPool2d(3, 2, padding=1, ceil_mode=True),
    nn.AvgPool2d((2, 3), divisor_override=5),
    nn.Conv2d(4, 6, 3, stride=2, padding=(1, 2), dilation=2, groups=2),
    nn.Conv2d(4, 3, 2, bias=False),
], ids=lambda m: repr(m))
def test_pooling_and_convolution_geometry(layer):
    _check(layer, (cr.randn(2, 4, 10, 11),))   # H: windows padded unevenly


@needs_ort
@pytest.mark.parametrize("layer, shape", [
    (nn.Conv1d(4, 5, 3, padding=1), (2, 4, 11)),
    (nn.MaxPool1d(3, 2), (2, 4, 11)),
    (nn.AvgPool1d(3, 2, padding=1), (2, 4, 11)),
    (nn.MaxPool2d(2), (4, 10, 11)),                 # unbatched (C, H, W)
    (nn.GroupNorm(2, 4), (2, 4, 5, 6)),
    (nn.InstanceNorm2d(4, affine=True), (2, 4, 5, 6)),
], ids=lambda v: repr(v))
def test_one_dimensional_unbatched_and_normalisation_layers(layer, shape):
    _check(layer, (cr.randn(*shape),))


@needs_ort
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
def test_language_models(kind):
    model = LanguageModel(kind)
    hidden = model.hidden(3)
    proto = _check(model, (cr.randint(0, 40, (7, 3)), hidden))
    op = {"LSTM": "LSTM", "GRU": "GRU"}.get(kind, "RNN")
    assert _ops(proto).count(op) == 2   # one node per layer
    assert [i.name for i in proto.graph.input] == \
        ["input_0", "input_1"] + (["input_2"] if kind == "LSTM" else [])
    assert len(proto.graph.output) == (3 if kind == "LSTM" else 2)


@needs_ort
def test_lstm_weights_as_graph_inputs():
    # export_params=False: the gate reordering is computed in the graph, from parameters
    # fed by their state_dict names
    model = LanguageModel("LSTM").eval()
    feeds = {k: v.numpy() for k, v in model.state_dict().items()}
    proto = _check(model, (cr.randint(0, 40, (5, 2)), model.hidden(2)), feeds=feeds,
                   export_params=False)
    assert not proto.graph.initializer or \
        not {t.name for t in proto.graph.initializer} & set(feeds)
    assert set(feeds) <= {i.name for i in proto.graph.input}
    # keep_initializers_as_inputs: overridable, so not folded; defaults to the weights
    proto = _check(model, (cr.randint(0, 40, (5, 2)), model.hidden(2)),
                   keep_initializers_as_inputs=True)
    assert set(model.state_dict()) <= {i.name for i in proto.graph.input} & \
        {t.name for t in proto.graph.initializer}
    assert "Split" in _ops(proto)


@needs_ort
@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("kw", [dict(bidirectional=True, num_layers=2), dict(batch_first=True),
                                dict(bias=False)], ids=str)
def test_recurrent_layer_options(cls, kw):
    _check(cls(4, 5, **kw), (cr.randn(3, 6, 4),))


@needs_ort
def test_unbatched_lstm_and_peepholes():
    _check(nn.LSTM(4, 5), (cr.randn(6, 4),))
    proto = _check(nn.PeepholeLSTM(4, 5, num_layers=2), (cr.randn(3, 6, 4),))
    assert all(len(n.input) == 8 for n in proto.graph.node if n.op_type == "LSTM")  # P


@needs_ort
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning",
                            "ignore:divide by zero:RuntimeWarning")
def test_elementwise_ops_activations_shapes_and_normalisation():
    class Zoo(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln = nn.LayerNorm(6)
            self.pos = nn.Embedding(4, 6)

        def forward(self, x, idx):
            y = self.ln(x) + self.pos(cr.arange(4))   # constant positions
            a = (F.gelu(y) + F.gelu(y, approximate="tanh") * F.silu(y)
                 - F.softplus(y, beta=2) / F.elu(y).exp())
            b = (F.logsigmoid(x * 50) + F.selu(x) + F.celu(x, 0.5) + F.leaky_relu(x, 0.2)
                 + F.hardtanh(x) + x.clamp(min=-0.5) + cr.maximum(x, y) ** 2)
            c = cr.cat([a, b], 1)[:, 2:9:2]
            d = cr.stack([c, c * 2], 0).sum(0).mean(-1, keepdim=True)
            e, f = x.chunk(2, dim=1)
            g = e.transpose(0, 1) @ f
            h = x[1] + x[..., None][0, :, 0] + cr.sqrt(x.abs() + 1) + cr.rsqrt(x * x + 1)
            m = cr.where((x > 0) & (y <= 1), x, -y) + (x != 0).float() + F.softmax(x, dim=0)
            r = x.unbind(1)[2] * x[:, 1:2].expand(4, 3).square().sum(1).reciprocal()
            z = cr.log(x)                       # nan (x < 0), -inf (x = 0), finite
            special = (cr.isnan(z).float() + 2 * cr.isinf(z).float()
                       + 4 * (cr.isfinite(z) ^ (x > 1)).float())
            return (d, g, h, x.permute(1, 0).reshape(3, 8), m.unsqueeze(0).flatten(1), r,
                    special, x[idx], x.split([2, 4], 1)[1].clone())

    x = cr.randn(4, 6)
    x[0, 0] = 0.0
    idx = cr.tensor([3, 0, 3])
    _check(Zoo(), (x, idx))


@needs_ort
def test_names_paths_and_file_objects(tmp_path):
    model = MLP().eval()
    x = cr.randn(2, 12)
    path = tmp_path / "mlp.onnx"
    prog = export(model, (x,), str(path), input_names=["pixels"], output_names=["logp"])
    buf = io.BytesIO()
    export(model, x, buf, input_names=["pixels"], output_names=["logp"])
    assert path.read_bytes() == buf.getvalue() == prog.model_bytes
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["pixels"]
    (out,) = sess.run(["logp"], {"pixels": x.numpy()})
    with cr.no_grad():
        np.testing.assert_allclose(out, model(x).numpy(), atol=ATOL)


@needs_ort
def test_eval_mode_by_default_and_modes_restored():
    model = MLP()
    model.train()
    x = cr.randn(2, 12)
    proto, sess = _exported(model, (x,))
    assert model.training and model.drop.training
    model.eval()
    with cr.no_grad():
        np.testing.assert_allclose(sess.run(None, {"input_0": x.numpy()})[0],
                                   model(x).numpy(), atol=ATOL)
    model.train()
    with pytest.raises(NotImplementedError, match="op Dropout: dropout in training mode is "
                                                  "not supported .*; it draws random masks"):
        export(model, (x,), io.BytesIO(), training=TrainingMode.PRESERVE)


@needs_ort
def test_keyword_arguments_and_a_compiled_model():
    class Affine(nn.Module):
        def forward(self, x, scale=None, shift=0.5):
            return x * scale + shift

    x, scale = cr.randn(3), cr.randn(3)
    proto, sess = _exported(Affine(), (x, {"scale": scale}))
    (got,) = sess.run(None, {"input_0": x.numpy(), "input_1": scale.numpy()})
    np.testing.assert_allclose(got, (x * scale + 0.5).numpy(), atol=ATOL)
    compiled = cr.compile(MLP().eval())
    for _ in range(3):   # traced, planned, then run from the plan
        compiled(cr.randn(2, 12))
    _check(compiled, (cr.randn(2, 12),))

    class Outer(nn.Module):   # a compiled submodule: its ops are recorded, not its program
        def __init__(self):
            super().__init__()
            self.inner = cr.compile(MLP())
            self.head = nn.Linear(5, 2)

        def forward(self, x):
            return self.head(self.inner(x).tanh())

    outer = Outer().eval()
    for _ in range(3):
        outer(cr.randn(2, 12))
    _check(outer, (cr.randn(2, 12),))


@needs_ort
def test_output_that_is_an_input_or_repeated():
    class Pass(nn.Module):
        def forward(self, x, y):
            z = x + y
            return x, z, z

    _check(Pass(), (cr.randn(2, 3), cr.randn(2, 3)))


# ---------------------------------------------------------------- refusals
class Inner(nn.Module):
    def forward(self, x):
        return cr.cumsum(x, 0)


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.inner = Inner()

    def forward(self, x):
        return self.inner(self.fc(x))


def test_unmapped_op_names_the_op_and_the_module():
    with pytest.raises(NotImplementedError) as e:
        export(Outer(), (cr.randn(2, 3),), io.BytesIO())
    msg = str(e.value)
    assert msg.startswith("chainrule.onnx.export: no ONNX mapping for op Cumsum")
    assert "in module 'inner' (Inner)" in msg


def test_refused_options_and_features():
    model, x = MLP(), cr.randn(2, 12)
    with pytest.raises(ValueError, match="opset_version=11 is not supported.*opset 17"):
        export(model, (x,), io.BytesIO(), opset_version=11)
    with pytest.raises(NotImplementedError, match="dynamic_axes"):
        export(model, (x,), io.BytesIO(), dynamic_axes={"input_0": {0: "batch"}})
    with pytest.raises(ValueError, match="2 input names given for 1 input"):
        export(model, (x,), io.BytesIO(), input_names=["a", "b"])
    lstm = nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(NotImplementedError, match=r"op FusedLSTM: LSTM with proj_size is not "
                                                  r"supported \(in the model's own forward "
                                                  r"\(LSTM\)\); ONNX's LSTM has no projection"):
        export(lstm, (cr.randn(5, 2, 3),), io.BytesIO())


def test_data_dependent_python_reads_are_refused():
    class ReadsValue(nn.Module):
        def forward(self, x):
            return x * 2 if x.sum().item() > 0 else x

    with pytest.raises(RuntimeError, match="cannot trace ReadsValue: .*item"):
        export(ReadsValue(), (cr.randn(3),), io.BytesIO())


def test_torch_onnx_export_under_the_runner(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent("""
        import torch, torch.nn as nn, torch.onnx
        model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
        torch.onnx.export(model, (torch.randn(2, 4),), "m.onnx")
        print(torch.onnx.export is __import__("chainrule").onnx.export)
        """))
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "chainrule.torch_compat", str(script)],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "True" and (tmp_path / "m.onnx").stat().st_size > 0
