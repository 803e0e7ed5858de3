"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to
document recognition", Proc. IEEE 86(11)), in d2l's two forms.

* ``lenet``: the original form as d2l (ch. 6.6) writes it: ``conv5 (pad 2) -> sigmoid ->
  avgpool2 -> conv5 -> sigmoid -> avgpool2 -> 120 -> 84 -> classes`` with sigmoid
  activations and Xavier init.
* ``lenet_bn``: a modern form: ReLU, max-pooling and batch normalization after every
  convolution and hidden linear layer (Ioffe & Szegedy 2015; d2l ch. 8.5 adds BN to LeNet),
  He init.

Sizes: the first convolution pads by 2 so a 28x28 image keeps its size (LeNet was drawn
for 32x32 inputs); the classifier's input width follows the input shape (400 for
1x28x28, 576 for 3x32x32).  For images smaller than 16x16 (the 8x8 digits) the second
convolution pads by 2 too, so the feature map does not vanish.
"""
from chainrule import nn
from chainrule.models._common import check_input_shape, flat_features, init_cnn
from chainrule.models.registry import register_model

__all__ = ["LeNet", "lenet", "lenet_bn"]


class LeNet(nn.Module):
    """LeNet-5: two 5x5 convolutions with pooling, then a 120-84-classes classifier.

    Args:
        input_shape: ``(C, H, W)`` of one image.
        num_classes: number of classes.
        activation: ``'sigmoid'`` (original) or ``'relu'``.
        pool: ``'avg'`` (original) or ``'max'``.
        batch_norm: BatchNorm after each convolution and hidden linear layer.

    Shape: input ``(N, C, H, W)``, output ``(N, num_classes)``.

    >>> import chainrule as cr
    >>> LeNet((1, 28, 28), 10)(cr.zeros(2, 1, 28, 28)).shape
    chainrule.Size([2, 10])
    """

    def __init__(self, input_shape=(1, 28, 28), num_classes=10, activation="sigmoid",
                 pool="avg", batch_norm=False):
        super().__init__()
        c, h, w = check_input_shape("LeNet", input_shape, min_size=4)
        if activation not in ("sigmoid", "relu"):
            raise ValueError(f"LeNet: activation must be 'sigmoid' or 'relu', got {activation!r}")
        if pool not in ("avg", "max"):
            raise ValueError(f"LeNet: pool must be 'avg' or 'max', got {pool!r}")
        self.input_shape, self.num_classes = (c, h, w), int(num_classes)
        self.activation, self.pool, self.batch_norm = activation, pool, bool(batch_norm)
        act = nn.Sigmoid if activation == "sigmoid" else nn.ReLU
        pool_cls = nn.AvgPool2d if pool == "avg" else nn.MaxPool2d
        pad2 = 2 if min(h, w) < 16 else 0
        feats = [nn.Conv2d(c, 6, 5, padding=2), *self._bn(6, 2), act(), pool_cls(2, 2),
                 nn.Conv2d(6, 16, 5, padding=pad2), *self._bn(16, 2), act(), pool_cls(2, 2)]
        self.features = nn.Sequential(*feats)
        n = flat_features(self.features, (c, h, w))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(n, 120), *self._bn(120, 1), act(),
            nn.Linear(120, 84), *self._bn(84, 1), act(), nn.Linear(84, self.num_classes))
        self.reset_parameters()

    def _bn(self, channels, dims):
        if not self.batch_norm:
            return []
        return [nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)]

    def reset_parameters(self):
        if self.activation == "relu":
            init_cnn(self)
            return
        for m in self.modules():  # d2l: Xavier uniform for every conv and linear layer
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.features(x))


@register_model("lenet")
def lenet(input_shape=(1, 28, 28), num_classes=10):
    """LeNet-5 (LeCun et al. 1998), original form: sigmoid, average pooling (d2l 6.6)."""
    return LeNet(input_shape, num_classes, "sigmoid", "avg", False)


@register_model("lenet_bn")
def lenet_bn(input_shape=(1, 28, 28), num_classes=10):
    """LeNet-5, modern form: ReLU, max-pooling, batch norm (Ioffe & Szegedy 2015)."""
    return LeNet(input_shape, num_classes, "relu", "max", True)
