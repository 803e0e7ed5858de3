"""DenseNet (Huang, Liu, van der Maaten & Weinberger 2017, "Densely connected
convolutional networks", CVPR), as d2l (ch. 8.7) writes it.

A dense block is a chain of ``BN -> ReLU -> 3x3 conv`` units, each adding
``growth_rate`` channels that are concatenated to its input, so every unit sees all
earlier feature maps.  Transition layers (``BN -> ReLU -> 1x1 conv -> 2x2/2 avg-pool``)
halve the channels and the resolution between blocks.

Original (d2l) configuration (>= 64x64 images): 7x7/2 stem with 64 channels and a
3x3/2 max-pool, four blocks of four units, growth rate 32.  CPU size (smaller images):
a 3x3/1 stem conv (the max-pool kept), 24 stem channels and growth rate 12 by default.
"""
from chainrule import nn
from chainrule.functional import cat
from chainrule.models._common import check_input_shape, init_cnn
from chainrule.models.registry import register_model

__all__ = ["DenseBlock", "transition_block", "DenseNet", "densenet"]


def _conv_block(in_channels, out_channels):
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, out_channels, 3, padding=1))


class DenseBlock(nn.Module):
    """``num_convs`` units; output channels ``in_channels + num_convs * growth_rate``."""

    def __init__(self, num_convs, in_channels, growth_rate):
        super().__init__()
        self.net = nn.Sequential(*[_conv_block(in_channels + i * growth_rate, growth_rate)
                                   for i in range(num_convs)])
        self.out_channels = in_channels + num_convs * growth_rate

    def forward(self, x):
        for blk in self.net:
            x = cat([x, blk(x)], dim=1)
        return x


def transition_block(in_channels, out_channels, pool=True):
    """``BN -> ReLU -> 1x1 conv -> 2x2/2 avg-pool`` (no pool for a 1-pixel map)."""
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(),
                         nn.Conv2d(in_channels, out_channels, 1),
                         nn.AvgPool2d(2, 2) if pool else nn.Identity())


class DenseNet(nn.Module):
    """DenseNet: stem, dense blocks with transitions, ``BN -> ReLU -> global avg-pool ->
    Linear``.

    Args:
        input_shape: ``(C, H, W)`` of one image.
        num_classes: number of classes.
        num_convs: units per dense block.
        growth_rate: channels each unit adds (``None``: 32 / 12 at CPU size).
        init_channels: stem channels (``None``: 64 / 24 at CPU size).

    >>> import chainrule as cr
    >>> DenseNet((1, 28, 28), 10)(cr.zeros(2, 1, 28, 28)).shape
    chainrule.Size([2, 10])
    """

    def __init__(self, input_shape=(3, 224, 224), num_classes=1000, num_convs=(4, 4, 4, 4),
                 growth_rate=None, init_channels=None):
        super().__init__()
        c, h, w = check_input_shape("DenseNet", input_shape)
        large = min(h, w) >= 64
        g = int(growth_rate or (32 if large else 12))
        ch = int(init_channels or (64 if large else 24))
        self.input_shape, self.num_classes = (c, h, w), int(num_classes)
        stem = (nn.Conv2d(c, ch, 7, stride=2, padding=3) if large
                else nn.Conv2d(c, ch, 3, padding=1))
        layers = [stem, nn.BatchNorm2d(ch), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1)]
        size = (min(h, w) + 1) // (4 if large else 2)
        for i, n in enumerate(num_convs):
            blk = DenseBlock(int(n), ch, g)
            layers.append(blk)
            ch = blk.out_channels
            if i != len(num_convs) - 1:
                layers.append(transition_block(ch, ch // 2, pool=size >= 2))
                ch //= 2
                size //= 2 if size >= 2 else 1
        layers += [nn.BatchNorm2d(ch), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(ch, self.num_classes)
        init_cnn(self)

    def forward(self, x):
        return self.fc(self.features(x))


@register_model("densenet")
def densenet(input_shape=(3, 224, 224), num_classes=1000, num_convs=(4, 4, 4, 4),
             growth_rate=None, init_channels=None):
    """DenseNet (Huang et al. 2017): dense blocks and transition layers (d2l 8.7)."""
    return DenseNet(input_shape, num_classes, num_convs, growth_rate, init_channels)
