"""Smoke tests of the CNN zoo: every registered image model builds for each supported
input size and runs forward + backward on a batch of 2; ResNet parameter names and
counts match torchvision's; the dilated context module's receptive field."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn
from chainrule.models.dilated import (ContextModule, gradient_support, receptive_field,
                                      receptive_fields)

SIZES = [(1, 28, 28), (1, 8, 8), (3, 32, 32)]
# small widths keep the test fast; the structure (blocks, pools, strides) is the real one
SMALL = {
    "lenet": {}, "lenet_bn": {}, "alexnet": {}, "nin": {}, "googlenet": {}, "densenet": {},
    "dilated_context": {}, "resnet_small": {},
    "vgg": dict(width_divisor=16, hidden=32), "vgg11": dict(width_divisor=16, hidden=32),
    "vgg16": dict(width_divisor=16, hidden=32),
    "resnet18": dict(width=4), "resnet34": dict(width=4), "resnet50": dict(width=4),
}
# the original 224x224 configurations (narrowed where the full one is slow)
LARGE = {
    "lenet": {}, "lenet_bn": {}, "alexnet": dict(width_divisor=16, hidden=32),
    "vgg": dict(width_divisor=32, hidden=32), "nin": dict(width_divisor=8),
    "googlenet": dict(width_divisor=8), "densenet": dict(growth_rate=8, init_channels=16),
    "resnet18": dict(width=8), "resnet50": dict(width=4), "resnet_small": {},
    "dilated_context": dict(width=4),
}


def image_models():
    return [n for n in models.list_models("classification")
            if "input_shape" in models.model_info(n)["parameters"]]


def test_every_image_model_is_smoke_tested():
    assert set(image_models()) == set(SMALL)
    assert {"lenet", "lenet_bn", "alexnet", "vgg", "nin", "googlenet", "resnet18",
            "resnet34", "densenet", "dilated_context"} <= set(image_models())


def _forward_backward(model, shape, num_classes):
    x = cr.tensor(np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32))
    y = model(x)
    assert y.shape == (2, num_classes)
    nn.CrossEntropyLoss()(y, cr.tensor(np.array([0, 1]))).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and g.shape == p.shape for g, p in zip(grads, model.parameters()))
    assert all(np.isfinite(g.numpy()).all() for g in grads)


@pytest.mark.parametrize("shape", SIZES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", sorted(SMALL))
def test_builds_and_trains_at_cpu_sizes(name, shape):
    model = models.get_model(name, input_shape=shape, num_classes=7, **SMALL[name])
    _forward_backward(model, shape, 7)


@pytest.mark.parametrize("name", sorted(LARGE))
def test_original_224_configuration(name):
    model = models.get_model(name, input_shape=(3, 224, 224), num_classes=5, **LARGE[name])
    _forward_backward(model, (3, 224, 224), 5)


def test_data_kwargs_give_image_models_the_chw_shape():
    kw = models.data_kwargs("resnet_small", (1, 28, 28), "classification", 10)
    assert kw == {"input_shape": (1, 28, 28), "num_classes": 10}


def test_bad_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"expected input_shape \(C, H, W\), got \(784,\)"):
        models.get_model("lenet", input_shape=(784,))


# ------------------------------------------------------------------ ResNet naming
def _torchvision_resnet18_keys():
    """torchvision.models.resnet18().state_dict().keys(), written out by its rules."""
    bn = lambda p: [f"{p}.weight", f"{p}.bias", f"{p}.running_mean", f"{p}.running_var",  # noqa
                    f"{p}.num_batches_tracked"]
    keys = ["conv1.weight", *bn("bn1")]
    for layer in range(1, 5):
        for b in range(2):
            p = f"layer{layer}.{b}"
            keys += [f"{p}.conv1.weight", *bn(f"{p}.bn1"), f"{p}.conv2.weight", *bn(f"{p}.bn2")]
            if layer > 1 and b == 0:
                keys += [f"{p}.downsample.0.weight", *bn(f"{p}.downsample.1")]
    return keys + ["fc.weight", "fc.bias"]


def test_resnet18_matches_torchvision_names_shapes_and_counts():
    m = models.get_model("resnet18")  # 3x224x224, 1000 classes
    sd = m.state_dict()
    assert list(sd) == _torchvision_resnet18_keys()
    assert len(sd) == 122
    assert sum(p.numel() for p in m.parameters()) == 11_689_512  # torchvision's count
    shapes = {"conv1.weight": (64, 3, 7, 7), "layer1.0.conv1.weight": (64, 64, 3, 3),
              "layer2.0.conv1.weight": (128, 64, 3, 3),
              "layer2.0.downsample.0.weight": (128, 64, 1, 1),
              "layer4.1.bn2.running_var": (512,), "fc.weight": (1000, 512)}
    assert {k: tuple(sd[k].shape) for k in shapes} == shapes
    assert isinstance(m.maxpool, nn.MaxPool2d) and m.conv1.stride == (2, 2)


def test_resnet_parameter_counts_match_torchvision():
    assert sum(p.numel() for p in models.get_model("resnet34").parameters()) == 21_797_672
    r50 = models.get_model("resnet50")
    assert sum(p.numel() for p in r50.parameters()) == 25_557_032
    assert tuple(r50.layer1[0].conv3.weight.shape) == (256, 64, 1, 1)


def test_small_images_get_the_cifar_stem():
    m = models.get_model("resnet18", input_shape=(3, 32, 32), num_classes=10, width=4)
    assert m.conv1.kernel_size == (3, 3) and m.conv1.stride == (1, 1)
    assert isinstance(m.maxpool, nn.Identity)


def test_lenet_original_form():
    m = models.get_model("lenet")
    kinds = [type(layer).__name__ for layer in m.features]
    assert kinds == ["Conv2d", "Sigmoid", "AvgPool2d", "Conv2d", "Sigmoid", "AvgPool2d"]
    assert m.classifier[1].in_features == 16 * 5 * 5
    assert [layer.out_features for layer in m.classifier if isinstance(layer, nn.Linear)] == \
        [120, 84, 10]
    bn = models.get_model("lenet_bn")
    assert any(isinstance(layer, nn.BatchNorm2d) for layer in bn.features)
    assert any(isinstance(layer, nn.MaxPool2d) for layer in bn.features)


def test_vgg_blocks_are_configurable():
    m = models.get_model("vgg", input_shape=(1, 32, 32), num_classes=10,
                         arch=((1, 16), (2, 32)), width_divisor=1, hidden=16)
    assert len(m.features) == 2
    assert sum(isinstance(x, nn.Conv2d) for x in m.features[1]) == 2
    assert m.classifier[1].in_features == 32 * 8 * 8


# ------------------------------------------------------------ dilated convolutions
def test_receptive_field_formula():
    assert receptive_fields() == [3, 5, 9, 17, 33, 65, 67]  # Yu & Koltun, table 1
    assert receptive_field() == 67
    assert receptive_field([1, 1, 1]) == 7 and receptive_field([], 3) == 1


def test_gradient_support_grows_as_predicted_without_pooling():
    module = ContextModule(1, identity_init=False)
    for m in module.layers:  # positive weights: no ReLU blocks the gradient
        if isinstance(m, nn.Conv2d):
            with cr.no_grad():
                m.weight.copy_(cr.tensor(np.full(m.weight.shape, 0.1, np.float32)))
    for k, predicted in enumerate(receptive_fields(), start=1):
        size, grad = gradient_support(module.layers, (1, 75, 75), layers=2 * k)
        assert size == (predicted, predicted)
        assert (grad > 0).sum() == predicted ** 2  # the whole square, nothing outside
    size, _ = gradient_support(module, (1, 75, 75))
    assert size == (67, 67) and module(cr.ones(1, 1, 75, 75)).shape == (1, 1, 75, 75)


def test_context_module_identity_init_passes_the_input():
    x = cr.tensor(np.random.default_rng(1).random((1, 3, 20, 20)).astype(np.float32))
    with cr.no_grad():
        np.testing.assert_allclose(ContextModule(3)(x).numpy(), x.numpy(), atol=1e-6)


def test_docstring_examples_run():
    import doctest
    import importlib
    for name in ("lenet", "alexnet", "vgg", "nin", "googlenet", "resnet", "densenet",
                 "dilated", "finetune"):
        mod = importlib.import_module(f"chainrule.models.{name}")
        assert doctest.testmod(mod).failed == 0, mod.__name__


# ------------------------------------------------------------------ init scale
@pytest.mark.parametrize("name", ["googlenet", "nin", "alexnet", "vgg", "densenet", "lenet",
                                  "lenet_bn", "resnet_small", "dilated_context"])
def test_init_keeps_the_signal_at_scale(name):
    """At initialization the features reaching the last layer neither vanish nor
    explode for a standardized batch: a plain deep net (no batch norm) that starts
    with a collapsed signal does not learn (GoogLeNet with Xavier init: feature std
    0.006, a flat loss for a whole epoch), one with a growing signal diverges (He
    fan-out init: ~80x growth)."""
    cr.manual_seed(0)
    kw = {"vgg": dict(width_divisor=16, hidden=32)}.get(name, {})
    model = models.get_model(name, input_shape=(1, 28, 28), num_classes=10, **kw)
    last = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
    seen = {}
    last.register_forward_hook(lambda m, inp, out: seen.update(std=float(inp[0].std())))
    x = cr.tensor(np.random.default_rng(0).standard_normal((16, 1, 28, 28)).astype(np.float32))
    with cr.no_grad():
        model(x)
    assert 0.03 < seen["std"] < 30, f"{name}: feature std {seen['std']:.3g} at init"
