"""GoogLeNet (Szegedy et al. 2015, "Going deeper with convolutions", CVPR), as d2l
(ch. 8.4) writes it: a stem, nine Inception blocks in three stages separated by 3x3/2
max-pools, global average pooling and one linear layer (no auxiliary classifiers).

An Inception block runs four paths side by side and concatenates them on the channel
axis: 1x1; 1x1 -> 3x3; 1x1 -> 5x5; 3x3 max-pool -> 1x1.

Original configuration (>= 64x64 images): 7x7/2 stem conv and max-pool.  CPU size
(smaller images, e.g. 28x28): a 3x3/1 stem without the first pool, and every channel
count divided by ``width_divisor`` (default 4), instead of d2l's resize to 96x96.
"""
from chainrule import nn
from chainrule.functional import cat
from chainrule.models._common import check_input_shape
from chainrule.models.registry import register_model

__all__ = ["Inception", "GoogLeNet", "googlenet"]

# (c1, (c2a, c2b), (c3a, c3b), c4) of the nine blocks (Szegedy et al., table 1)
_B3 = [(64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64)]
_B4 = [(192, (96, 208), (16, 48), 64), (160, (112, 224), (24, 64), 64),
       (128, (128, 256), (24, 64), 64), (112, (144, 288), (32, 64), 64),
       (256, (160, 320), (32, 128), 128)]
_B5 = [(256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128)]


class Inception(nn.Module):
    """Four parallel paths concatenated on channels; output ``c1 + c2[1] + c3[1] + c4``."""

    def __init__(self, in_channels, c1, c2, c3, c4):
        super().__init__()
        self.p1_1 = nn.Conv2d(in_channels, c1, 1)
        self.p2_1 = nn.Conv2d(in_channels, c2[0], 1)
        self.p2_2 = nn.Conv2d(c2[0], c2[1], 3, padding=1)
        self.p3_1 = nn.Conv2d(in_channels, c3[0], 1)
        self.p3_2 = nn.Conv2d(c3[0], c3[1], 5, padding=2)
        self.p4_1 = nn.MaxPool2d(3, stride=1, padding=1)
        self.p4_2 = nn.Conv2d(in_channels, c4, 1)
        self.relu = nn.ReLU()
        self.out_channels = c1 + c2[1] + c3[1] + c4

    def forward(self, x):
        r = self.relu
        p1 = r(self.p1_1(x))
        p2 = r(self.p2_2(r(self.p2_1(x))))
        p3 = r(self.p3_2(r(self.p3_1(x))))
        p4 = r(self.p4_2(self.p4_1(x)))
        return cat([p1, p2, p3, p4], dim=1)


class GoogLeNet(nn.Module):
    """GoogLeNet: stem ``b1``, ``b2`` (1x1 and 3x3 convs), Inception stages ``b3``-``b5``,
    then ``fc``.

    >>> import chainrule as cr
    >>> GoogLeNet((1, 28, 28), 10)(cr.zeros(2, 1, 28, 28)).shape
    chainrule.Size([2, 10])
    """

    def __init__(self, input_shape=(3, 224, 224), num_classes=1000, width_divisor=None):
        super().__init__()
        c, h, w = check_input_shape("GoogLeNet", input_shape)
        large = min(h, w) >= 64
        d = int(width_divisor or (1 if large else 4))
        self.input_shape, self.num_classes = (c, h, w), int(num_classes)
        k = lambda n: max(1, n // d)  # noqa: E731
        pool = lambda: nn.MaxPool2d(3, stride=2, padding=1)  # noqa: E731
        if large:
            self.b1 = nn.Sequential(nn.Conv2d(c, k(64), 7, stride=2, padding=3), nn.ReLU(),
                                    pool())
        else:
            self.b1 = nn.Sequential(nn.Conv2d(c, k(64), 3, padding=1), nn.ReLU())
        self.b2 = nn.Sequential(nn.Conv2d(k(64), k(64), 1), nn.ReLU(),
                                nn.Conv2d(k(64), k(192), 3, padding=1), nn.ReLU(), pool())
        cin = k(192)
        stages = []
        for cfg in (_B3, _B4, _B5):
            blocks = []
            for c1, c2, c3, c4 in cfg:
                blk = Inception(cin, k(c1), (k(c2[0]), k(c2[1])), (k(c3[0]), k(c3[1])), k(c4))
                blocks.append(blk)
                cin = blk.out_channels
            stages.append(blocks)
        self.b3 = nn.Sequential(*stages[0], pool())
        self.b4 = nn.Sequential(*stages[1], pool())
        self.b5 = nn.Sequential(*stages[2], nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
        self.fc = nn.Linear(cin, self.num_classes)
        self.reset_parameters()

    def reset_parameters(self):
        """He init with ``mode='fan_in'`` for the convolutions (each keeps the second
        moment of its input, so the concatenated Inception outputs stay at scale: the
        last stage's activations have std ~0.5 on normalized 28x28 inputs) and Xavier
        for the classifier.  Without batch norm the init decides whether it trains:
        Xavier shrinks the signal ~20x by the last stage (std 0.009) and the net had
        not started to learn after an epoch; He fan-out grows it ~80x and diverges."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        return self.fc(self.b5(self.b4(self.b3(self.b2(self.b1(x))))))


@register_model("googlenet")
def googlenet(input_shape=(3, 224, 224), num_classes=1000, width_divisor=None):
    """GoogLeNet (Szegedy et al. 2015) with Inception blocks; CPU-sized below 64 pixels."""
    return GoogLeNet(input_shape, num_classes, width_divisor)
