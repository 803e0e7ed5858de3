"""The context aggregation module of Yu & Koltun (2016, "Multi-scale context aggregation
by dilated convolutions", ICLR): a stack of 3x3 convolutions with dilations
1, 1, 2, 4, 8, 16, 1 followed by a 1x1 convolution, all keeping the resolution (padding
= dilation) and the channel count.  Without any pooling, the receptive field grows
exponentially with depth: 3, 5, 9, 17, 33, 65, 67 pixels (the paper's table 1).

:func:`receptive_field` computes it from the kernel sizes and dilations;
:func:`gradient_support` measures it: the input pixels that the gradient of one output
pixel reaches (``examples/dilated_receptive_field.py`` plots the growth layer by layer).

The basic module (paper: ``C`` channels throughout, identity initialization) is
:class:`ContextModule`; :class:`DilatedNet` makes it a classifier for the registry
(a 3x3 front-end to ``width`` channels, the module, global average pooling, a linear
layer).  On 28x28 images the last dilated layers reach mostly padding: the module was
designed for dense prediction on large maps.
"""
import numpy as np

from chainrule import nn
from chainrule.core.creation import tensor
from chainrule.core.grad_mode import no_grad
from chainrule.models._common import check_input_shape
from chainrule.models.registry import register_model

__all__ = ["DILATIONS", "receptive_field", "receptive_fields", "ContextModule",
           "DilatedNet", "gradient_support", "dilated_context"]

DILATIONS = (1, 1, 2, 4, 8, 16, 1)


def receptive_fields(dilations=DILATIONS, kernel_size=3):
    """Receptive field (pixels a side) after each layer of stride-1 convolutions:
    ``r_i = r_{i-1} + (kernel_size - 1) * d_i`` from ``r_0 = 1``.

    >>> receptive_fields()
    [3, 5, 9, 17, 33, 65, 67]
    """
    r, out = 1, []
    for d in dilations:
        r += (int(kernel_size) - 1) * int(d)
        out.append(r)
    return out


def receptive_field(dilations=DILATIONS, kernel_size=3):
    """Receptive field of the whole stack (67 for the context module; the final 1x1
    convolution adds nothing).

    >>> receptive_field(), receptive_field([1, 1, 1])
    (67, 7)
    """
    return receptive_fields(dilations, kernel_size)[-1] if len(dilations) else 1


class ContextModule(nn.Module):
    """``len(dilations)`` 3x3 convolutions (dilation d, padding d) with ReLU, then a 1x1
    convolution; ``channels`` in and out, the resolution unchanged.

    Args:
        channels: feature channels ``C``.
        dilations: one per 3x3 layer.
        identity_init: the paper's identity initialization (each layer passes its input
            through), else He init.

    Shape: ``(N, C, H, W)`` -> ``(N, C, H, W)``.
    """

    def __init__(self, channels, dilations=DILATIONS, identity_init=True):
        super().__init__()
        self.channels, self.dilations = int(channels), tuple(int(d) for d in dilations)
        layers = []
        for d in self.dilations:
            layers += [nn.Conv2d(self.channels, self.channels, 3, padding=d, dilation=d),
                       nn.ReLU()]
        layers.append(nn.Conv2d(self.channels, self.channels, 1))
        self.layers = nn.Sequential(*layers)
        self.identity_init = bool(identity_init)
        self.reset_parameters()

    def reset_parameters(self):
        for m in self.layers:
            if not isinstance(m, nn.Conv2d):
                continue
            if self.identity_init:  # w[c, c, center] = 1: the input passes unchanged
                k = m.kernel_size[0]
                w = np.zeros(m.weight.shape, np.float32)
                w[np.arange(self.channels), np.arange(self.channels), k // 2, k // 2] = 1
                with no_grad():
                    m.weight.copy_(tensor(w))
            else:
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)

    def receptive_field(self):
        return receptive_field(self.dilations)

    def forward(self, x):
        return self.layers(x)


def gradient_support(module, input_shape, layers=None):
    """Side lengths ``(rows, cols)`` of the input region the gradient of the centre
    output pixel reaches (its measured receptive field), and the ``|grad|`` map.

    Args:
        module: maps ``(1, C, H, W)`` to a map of the same resolution.
        input_shape: ``(C, H, W)``; make it larger than the receptive field.
        layers: if given, only this many leading children of ``module`` (a Sequential)
            are applied.
    """
    c, h, w = input_shape
    x = tensor(np.ones((1, c, h, w), np.float32), requires_grad=True)
    net = module if layers is None else nn.Sequential(*list(module)[:layers])
    y = net(x)
    y[0, :, y.shape[2] // 2, y.shape[3] // 2].sum().backward()
    g = np.abs(x.grad.numpy()[0]).sum(0)
    rows, cols = np.nonzero(g.sum(1))[0], np.nonzero(g.sum(0))[0]
    size = (0, 0) if not len(rows) else (int(rows[-1] - rows[0] + 1),
                                           int(cols[-1] - cols[0] + 1))
    return size, g


class DilatedNet(nn.Module):
    """A classifier around the context module: ``conv3x3 -> ReLU -> ContextModule ->
    global avg-pool -> Linear``.

    >>> import chainrule as cr
    >>> DilatedNet((1, 28, 28), 10)(cr.zeros(2, 1, 28, 28)).shape
    chainrule.Size([2, 10])
    """

    def __init__(self, input_shape=(1, 28, 28), num_classes=10, width=16,
                 dilations=DILATIONS, identity_init=True):
        super().__init__()
        c, h, w = check_input_shape("DilatedNet", input_shape)
        self.input_shape, self.num_classes = (c, h, w), int(num_classes)
        self.frontend = nn.Sequential(nn.Conv2d(c, width, 3, padding=1), nn.ReLU())
        self.context = ContextModule(width, dilations, identity_init)
        self.pool, self.flatten = nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten()
        self.fc = nn.Linear(width, self.num_classes)
        nn.init.kaiming_normal_(self.frontend[0].weight, nonlinearity="relu")
        nn.init.zeros_(self.frontend[0].bias)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.context(self.frontend(x)))))


@register_model("dilated_context")
def dilated_context(input_shape=(1, 28, 28), num_classes=10, width=16, identity_init=True):
    """Context aggregation module of dilated convolutions (Yu & Koltun 2016)."""
    return DilatedNet(input_shape, num_classes, width, DILATIONS, identity_init)
