"""``torchvision.models`` for the zoo chainrule has: resnet18/34/50, vgg11/16, alexnet,
googlenet, densenet121 (chainrule's DenseNet), with torchvision's ``weights=`` and
``num_classes=`` arguments.  Pretrained weights are not available: ``weights`` other
than None raises, naming the model."""
from chainrule.models import registry as _registry

__all__ = ["resnet18", "resnet34", "resnet50", "vgg11", "vgg16", "alexnet", "googlenet",
           "densenet121", "get_model", "list_models"]

_ZOO = {"resnet18": "resnet18", "resnet34": "resnet34", "resnet50": "resnet50",
        "vgg11": "vgg11", "vgg16": "vgg16", "alexnet": "alexnet", "googlenet": "googlenet",
        "densenet121": "densenet"}


def _builder(tv_name):
    def build(*, weights=None, progress=True, num_classes=1000, pretrained=False, **kwargs):
        if weights is not None or pretrained:
            raise NotImplementedError(
                f"torchvision.models.{tv_name}(weights={weights!r}): chainrule has no "
                f"pretrained weights (no offline copy); use weights=None")
        return _registry.get_model(_ZOO[tv_name], num_classes=num_classes, **kwargs)
    build.__name__ = tv_name
    build.__doc__ = f"chainrule's ``{_ZOO[tv_name]}`` (untrained) under torchvision's name."
    return build


resnet18, resnet34, resnet50 = (_builder(n) for n in ("resnet18", "resnet34", "resnet50"))
vgg11, vgg16, alexnet = (_builder(n) for n in ("vgg11", "vgg16", "alexnet"))
googlenet, densenet121 = _builder("googlenet"), _builder("densenet121")


def list_models():
    return sorted(_ZOO)


def get_model(name, **config):
    if name not in _ZOO:
        raise ValueError(f"torchvision.models.get_model: chainrule has no {name!r}; "
                         f"it has {list_models()}")
    return globals()[name](**config)
