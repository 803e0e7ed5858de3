"""Generative adversarial networks (Goodfellow et al. 2014).

* :func:`gan2d_generator` / :func:`gan2d_discriminator` -- d2l's GAN (ch. 20.1) that
  learns a 2-D Gaussian: a linear generator and a small tanh MLP discriminator.
* :class:`DCGANGenerator` / :class:`DCGANDiscriminator` -- DCGAN (Radford, Metz &
  Chintala 2016) sized for 28x28 images: the generator projects ``z`` to
  ``(4 * width, 7, 7)`` and upsamples with two stride-2 transposed convolutions (BN and
  ReLU between, tanh out); the discriminator mirrors it with stride-2 convolutions,
  BN and LeakyReLU(0.2), no pooling.  Weights start ``N(0, 0.02)`` (BN scales
  ``N(1, 0.02)``) as in the paper.  Images are in [-1, 1].
"""
from chainrule import nn
from chainrule.core.grad_mode import no_grad
from chainrule.models.registry import register_model

__all__ = ["gan2d_generator", "gan2d_discriminator", "DCGANGenerator", "DCGANDiscriminator",
           "DCGAN", "dcgan_init"]


def gan2d_generator(latent_dim=2, out_dim=2):
    """d2l's generator: one linear layer (it can only learn an affine map of ``z``)."""
    return nn.Sequential(nn.Linear(int(latent_dim), int(out_dim)))


def gan2d_discriminator(in_dim=2):
    """d2l's discriminator: ``in -> 5 -> 3 -> 1`` with tanh, one logit out."""
    return nn.Sequential(nn.Linear(int(in_dim), 5), nn.Tanh(), nn.Linear(5, 3), nn.Tanh(),
                         nn.Linear(3, 1))


def dcgan_init(module):
    """DCGAN's init: conv and linear weights ``N(0, 0.02)``, BN ``N(1, 0.02)``, biases 0."""
    with no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                m.weight.normal_(0.0, 0.02)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.normal_(1.0, 0.02)
                m.bias.zero_()
    return module


def _check_size(name, image_size):
    if int(image_size) % 4:
        raise ValueError(f"{name}: image_size must be a multiple of 4, got {image_size}")
    return int(image_size) // 4


class DCGANGenerator(nn.Module):
    """``z (N, latent_dim)`` -> images ``(N, channels, image_size, image_size)`` in [-1, 1].

    ``hidden`` > 0 puts a fully connected layer of that width (BN, ReLU) before the
    projection to ``4 width x image_size/4 x image_size/4``: InfoGAN's MNIST generator
    (Chen et al. 2016, 1024 units), DCGAN's convolutions after it."""

    def __init__(self, latent_dim=100, channels=1, width=32, image_size=28, hidden=0):
        super().__init__()
        s = _check_size("DCGANGenerator", image_size)
        w, h = int(width), int(hidden)
        self.latent_dim = int(latent_dim)
        head = ([nn.Linear(self.latent_dim, h, bias=False), nn.BatchNorm1d(h), nn.ReLU()]
                if h > 0 else [])
        self.net = nn.Sequential(
            *head,
            nn.Linear(h or self.latent_dim, 4 * w * s * s, bias=False),
            nn.BatchNorm1d(4 * w * s * s), nn.ReLU(), nn.Unflatten(1, (4 * w, s, s)),
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * w, int(channels), 4, 2, 1), nn.Tanh())
        dcgan_init(self)

    def forward(self, z):
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"DCGANGenerator: expected z of shape (N, {self.latent_dim}), got "
                             f"{tuple(z.shape)}")
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """Images ``(N, channels, image_size, image_size)`` -> one logit per image.

    ``hidden`` > 0 puts a fully connected layer of that width (BN, LeakyReLU) before
    the logit, as InfoGAN's MNIST discriminator."""

    def __init__(self, channels=1, width=32, image_size=28, hidden=0):
        super().__init__()
        s = _check_size("DCGANDiscriminator", image_size)
        w, h = int(width), int(hidden)
        self.input_shape = (int(channels), int(image_size), int(image_size))
        tail = ([nn.Linear(4 * w * s * s, h, bias=False), nn.BatchNorm1d(h), nn.LeakyReLU(0.2),
                 nn.Linear(h, 1)] if h > 0 else [nn.Linear(4 * w * s * s, 1)])
        self.net = nn.Sequential(
            nn.Conv2d(int(channels), 2 * w, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * w),
            nn.LeakyReLU(0.2), nn.Flatten(), *tail)
        dcgan_init(self)

    def forward(self, x):
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"DCGANDiscriminator: expected images (N, "
                             f"{', '.join(map(str, self.input_shape))}), got {tuple(x.shape)}")
        return self.net(x).reshape(-1)


class DCGAN(nn.Module):
    """The generator and discriminator in one module (one checkpoint);
    :meth:`sample` gives images in [0, 1]."""

    def __init__(self, latent_dim=100, channels=1, width=32, image_size=28, hidden=0):
        super().__init__()
        self.generator = DCGANGenerator(latent_dim, channels, width, image_size, hidden)
        self.discriminator = DCGANDiscriminator(channels, width, image_size, hidden)
        self.latent_dim = int(latent_dim)

    def forward(self, z):
        return self.generator(z)

    def sample(self, n, z=None):
        from chainrule.core.creation import randn
        z = randn(int(n), self.latent_dim) if z is None else z
        return (self.generator(z) + 1.0) * 0.5


@register_model("dcgan", task="generative",
                description="DCGAN (Radford et al. 2016) for 28x28 images")
def dcgan(latent_dim=100, channels=1, width=32, image_size=28, hidden=0):
    return DCGAN(latent_dim, channels, width, image_size, hidden)
