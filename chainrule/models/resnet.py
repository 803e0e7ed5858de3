"""Residual networks (He, Zhang, Ren & Sun 2016, "Deep residual learning for image
recognition", CVPR): ResNet-18/34 with basic blocks, ResNet-50 with bottleneck blocks,
and a small CPU-sized ResNet.

Parameter names follow torchvision's ``resnet18`` (``conv1``, ``bn1``,
``layer1.0.conv1``, ``layer2.0.downsample.0``, ``fc``...), so state dicts line up.

Input size: the ImageNet stem (7x7 stride-2 convolution + 3x3 stride-2 max-pool) is used
for images of 64x64 and larger; smaller images (28x28, 32x32, 8x8) get the CIFAR stem of
He et al. sec. 4.2 (one 3x3 stride-1 convolution, no pooling), so a 28x28 image is not
reduced to 7x7 before the first block.  d2l instead resizes Fashion-MNIST to 96x96 and
keeps a 7x7 stem; at CPU size we adapt the architecture to the image.
"""
from chainrule import nn
from chainrule.models._common import check_input_shape
from chainrule.models.registry import register_model

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50",
           "resnet_small"]


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BN, plus the identity (or a 1x1 projection when the
    shape changes): ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(inplanes, planes, stride), nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2, self.bn2 = conv3x3(planes, planes), nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        idt = x if self.downsample is None else self.downsample(x)
        return self.relu(out + idt)


class Bottleneck(nn.Module):
    """1x1 (reduce) -> 3x3 -> 1x1 (expand x4) with BN, plus the shortcut (ResNet-50+).
    The stride sits on the 3x3 convolution, as in torchvision ("ResNet v1.5")."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1, self.bn1 = conv1x1(inplanes, planes), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv3x3(planes, planes, stride), nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        idt = x if self.downsample is None else self.downsample(x)
        return self.relu(out + idt)


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    """A ResNet: stem, then stages ``layer1..layerK`` of residual blocks (the first
    block of each stage after the first halves the resolution and doubles the width),
    global average pooling and a linear classifier ``fc``.

    Args:
        input_shape: ``(C, H, W)`` of one image.
        num_classes: number of classes.
        block: ``'basic'`` or ``'bottleneck'``.
        layers: blocks per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
        width: channels of the first stage (64 in the paper).
        stem: ``'imagenet'`` (7x7/2 conv + max-pool), ``'cifar'`` (3x3/1 conv) or
            ``'auto'`` (imagenet for images >= 64 pixels a side).

    Shape: input ``(N, C, H, W)``, output ``(N, num_classes)``.

    >>> import chainrule as cr
    >>> ResNet((1, 28, 28), 10, layers=(1, 1), width=8)(cr.zeros(2, 1, 28, 28)).shape
    chainrule.Size([2, 10])
    """

    def __init__(self, input_shape=(3, 224, 224), num_classes=1000, block="basic",
                 layers=(2, 2, 2, 2), width=64, stem="auto"):
        super().__init__()
        c, h, w = check_input_shape("ResNet", input_shape)
        if block not in BLOCKS:
            raise ValueError(f"ResNet: block must be one of {tuple(BLOCKS)}, got {block!r}")
        if stem not in ("auto", "imagenet", "cifar"):
            raise ValueError(f"ResNet: stem must be 'auto', 'imagenet' or 'cifar', got {stem!r}")
        if not layers or any(int(n) < 1 for n in layers) or int(width) < 1:
            raise ValueError(f"ResNet: layers must be positive block counts and width >= 1, "
                             f"got layers={tuple(layers)}, width={width}")
        self.input_shape, self.num_classes = (c, h, w), int(num_classes)
        self.block, self.layers, self.width = block, tuple(int(n) for n in layers), int(width)
        self.stem = ("imagenet" if min(h, w) >= 64 else "cifar") if stem == "auto" else stem
        cls, self.inplanes = BLOCKS[block], self.width
        if self.stem == "imagenet":
            self.conv1 = nn.Conv2d(c, self.width, 7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = nn.Conv2d(c, self.width, 3, stride=1, padding=1, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(self.width), nn.ReLU()
        self.maxpool = (nn.MaxPool2d(3, stride=2, padding=1) if self.stem == "imagenet"
                        else nn.Identity())
        for i, n in enumerate(self.layers):
            stage = self._make_layer(cls, self.width * 2 ** i, n, 1 if i == 0 else 2)
            setattr(self, f"layer{i + 1}", stage)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(self.inplanes, self.num_classes)
        self.reset_parameters()

    def _make_layer(self, cls, planes, blocks, stride):
        down = None
        if stride != 1 or self.inplanes != planes * cls.expansion:
            down = nn.Sequential(conv1x1(self.inplanes, planes * cls.expansion, stride),
                                 nn.BatchNorm2d(planes * cls.expansion))
        mods = [cls(self.inplanes, planes, stride, down)]
        self.inplanes = planes * cls.expansion
        mods += [cls(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*mods)

    def reset_parameters(self):
        """He init for convolutions, BN at (1, 0); the Linear keeps torch's default."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(len(self.layers)):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(self.flatten(self.avgpool(x)))


@register_model("resnet18")
def resnet18(input_shape=(3, 224, 224), num_classes=1000, width=64, stem="auto"):
    """ResNet-18 (He et al. 2016): basic blocks (2, 2, 2, 2)."""
    return ResNet(input_shape, num_classes, "basic", (2, 2, 2, 2), width, stem)


@register_model("resnet34")
def resnet34(input_shape=(3, 224, 224), num_classes=1000, width=64, stem="auto"):
    """ResNet-34 (He et al. 2016): basic blocks (3, 4, 6, 3)."""
    return ResNet(input_shape, num_classes, "basic", (3, 4, 6, 3), width, stem)


@register_model("resnet50")
def resnet50(input_shape=(3, 224, 224), num_classes=1000, width=64, stem="auto"):
    """ResNet-50 (He et al. 2016): bottleneck blocks (3, 4, 6, 3)."""
    return ResNet(input_shape, num_classes, "bottleneck", (3, 4, 6, 3), width, stem)


@register_model("resnet_small")
def resnet_small(input_shape=(1, 28, 28), num_classes=10, layers=(1, 1, 1), width=16,
                 stem="auto"):
    """A CPU-sized ResNet (He et al. 2016): 3 stages of basic blocks, 16-32-64 channels."""
    return ResNet(input_shape, num_classes, "basic", layers, width, stem)
