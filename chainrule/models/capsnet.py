"""Capsule network (Sabour, Frosst & Hinton 2017, "Dynamic routing between capsules",
NeurIPS) for 28x28 images.

``Conv1`` (256 9x9, ReLU) -> ``PrimaryCaps`` (a 9x9 stride-2 convolution giving 32 maps
of 8-D capsules, 6x6 each: 1152 capsules, squashed) -> ``DigitCaps`` (one 16x8 matrix per
(primary, digit) pair gives the predictions ``u_hat``; 3 iterations of routing by
agreement give 10 capsules of 16-D) -> lengths as class scores.  The loss is the margin
loss plus 0.0005 x the summed squared error of a reconstruction decoder (16*10 -> 512 ->
1024 -> 784, sigmoid) fed the true class's capsule (the others masked to 0; at test time
the longest capsule's).  The pieces are :func:`~chainrule.functional.generative.squash`,
:func:`~chainrule.functional.generative.routing_by_agreement` and
:func:`~chainrule.functional.generative.margin_loss`.  Widths are arguments so small
versions fit tests and 2 CPU cores.
"""
from chainrule import functional as F
from chainrule import nn
from chainrule.core import creation as C
from chainrule.functional.generative import margin_loss, routing_by_agreement, squash
from chainrule.models.registry import register_model
from chainrule.nn import functional as NF

__all__ = ["CapsNet", "capsnet"]


class CapsNet(nn.Module):
    """Args: ``input_shape`` ``(C, H, W)``; ``num_classes``; ``conv_channels`` (256);
    ``primary_maps`` (32) and ``primary_dim`` (8); ``digit_dim`` (16); ``routing_iters``
    (3); ``decoder_sizes`` ((512, 1024)); ``recon_weight`` (0.0005).

    ``forward(x, target=None)`` returns ``(lengths (N, classes), digit capsules
    (N, classes, digit_dim), reconstruction (N, C*H*W))``."""

    def __init__(self, input_shape=(1, 28, 28), num_classes=10, conv_channels=256,
                 primary_maps=32, primary_dim=8, digit_dim=16, routing_iters=3,
                 decoder_sizes=(512, 1024), recon_weight=0.0005):
        super().__init__()
        c, h, w = (int(s) for s in input_shape)
        if h < 20 or w < 20:
            raise ValueError(f"CapsNet: images must be at least 20x20, got input_shape "
                             f"{tuple(input_shape)}")
        self.input_shape, self.num_classes = (c, h, w), int(num_classes)
        self.primary_maps, self.primary_dim = int(primary_maps), int(primary_dim)
        self.digit_dim, self.routing_iters = int(digit_dim), int(routing_iters)
        self.recon_weight = float(recon_weight)
        self.conv1 = nn.Conv2d(c, int(conv_channels), 9)
        self.primary = nn.Conv2d(int(conv_channels), self.primary_maps * self.primary_dim, 9,
                                 stride=2)
        ph, pw = (h - 8 - 9) // 2 + 1, (w - 8 - 9) // 2 + 1
        self.num_primary = self.primary_maps * ph * pw
        self.W = nn.Parameter(C.randn(self.num_primary, self.num_classes, self.digit_dim,
                                      self.primary_dim) * 0.01)
        sizes = (self.num_classes * self.digit_dim,) + tuple(int(s) for s in decoder_sizes)
        dec = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            dec += [nn.Linear(a, b), nn.ReLU()]
        self.decoder = nn.Sequential(*dec, nn.Linear(sizes[-1], c * h * w), nn.Sigmoid())

    def primary_capsules(self, x):
        """``(N, num_primary, primary_dim)`` squashed primary capsules."""
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"CapsNet: expected images (N, {', '.join(map(str, self.input_shape))}),"
                             f" got {tuple(x.shape)}")
        p = self.primary(F.relu(self.conv1(x)))                 # (N, maps*dim, ph, pw)
        n, _, ph, pw = p.shape
        p = p.reshape(n, self.primary_maps, self.primary_dim, ph * pw)
        p = p.permute(0, 1, 3, 2).reshape(n, self.num_primary, self.primary_dim)
        return squash(p, dim=-1)

    def digit_capsules(self, u):
        # u_hat[n, i, j] = W[i, j] @ u[n, i]: (in, out, 16, 8) @ (N, in, 1, 8, 1)
        u_hat = F.matmul(self.W, u.unsqueeze(2).unsqueeze(-1)).squeeze(-1)
        return routing_by_agreement(u_hat, self.routing_iters)

    def forward(self, x, target=None):
        v = self.digit_capsules(self.primary_capsules(x))          # (N, classes, 16)
        lengths = F.sqrt((v * v).sum(-1) + 1e-9)
        idx = target if target is not None else lengths.argmax(1)
        mask = NF.one_hot(idx, self.num_classes).to(v.dtype).unsqueeze(-1)
        recon = self.decoder((v * mask).reshape(v.shape[0], -1))
        return lengths, v, recon

    def loss(self, x, target):
        """Margin loss + ``recon_weight`` x summed squared reconstruction error (batch
        mean); returns ``(loss, lengths)``."""
        lengths, _, recon = self(x, target)
        t = NF.one_hot(target, self.num_classes).to(lengths.dtype)
        rec = ((recon - x.reshape(x.shape[0], -1)) ** 2).sum(1).mean()
        return margin_loss(lengths, t) + self.recon_weight * rec, lengths


@register_model("capsnet", task="generative",
                description="capsule network (Sabour et al. 2017) with routing by agreement")
def capsnet(input_shape=(1, 28, 28), num_classes=10, conv_channels=256, primary_maps=32,
            primary_dim=8, digit_dim=16, routing_iters=3, decoder_sizes=(512, 1024),
            recon_weight=0.0005):
    return CapsNet(input_shape, num_classes, conv_channels, primary_maps, primary_dim,
                   digit_dim, routing_iters, decoder_sizes, recon_weight)
