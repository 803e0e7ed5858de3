"""Fine-tuning helpers: find and replace a model's classifier head, split its
parameters into backbone and head, freeze the backbone, load the shape-compatible
weights of another run, and build optimizer parameter groups with a smaller learning
rate for the backbone (the recipe of d2l ch. 14.2 / torchvision's transfer learning).

The head is the last layer that produces the class scores: the last ``Linear`` of the
model (``fc`` of ResNet/GoogLeNet/DenseNet, ``classifier.N`` of LeNet/AlexNet/VGG), or,
for a model without one (NiN), the last ``Conv2d``.

>>> from chainrule.models import get_model
>>> m = get_model("resnet_small", input_shape=(1, 28, 28), num_classes=10)
>>> head_name(m), replace_head(m, 5).out_features
('fc', 5)
"""
import numpy as np

from chainrule import nn

__all__ = ["head_name", "get_head", "replace_head", "head_parameters", "backbone_parameters",
           "freeze", "load_matching", "finetune_param_groups"]


def head_name(model):
    """Dotted name of the classifier head (the last Linear, else the last Conv2d)."""
    last = {nn.Linear: None, nn.Conv2d: None}
    for name, m in model.named_modules():
        for cls in last:
            if type(m) is cls or isinstance(m, cls):
                last[cls] = name
    name = last[nn.Linear] if last[nn.Linear] is not None else last[nn.Conv2d]
    if name is None:
        raise ValueError(f"{type(model).__name__} has no Linear or Conv2d layer to use as "
                         f"its classifier head")
    return name


def get_head(model):
    """The classifier head module (see :func:`head_name`)."""
    return model.get_submodule(head_name(model))


def replace_head(model, num_classes):
    """Put a freshly initialized head with ``num_classes`` outputs in place of the old
    one (same input size, kind and bias); return the new layer.  ``model.num_classes``
    is updated when the model has that attribute."""
    name = head_name(model)
    old = model.get_submodule(name)
    bias = old.bias is not None
    if isinstance(old, nn.Linear):
        new = nn.Linear(old.in_features, int(num_classes), bias=bias)
    else:
        new = nn.Conv2d(old.in_channels, int(num_classes), old.kernel_size, stride=old.stride,
                        padding=old.padding, dilation=old.dilation, bias=bias)
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, new)
    if hasattr(model, "num_classes"):
        model.num_classes = int(num_classes)
    return new


def head_parameters(model):
    """Parameters of the classifier head."""
    return list(get_head(model).parameters())


def backbone_parameters(model):
    """Every parameter that is not in the classifier head."""
    head = {id(p) for p in head_parameters(model)}
    return [p for p in model.parameters() if id(p) not in head]


def freeze(params):
    """``requires_grad = False`` on ``params`` (they get no gradient and, left out of the
    optimizer, never change); returns how many were frozen."""
    n = 0
    for p in params:
        p.requires_grad = False
        n += 1
    return n


def load_matching(model, state_dict, skip_head=True):
    """Copy the entries of ``state_dict`` whose name and shape match ``model``'s
    (parameters and buffers, e.g. BatchNorm statistics); the classifier head is skipped
    unless ``skip_head=False``.  Returns ``(loaded, skipped)`` lists of names."""
    own = model.state_dict()
    head = head_name(model) + "." if skip_head else None
    take, skipped = {}, []
    for k, v in state_dict.items():
        if k in own and tuple(np.shape(v)) == tuple(own[k].shape) and not (
                head and k.startswith(head)):
            take[k] = v
        else:
            skipped.append(k)
    model.load_state_dict(take, strict=False)
    return sorted(take), sorted(skipped)


def finetune_param_groups(model, lr, backbone_lr_mult=0.1, freeze_backbone=False):
    """Optimizer parameter groups: the backbone at ``lr * backbone_lr_mult`` and the head
    at ``lr``; with ``freeze_backbone`` the backbone is frozen and left out.

    >>> from chainrule.models import get_model
    >>> m = get_model("lenet", input_shape=(1, 28, 28), num_classes=10)
    >>> [g["lr"] for g in finetune_param_groups(m, 0.1)]
    [0.010000000000000002, 0.1]
    """
    head, backbone = head_parameters(model), backbone_parameters(model)
    if freeze_backbone:
        freeze(backbone)
        return [{"params": head, "lr": lr}]
    return [{"params": backbone, "lr": lr * backbone_lr_mult}, {"params": head, "lr": lr}]
