"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet classification with deep
convolutional neural networks", NeurIPS), as d2l (ch. 8.1) writes it.

Original configuration (images >= 64x64, e.g. 3x224x224): 11x11/4 conv (96) -> 3x3/2
max-pool -> 5x5 conv (256) -> max-pool -> three 3x3 convs (384, 384, 256) -> max-pool ->
two 4096-unit dropout layers -> classes.

CPU size (smaller images, e.g. 1x28x28 and 3x32x32): d2l resizes Fashion-MNIST to 224x224;
we adapt the network to the image instead: the first convolution becomes 3x3/1, the
first two pools 2x2/2, the channels are divided by ``width_divisor`` (default 4: 24, 64,
96, 96, 64) and the hidden layers have ``hidden`` units (default 512).  A pool is
skipped when the feature map is already smaller than its window (8x8 digits).
"""
from chainrule import nn
from chainrule.models._common import check_input_shape, flat_features, init_cnn
from chainrule.models.registry import register_model

__all__ = ["AlexNet", "alexnet"]


def _pool(size, k, s):
    """A k/s max-pool, or Identity where the map is smaller than the window."""
    return (nn.MaxPool2d(k, s), (size - k) // s + 1) if size >= k else (nn.Identity(), size)


class AlexNet(nn.Module):
    """AlexNet: five convolutions with ReLU and three max-pools, then a dropout MLP.

    Args:
        input_shape: ``(C, H, W)`` of one image.
        num_classes: number of classes.
        width_divisor: divides every convolution's channels (``None``: 1 at >= 64
            pixels, 4 below).
        hidden: units of the two hidden layers (``None``: 4096 / 512).
        dropout: drop probability of the hidden layers.

    >>> import chainrule as cr
    >>> AlexNet((1, 28, 28), 10)(cr.zeros(2, 1, 28, 28)).shape
    chainrule.Size([2, 10])
    """

    def __init__(self, input_shape=(3, 224, 224), num_classes=1000, width_divisor=None,
                 hidden=None, dropout=0.5):
        super().__init__()
        c, h, w = check_input_shape("AlexNet", input_shape)
        large = min(h, w) >= 64
        d = int(width_divisor or (1 if large else 4))
        hidden = int(hidden or (4096 if large else 512))
        self.input_shape, self.num_classes = (c, h, w), int(num_classes)
        ch = [max(1, n // d) for n in (96, 256, 384, 384, 256)]
        size = min(h, w)
        if large:
            first, size = nn.Conv2d(c, ch[0], 11, stride=4, padding=1), (size - 9) // 4 + 1
            p1, size = _pool(size, 3, 2)
            p2, size = _pool(size, 3, 2)
        else:
            first = nn.Conv2d(c, ch[0], 3, padding=1)
            p1, size = _pool(size, 2, 2)
            p2, size = _pool(size, 2, 2)
        p3, size = _pool(size, 3, 2)
        self.features = nn.Sequential(
            first, nn.ReLU(), p1,
            nn.Conv2d(ch[0], ch[1], 5, padding=2), nn.ReLU(), p2,
            nn.Conv2d(ch[1], ch[2], 3, padding=1), nn.ReLU(),
            nn.Conv2d(ch[2], ch[3], 3, padding=1), nn.ReLU(),
            nn.Conv2d(ch[3], ch[4], 3, padding=1), nn.ReLU(), p3)
        n = flat_features(self.features, (c, h, w))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(n, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, self.num_classes))
        init_cnn(self)

    def forward(self, x):
        return self.classifier(self.features(x))


@register_model("alexnet")
def alexnet(input_shape=(3, 224, 224), num_classes=1000, width_divisor=None, hidden=None,
            dropout=0.5):
    """AlexNet (Krizhevsky et al. 2012); CPU-sized below 64x64 pixels (d2l 8.1)."""
    return AlexNet(input_shape, num_classes, width_divisor, hidden, dropout)
