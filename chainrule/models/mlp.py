"""Multilayer perceptrons for classification and regression.

The initialization follows the activation, as the seeds teach: Xavier (Glorot)
for tanh/sigmoid, which keep the variance of activations and gradients when the
gain matches; He (Kaiming) for the ReLU family, which zeroes half its inputs and
needs twice the variance.
"""
from chainrule import nn
from chainrule.models.registry import register_model

__all__ = ["MLP", "ACTIVATIONS", "INITS", "resolve_init", "mlp", "mlp_regressor"]

ACTIVATIONS = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "elu": "ELU", "gelu": "GELU",
               "silu": "SiLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}
_RELU_LIKE = ("relu", "leaky_relu", "elu", "gelu", "silu")
INITS = ("auto", "xavier", "kaiming", "normal", "default")


def resolve_init(init, activation):
    """The concrete scheme for ``init='auto'``: ``'kaiming'`` for the ReLU family,
    ``'xavier'`` for tanh and sigmoid; other values are returned unchanged."""
    if init not in INITS:
        raise ValueError(f"MLP: init must be one of {INITS}, got {init!r}")
    if init != "auto":
        return init
    return "kaiming" if activation in _RELU_LIKE else "xavier"


def _init_linear(layer, scheme, activation):
    """Initialize one Linear layer; ``activation`` is what follows it (None: output)."""
    if scheme == "default":
        return
    w = layer.weight
    if scheme == "kaiming":
        nl = "leaky_relu" if activation == "leaky_relu" else (
            "relu" if activation in _RELU_LIKE else "linear")
        nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity=nl)
    elif scheme == "xavier":
        gain = nn.init.calculate_gain(activation) if activation in ("tanh", "sigmoid") else 1.0
        nn.init.xavier_uniform_(w, gain=gain)
    else:  # "normal": d2l's N(0, 0.01)
        nn.init.normal_(w, 0.0, 0.01)
    nn.init.zeros_(layer.bias)


class MLP(nn.Module):
    """Flatten, then ``Linear -> activation [-> Dropout]`` per hidden size, then a
    ``Linear`` to ``num_classes`` outputs (class logits, or regression values).

    Args:
        in_features: size of a flattened input sample.
        num_classes: number of outputs.
        hidden_sizes: width of each hidden layer (empty: softmax/linear regression).
        activation: one of ``relu leaky_relu elu gelu silu tanh sigmoid``.
        dropout: drop probability after each hidden activation (0: no Dropout layer).
        init: ``'auto'`` (He for the ReLU family, Xavier for tanh/sigmoid),
            ``'kaiming'``, ``'xavier'``, ``'normal'`` (N(0, 0.01)) or ``'default'``
            (torch's Linear default).  Biases start at zero except for ``'default'``.

    Shape: input ``(N, *)`` with ``in_features`` elements per sample; output
    ``(N, num_classes)``.

    >>> import chainrule as cr
    >>> m = MLP(64, 10, hidden_sizes=(32, 16), activation="tanh")
    >>> m.init, m(cr.ones(4, 1, 8, 8)).shape
    ('xavier', chainrule.Size([4, 10]))
    """

    def __init__(self, in_features, num_classes, hidden_sizes=(256,), activation="relu",
                 dropout=0.0, init="auto"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP: unknown activation {activation!r}; "
                             f"choose from {', '.join(ACTIVATIONS)}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout}")
        sizes = [int(h) for h in hidden_sizes]
        if any(h <= 0 for h in sizes) or in_features <= 0 or num_classes <= 0:
            raise ValueError(f"MLP: sizes must be positive, got in_features={in_features}, "
                             f"hidden_sizes={tuple(sizes)}, num_classes={num_classes}")
        self.in_features, self.num_classes = int(in_features), int(num_classes)
        self.hidden_sizes, self.activation = tuple(sizes), activation
        self.dropout, self.init = float(dropout), resolve_init(init, activation)
        self.flatten = nn.Flatten()
        layers, d = [], self.in_features
        for h in sizes:
            layers += [nn.Linear(d, h), getattr(nn, ACTIVATIONS[activation])()]
            if self.dropout > 0:
                layers.append(nn.Dropout(self.dropout))
            d = h
        layers.append(nn.Linear(d, self.num_classes))
        self.net = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self):
        linears = [m for m in self.net if isinstance(m, nn.Linear)]
        for i, layer in enumerate(linears):
            follow = self.activation if i < len(linears) - 1 else None
            _init_linear(layer, self.init, follow)

    def forward(self, x):
        return self.net(self.flatten(x))


@register_model("mlp", task="classification")
def mlp(in_features=784, num_classes=10, hidden_sizes=(256,), activation="relu",
        dropout=0.0, init="auto"):
    """MLP classifier: hidden layers with ReLU/tanh/..., init matched to the activation."""
    return MLP(in_features, num_classes, hidden_sizes, activation, dropout, init)


@register_model("mlp_regressor", task="regression")
def mlp_regressor(in_features=331, out_features=1, hidden_sizes=(256,), activation="relu",
                  dropout=0.0, init="auto"):
    """MLP regressor: the MLP with real-valued outputs (e.g. house prices)."""
    return MLP(in_features, out_features, hidden_sizes, activation, dropout, init)
