"""Autoencoders: MLP and convolutional, used plain, denoising (Vincent, Larochelle,
Bengio & Manzagol 2008, "Extracting and composing robust features with denoising
autoencoders", ICML: the input is corrupted by masking or Gaussian noise, the target is
the clean input) and sparse (Ng's "Sparse autoencoder" notes: a KL(rho || rho_hat)
penalty with weight beta on the mean hidden activations, see
:func:`chainrule.functional.generative.bernoulli_kl`).

``forward(x)`` returns the reconstruction's logits (``(N, C, H, W)`` like the input, or
``(N, in_features)`` for 2-D input); :meth:`encode` gives the hidden code.
"""
import math

from chainrule import functional as F
from chainrule.core import creation as C
from chainrule import nn
from chainrule.models.registry import register_model

__all__ = ["Autoencoder", "ConvAutoencoder", "corrupt", "autoencoder", "conv_autoencoder"]

_ACTS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}


def corrupt(x, noise="masking", level=0.3):
    """Vincent et al.'s corruptions of a batch ``x`` with values in [0, 1]: ``'masking'``
    sets a random fraction ``level`` of the inputs to 0, ``'gaussian'`` adds
    ``N(0, level**2)`` noise (clipped to [0, 1]); ``'none'`` returns ``x``."""
    if noise == "none" or level == 0:
        return x
    if noise == "masking":
        if not 0 <= level < 1:
            raise ValueError(f"corrupt: masking level must be in [0, 1), got {level}")
        return x * (C.rand_like(x) >= level).to(x.dtype)
    if noise == "gaussian":
        return F.clamp(x + level * C.randn_like(x), 0.0, 1.0)
    raise ValueError(f"corrupt: noise must be 'masking', 'gaussian' or 'none', got {noise!r}")


class Autoencoder(nn.Module):
    """MLP autoencoder ``in -> hidden... -> in`` (decoder mirrors the encoder).

    Args:
        in_features: values per input.
        hidden_sizes: encoder widths; the last is the code size.
        activation: ``'sigmoid'`` (needed for the sparse penalty: codes in (0, 1)),
            ``'relu'`` or ``'tanh'``.
    """

    def __init__(self, in_features=784, hidden_sizes=(256,), activation="sigmoid"):
        super().__init__()
        hidden = tuple(int(h) for h in hidden_sizes)
        if activation not in _ACTS:
            raise ValueError(f"Autoencoder: activation must be one of {sorted(_ACTS)}, "
                             f"got {activation!r}")
        if int(in_features) < 1 or not hidden or min(hidden) < 1:
            raise ValueError(f"Autoencoder: in_features and hidden_sizes must be positive, "
                             f"got {in_features} and {hidden_sizes}")
        self.in_features, self.hidden_sizes, self.activation = int(in_features), hidden, activation
        act = _ACTS[activation]
        sizes = (self.in_features,) + hidden
        enc, dec = [], []
        for a, b in zip(sizes[:-1], sizes[1:]):
            enc += [nn.Linear(a, b), act()]
        rev = sizes[::-1]
        for i, (a, b) in enumerate(zip(rev[:-1], rev[1:])):
            dec += [nn.Linear(a, b)] + ([act()] if i < len(rev) - 2 else [])
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)

    def encode(self, x):
        if x.ndim < 2 or math.prod(x.shape[1:]) != self.in_features:
            raise ValueError(f"Autoencoder: expected inputs with {self.in_features} values "
                             f"per sample, got shape {tuple(x.shape)}")
        return self.encoder(x.reshape(x.shape[0], -1))

    def forward(self, x):
        return self.decoder(self.encode(x)).reshape(x.shape)

    def filters(self):
        """The first layer's weights, ``(hidden, in_features)``: one filter per unit."""
        return self.encoder[0].weight


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder for ``(C, 28, 28)`` images: two stride-2 3x3
    convolutions down to ``(code_channels, 7, 7)``, two transposed convolutions back."""

    def __init__(self, input_shape=(1, 28, 28), channels=(16, 32)):
        super().__init__()
        c, h, w = (int(s) for s in input_shape)
        if h % 4 or w % 4:
            raise ValueError(f"ConvAutoencoder: height and width must be multiples of 4, "
                             f"got input_shape {tuple(input_shape)}")
        c1, c2 = (int(v) for v in channels)
        self.input_shape = (c, h, w)
        self.encoder = nn.Sequential(nn.Conv2d(c, c1, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c1, c, 3, stride=2, padding=1, output_padding=1))

    def encode(self, x):
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"ConvAutoencoder: expected (N, {', '.join(map(str, self.input_shape))}) "
                             f"input, got shape {tuple(x.shape)}")
        return self.encoder(x)

    def forward(self, x):
        return self.decoder(self.encode(x))


@register_model("autoencoder", task="generative",
                description="MLP autoencoder (plain, denoising or sparse)")
def autoencoder(in_features=784, hidden_sizes=(256,), activation="sigmoid"):
    return Autoencoder(in_features, hidden_sizes, activation)


@register_model("conv_autoencoder", task="generative", description="convolutional autoencoder")
def conv_autoencoder(input_shape=(1, 28, 28), channels=(16, 32)):
    return ConvAutoencoder(input_shape, channels)
