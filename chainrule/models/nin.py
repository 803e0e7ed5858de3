"""Network in Network (Lin, Chen & Yan 2014, "Network in network", ICLR), as d2l
(ch. 8.3) writes it: NiN blocks (a convolution followed by two 1x1 convolutions, each
with ReLU), max-pools between them, and no fully connected layer: the last block has one
channel per class and global average pooling gives the logits.

Original configuration (>= 64x64 images): blocks (96, 11x11/4), (256, 5x5), (384, 3x3),
(classes, 3x3) with 3x3/2 max-pools.  CPU size (smaller images): the first block uses a
3x3/1 convolution, channels are divided by ``width_divisor`` (default 4: 24, 64, 96) and
a pool is skipped when the map is smaller than its window.
"""
from chainrule import nn
from chainrule.models._common import check_input_shape, init_cnn
from chainrule.models.registry import register_model

__all__ = ["NiN", "nin_block", "nin"]


def nin_block(in_channels, out_channels, kernel_size, stride, padding):
    """``conv(k, s, p) -> ReLU -> conv1x1 -> ReLU -> conv1x1 -> ReLU``."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding),
        nn.ReLU(), nn.Conv2d(out_channels, out_channels, 1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 1), nn.ReLU())


class NiN(nn.Module):
    """NiN: four NiN blocks, the last with ``num_classes`` channels, then global
    average pooling.

    >>> import chainrule as cr
    >>> NiN((1, 28, 28), 10)(cr.zeros(2, 1, 28, 28)).shape
    chainrule.Size([2, 10])
    """

    def __init__(self, input_shape=(3, 224, 224), num_classes=1000, width_divisor=None,
                 dropout=0.5):
        super().__init__()
        c, h, w = check_input_shape("NiN", input_shape)
        large = min(h, w) >= 64
        d = int(width_divisor or (1 if large else 4))
        ch = [max(1, n // d) for n in (96, 256, 384)]
        self.input_shape, self.num_classes = (c, h, w), int(num_classes)
        size = min(h, w)
        if large:
            first, size = nin_block(c, ch[0], 11, 4, 0), (size - 11) // 4 + 1
        else:
            first = nin_block(c, ch[0], 3, 1, 1)
        pools = []
        for _ in range(3):
            if size >= 3:
                pools.append(nn.MaxPool2d(3, 2))
                size = (size - 3) // 2 + 1
            else:
                pools.append(nn.Identity())
        self.net = nn.Sequential(
            first, pools[0], nin_block(ch[0], ch[1], 5, 1, 2), pools[1],
            nin_block(ch[1], ch[2], 3, 1, 1), pools[2], nn.Dropout(dropout),
            nin_block(ch[2], self.num_classes, 3, 1, 1),
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
        init_cnn(self)

    def forward(self, x):
        return self.net(x)


@register_model("nin")
def nin(input_shape=(3, 224, 224), num_classes=1000, width_divisor=None, dropout=0.5):
    """Network in Network (Lin et al. 2014): 1x1 convolutions, global average pooling."""
    return NiN(input_shape, num_classes, width_divisor, dropout)
