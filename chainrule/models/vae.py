"""The variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational
Bayes", ICLR): an MLP encoder gives ``q(z|x) = N(mu, diag(exp(logvar)))``, a sample
``z = mu + exp(logvar / 2) * eps`` (the reparameterisation trick) is decoded into
``p(x|z)``: Bernoulli (logits, for binarized images) or Gaussian (a mean in [0, 1] and
one learned log-variance per pixel, for real-valued images).  The loss is the negative
ELBO in nats, ``-E_q[log p(x|z)] + KL(q(z|x) || N(0, I))`` with the KL in closed form
(:func:`chainrule.functional.generative.gaussian_kl`), one sample of ``z`` per input.
"""
import math

from chainrule import functional as F
from chainrule.core import creation as C
from chainrule.nn import functional as NF
from chainrule import nn
from chainrule.functional.generative import gaussian_kl
from chainrule.models.registry import register_model

__all__ = ["VAE", "vae"]


def _mlp(sizes, act):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), act()]
    return layers


class VAE(nn.Module):
    """MLP VAE.

    Args:
        in_features: pixels per image (784 for MNIST).
        hidden_sizes: widths of the encoder's hidden layers (the decoder mirrors them).
        latent_dim: size of ``z``.
        decoder: ``'bernoulli'`` or ``'gaussian'``.

    ``forward(x)`` returns ``(out, mu, logvar)``: ``out`` the Bernoulli logits or the
    Gaussian means, ``(N, in_features)``.  :meth:`loss` gives the per-sample negative
    ELBO (nats).
    """

    def __init__(self, in_features=784, hidden_sizes=(500, 500), latent_dim=20,
                 decoder="bernoulli"):
        super().__init__()
        if decoder not in ("bernoulli", "gaussian"):
            raise ValueError(f"VAE: decoder must be 'bernoulli' or 'gaussian', got {decoder!r}")
        hidden = tuple(int(h) for h in hidden_sizes)
        if int(in_features) < 1 or int(latent_dim) < 1 or not hidden or min(hidden) < 1:
            raise ValueError(f"VAE: in_features, latent_dim and hidden_sizes must be "
                             f"positive, got {in_features}, {latent_dim}, {hidden_sizes}")
        self.in_features, self.latent_dim, self.decoder_kind = int(in_features), int(latent_dim), decoder
        self.hidden_sizes = hidden
        self.encoder = nn.Sequential(nn.Flatten(), *_mlp((self.in_features,) + hidden, nn.Softplus))
        self.fc_mu = nn.Linear(hidden[-1], self.latent_dim)
        self.fc_logvar = nn.Linear(hidden[-1], self.latent_dim)
        rev = hidden[::-1]
        self.decoder = nn.Sequential(*_mlp((self.latent_dim,) + rev, nn.Softplus),
                                     nn.Linear(rev[-1], self.in_features))
        if decoder == "gaussian":
            self.log_sigma2 = nn.Parameter(C.zeros(self.in_features))

    def encode(self, x):
        """``(mu, logvar)`` of ``q(z|x)``."""
        if x.ndim < 2 or math.prod(x.shape[1:]) != self.in_features:
            raise ValueError(f"VAE: expected inputs with {self.in_features} values per "
                             f"sample, got shape {tuple(x.shape)}")
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_logvar(h)

    @staticmethod
    def reparameterize(mu, logvar):
        return mu + F.exp(0.5 * logvar) * C.randn_like(mu)

    def decode(self, z):
        """Bernoulli logits, or Gaussian means in [0, 1]."""
        out = self.decoder(z)
        return out if self.decoder_kind == "bernoulli" else F.sigmoid(out)

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    def reconstruction_nll(self, out, x):
        """``-log p(x|z)`` per sample (nats)."""
        x = x.reshape(x.shape[0], -1)
        if self.decoder_kind == "bernoulli":
            return NF.binary_cross_entropy_with_logits(
                out, x, reduction="none").sum(1)
        ls = self.log_sigma2
        return 0.5 * ((x - out) ** 2 / F.exp(ls) + ls + math.log(2 * math.pi)).sum(1)

    def loss(self, x, reduction="mean"):
        """The negative ELBO (nats) of ``x`` with one sample of ``z``."""
        out, mu, logvar = self(x)
        nelbo = self.reconstruction_nll(out, x) + gaussian_kl(mu, logvar)
        return nelbo.mean() if reduction == "mean" else nelbo

    def sample(self, n):
        """``n`` images (pixel means in [0, 1]) decoded from ``z ~ N(0, I)``."""
        z = C.randn(int(n), self.latent_dim)
        out = self.decode(z)
        return F.sigmoid(out) if self.decoder_kind == "bernoulli" else out


@register_model("vae", task="generative", description="MLP variational autoencoder "
                "(Kingma & Welling 2014), latent 20")
def vae(in_features=784, hidden_sizes=(500, 500), latent_dim=20, decoder="bernoulli"):
    return VAE(in_features, hidden_sizes, latent_dim, decoder)
