"""VGG (Simonyan & Zisserman 2015, "Very deep convolutional networks for large-scale
image recognition", ICLR), as d2l (ch. 8.2) writes it: blocks of 3x3 convolutions
(padding 1) with ReLU, each block ending in a 2x2/2 max-pool, then a dropout MLP.

``arch`` lists ``(num_convs, out_channels)`` per block; the default is VGG-11
``((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))``.  ``width_divisor`` divides the
channels (d2l trains with ratio 4 on the CPU-sized run).

CPU size (images below 64x64): channels divided by 4 and 512 hidden units by default;
a block's pool is skipped when the map is already 1 pixel high or wide, so 28x28 (pools
28 -> 14 -> 7 -> 3 -> 1) and 8x8 images work without resizing to 224.
"""
from chainrule import nn
from chainrule.models._common import check_input_shape, flat_features, init_cnn
from chainrule.models.registry import register_model

__all__ = ["VGG", "VGG_ARCHS", "vgg", "vgg11", "vgg16"]

VGG_ARCHS = {
    "vgg11": ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)),
    "vgg13": ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512)),
    "vgg16": ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)),
    "vgg19": ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512)),
}


class VGG(nn.Module):
    """VGG: ``len(arch)`` conv blocks, then ``Linear -> ReLU -> Dropout`` twice and the
    classifier.

    Args:
        input_shape: ``(C, H, W)`` of one image.
        num_classes: number of classes.
        arch: ``(num_convs, out_channels)`` per block, or a name in ``VGG_ARCHS``.
        width_divisor: divides every block's channels (``None``: 1 at >= 64 pixels, 4 below).
        hidden: units of the two hidden layers (``None``: 4096 / 512).
        dropout: drop probability of the hidden layers.

    >>> import chainrule as cr
    >>> VGG((1, 28, 28), 10)(cr.zeros(2, 1, 28, 28)).shape
    chainrule.Size([2, 10])
    """

    def __init__(self, input_shape=(3, 224, 224), num_classes=1000, arch="vgg11",
                 width_divisor=None, hidden=None, dropout=0.5):
        super().__init__()
        c, h, w = check_input_shape("VGG", input_shape)
        large = min(h, w) >= 64
        arch = VGG_ARCHS[arch] if isinstance(arch, str) else tuple(tuple(b) for b in arch)
        d = int(width_divisor or (1 if large else 4))
        hidden = int(hidden or (4096 if large else 512))
        self.input_shape, self.num_classes, self.arch = (c, h, w), int(num_classes), arch
        blocks, cin, size = [], c, min(h, w)
        for num_convs, out in arch:
            out = max(1, int(out) // d)
            layers = []
            for _ in range(int(num_convs)):
                layers += [nn.Conv2d(cin, out, 3, padding=1), nn.ReLU()]
                cin = out
            if size >= 2:
                layers.append(nn.MaxPool2d(2, 2))
                size //= 2
            blocks.append(nn.Sequential(*layers))
        self.features = nn.Sequential(*blocks)
        n = flat_features(self.features, (c, h, w))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(n, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, self.num_classes))
        init_cnn(self)

    def forward(self, x):
        return self.classifier(self.features(x))


@register_model("vgg")
def vgg(input_shape=(3, 224, 224), num_classes=1000, arch="vgg11", width_divisor=None,
        hidden=None, dropout=0.5):
    """VGG (Simonyan & Zisserman 2015) with configurable blocks, VGG-11 by default."""
    return VGG(input_shape, num_classes, arch, width_divisor, hidden, dropout)


@register_model("vgg11")
def vgg11(input_shape=(3, 224, 224), num_classes=1000, width_divisor=None, hidden=None):
    """VGG-11 (Simonyan & Zisserman 2015, configuration A)."""
    return VGG(input_shape, num_classes, "vgg11", width_divisor, hidden)


@register_model("vgg16")
def vgg16(input_shape=(3, 224, 224), num_classes=1000, width_divisor=None, hidden=None):
    """VGG-16 (Simonyan & Zisserman 2015, configuration D)."""
    return VGG(input_shape, num_classes, "vgg16", width_divisor, hidden)
