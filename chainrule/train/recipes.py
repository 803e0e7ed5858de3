"""Dataset recipes: how each registered dataset is fed to a model for training.

A recipe says what task a dataset is (classification or regression), how its
samples are turned into tensors (transforms), how it is split into train /
validation / test, which metrics to report and which hyper-parameters train a
good model on it.  The CLI and the example scripts share these recipes, so
``chainrule train --data X`` and ``examples/`` train the same way.

Splits never use the global RNG: held-out parts come from a generator seeded
with ``split_seed``, so ``chainrule eval`` sees the same split as training.
"""
import dataclasses
import math

import numpy as np

from chainrule.core.creation import tensor
from chainrule.core.grad_mode import no_grad
from chainrule.core.tensor import Tensor
from chainrule.data import DataLoader, Subset, datasets
from chainrule.data import transforms as T
from chainrule.train.metrics import RMSE, get_metric
from chainrule.utils.errors import UnknownNameError, suggest

__all__ = ["Recipe", "DataBundle", "RECIPES", "get_recipe", "prepare_data"]


@dataclasses.dataclass
class Recipe:
    """How to train on one dataset.

    Attributes:
        task: ``'classification'`` or ``'regression'``.
        metrics: meters (or their names) reported besides the loss; ``primary`` is the one
            printed as the final result (and ``primary_mode`` says which way is better).
        transform / train_transform: sample transforms (train_transform adds augmentation).
        test_split: the dataset has a labeled ``train=False`` split.
        val_fraction: part of the training data held out (seeded) for validation:
            ``best.ckpt``, early stopping and plateau schedules select on it, and the
            test split is scored once, at the end.  0 validates on the test split
            instead (d2l's convention; optimistic, since the test data then picks the
            model).
        defaults: CLI defaults (model, epochs, batch_size, lr, optimizer, ...).
        dataset_kwargs: passed to the dataset builder.
    """
    task: str
    metrics: tuple
    primary: str
    defaults: dict
    transform: object = None
    train_transform: object = None
    test_split: bool = True
    val_fraction: float = 0.1
    dataset_kwargs: dict = dataclasses.field(default_factory=dict)
    target_name: str = "value"
    invert_target: object = None  # e.g. np.exp for log-price targets
    augment_transform: object = None  # train transform used with ``augment=True``
    cnn_defaults: dict = dataclasses.field(default_factory=dict)
    model_defaults: dict = dataclasses.field(default_factory=dict)

    def defaults_for(self, model=None):
        """The hyper-parameters for training ``model`` on this dataset: ``defaults``,
        then (for image models, which take ``input_shape``) ``cnn_defaults``, then the
        model's own entry in ``model_defaults``."""
        d = dict(self.defaults)
        if model is None or model == d.get("model"):
            return d
        from chainrule.models import model_info
        if "input_shape" in model_info(model)["parameters"]:
            d.update(self.cnn_defaults)
        d.update(self.model_defaults.get(model, {}))
        return d

    @property
    def primary_mode(self):
        return "max" if self.primary.endswith("acc") else "min"

    @property
    def metric_names(self):
        return [get_metric(m).name for m in self.metrics]


@dataclasses.dataclass
class DataBundle:
    """Loaders and what a model needs to know about the data."""
    name: str
    recipe: Recipe
    train_loader: object
    val_loader: object
    test_loader: object
    input_shape: tuple
    num_outputs: int
    classes: list = None
    raw_input: dict = None  # shape/dtype of an untransformed sample (for predict)
    train_targets: object = None  # regression targets of the training part

    @property
    def task(self):
        return self.recipe.task


# CNNs on 28x28 / 32x32 images: SGD with momentum, weight decay, cosine schedule
_CNN = dict(epochs=10, batch_size=128, lr=0.05, optimizer="sgd", momentum=0.9,
            weight_decay=5e-4, scheduler="cosine")
# d2l's LeNet setup (d2l 6.6): plain SGD, lr 0.9, batch 256, 10 epochs
_D2L_LENET = dict(epochs=10, batch_size=256, lr=0.9, optimizer="sgd", momentum=0.0,
                  weight_decay=0.0, scheduler="none")
_CNN_MODELS = {
    "lenet": _D2L_LENET,
    "lenet_bn": dict(epochs=10, lr=0.1),
    "resnet_small": dict(epochs=8, lr=0.1),
    # no batch norm: smaller steps (d2l uses plain SGD with lr 0.01-0.1 for these)
    "alexnet": dict(lr=0.01), "vgg": dict(lr=0.01), "vgg11": dict(lr=0.01),
    "vgg16": dict(lr=0.01), "nin": dict(lr=0.02), "googlenet": dict(lr=0.02),
    "dilated_context": dict(lr=0.01),
}


def _mnist_like(mean, std, model, epochs, lr, hidden, flip):
    from chainrule.data.vision_transforms import RandomCrop, RandomHorizontalFlip
    tf = T.Compose([T.ToTensor(), T.Normalize([mean], [std])])
    aug = [RandomCrop(28, padding=2)] + ([RandomHorizontalFlip()] if flip else [])
    return Recipe("classification", ("acc",), "acc", transform=tf,
                  augment_transform=T.Compose([*aug, T.ToTensor(), T.Normalize([mean], [std])]),
                  defaults=dict(model=model, epochs=epochs, batch_size=128, lr=lr,
                                optimizer="sgd", momentum=0.9, hidden_sizes=hidden,
                                scheduler="cosine"),
                  cnn_defaults=_CNN, model_defaults=_CNN_MODELS)


def _cifar10_recipe():
    from chainrule.data.vision_transforms import RandomCrop, RandomHorizontalFlip
    norm = T.Normalize([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])
    return Recipe("classification", ("acc",), "acc", transform=T.Compose([T.ToTensor(), norm]),
                  augment_transform=T.Compose([RandomCrop(32, padding=4),
                                               RandomHorizontalFlip(), T.ToTensor(), norm]),
                  defaults=dict(model="resnet_small", **_CNN, augment=True),
                  cnn_defaults=dict(_CNN, augment=True), model_defaults=_CNN_MODELS)


def _digits_recipe():
    from chainrule.data.augment import Deskew, RandomAffine
    return Recipe("classification", ("acc",), "acc", transform=Deskew(),
                  train_transform=T.Compose([Deskew(), RandomAffine(
                      degrees=10, translate=(0.125, 0.125), scale=(0.9, 1.1))]),
                  defaults=dict(model="mlp", epochs=100, batch_size=64, lr=0.1,
                                optimizer="sgd", momentum=0.9, hidden_sizes=(512, 512),
                                dropout=0.3, scheduler="cosine", label_smoothing=0.1),
                  cnn_defaults=dict(epochs=30, batch_size=64, lr=0.05, momentum=0.9,
                                    weight_decay=5e-4, scheduler="cosine",
                                    label_smoothing=0.0))


RECIPES = {
    "digits": _digits_recipe,
    "mnist": lambda: _mnist_like(0.1307, 0.3081, "mlp", 20, 0.05, (512, 256), flip=False),
    "fashion_mnist": lambda: _mnist_like(0.2860, 0.3530, "mlp", 30, 0.05, (512, 256),
                                         flip=True),
    "cifar10": _cifar10_recipe,
    "kaggle_house": lambda: Recipe(
        # the target is log(price): its RMSE is Kaggle's log-RMSE
        "regression", (RMSE(name="log_rmse"),), "log_rmse", test_split=False, val_fraction=0.2,
        target_name="SalePrice", invert_target=np.exp,
        defaults=dict(model="mlp_regressor", epochs=100, batch_size=64, lr=0.002,
                      optimizer="adam", hidden_sizes=(256,), dropout=0.5, scheduler="none")),
    "airfoil": lambda: Recipe(
        "regression", ("rmse", "mae"), "rmse", test_split=False, val_fraction=0.2,
        target_name="noise (standardized)",
        defaults=dict(model="mlp_regressor", epochs=50, batch_size=32, lr=0.01,
                      optimizer="adam", hidden_sizes=(64,), scheduler="none")),
    "synthetic_linear": lambda: Recipe(
        "regression", ("rmse",), "rmse", test_split=False, val_fraction=0.2,
        dataset_kwargs={"seed": 0},
        defaults=dict(model="linear_regression", epochs=3, batch_size=10, lr=0.03,
                      optimizer="sgd", scheduler="none")),
}


def transform_inputs(recipe, raw_input, array):
    """Turn raw samples (as the dataset stores them: uint8 images for MNIST, float
    rows for tables...) into the model's input batch, with the recipe's test-time
    transform.  ``array`` holds one sample or a batch of them (also flattened)."""
    shape = tuple(raw_input["shape"])
    size = int(np.prod(shape))
    a = np.asarray(array)
    if a.size % size:
        raise ValueError(f"expected samples of shape {shape} ({size} values each), "
                         f"got an array of shape {a.shape}")
    a = a.reshape((-1,) + shape)
    if a.dtype.kind not in "uif":
        raise ValueError(f"expected numbers, got an array of {a.dtype}")
    raw_dtype = np.dtype(raw_input.get("dtype", "float32"))
    if raw_dtype.kind == "u" and a.dtype.kind in "iu":  # e.g. 0..255 pixels
        if a.size and (a.min() < 0 or a.max() > np.iinfo(raw_dtype).max):
            raise ValueError(f"expected {raw_dtype} values, got {a.min()}..{a.max()}")
        a = a.astype(raw_dtype)
    else:
        a = a.astype(np.float32)
    x = tensor(a) if raw_input.get("tensor") else a
    if recipe.transform is not None:
        return recipe.transform.apply_batch(x)
    return x if isinstance(x, Tensor) else tensor(x)


def start_at_mean(model, targets):
    """Set the bias of ``model``'s last Linear layer to the mean training target, so a
    regression model starts from the best constant prediction (log house prices are
    around 12: from a zero bias, the first epochs would only learn that offset)."""
    from chainrule import nn
    last = None
    for m in model.modules():
        if isinstance(m, nn.Linear):
            last = m
    if last is None or last.bias is None:
        return
    mean = np.asarray(targets, np.float64).reshape(len(targets), -1).mean(0)
    with no_grad():
        last.bias.copy_(tensor(np.broadcast_to(mean, last.bias.shape).astype(np.float32)))


def get_recipe(name):
    """The :class:`Recipe` of a registered dataset (friendly error for unknown names)."""
    name = datasets.canonical_name(name)
    if name not in RECIPES:
        known = set(datasets.list_datasets())
        if name in known:
            raise UnknownNameError(f"dataset {name!r} is registered but has no training "
                                   f"recipe yet; recipes exist for: "
                                   f"{', '.join(sorted(RECIPES))}")
        raise UnknownNameError(suggest(name, known | set(RECIPES), "dataset"))
    return RECIPES[name]()


def _targets_info(ds, recipe):
    """(num_outputs, class names) of a dataset."""
    if recipe.task == "classification":
        classes = list(getattr(ds, "classes", []) or [])
        if not classes:
            targets = np.asarray(ds.targets)
            classes = [str(c) for c in range(int(targets.max()) + 1)]
        return len(classes), classes
    y = np.asarray(ds.targets)
    return (1 if y.ndim == 1 else int(math.prod(y.shape[1:]))), None


def prepare_data(name, batch_size=64, val_fraction=None, split_seed=0, num_workers=0,
                 download=True, train=True, augment=False):
    """Build the loaders of dataset ``name`` as its recipe says.

    Args:
        val_fraction: hold out this part of the training split for validation
            (default: the recipe's, 0.1 for datasets with a test split; 0 with a
            labeled test split means the test split validates, as in d2l).
        split_seed: seeds the held-out split (independent of the global RNG).
        train: build the (shuffled, augmented) training loader too.
        augment: train on the recipe's ``augment_transform`` (random crops and flips
            for images); an error if the recipe has none.
    """
    name = datasets.canonical_name(name)
    recipe = get_recipe(name)
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    frac = recipe.val_fraction if val_fraction is None else float(val_fraction)
    if not 0.0 <= frac < 1.0:
        raise ValueError(f"validation fraction must be in [0, 1), got {frac}")
    kw = dict(recipe.dataset_kwargs)
    if name != "synthetic_linear":
        kw["download"] = download
    if recipe.test_split:
        kw["train"] = True
    build = lambda tf, **extra: datasets.get_dataset(
        name, **{**kw, **extra}, **({"transform": tf} if tf is not None else {}))
    train_tf = recipe.train_transform or recipe.transform
    if augment:
        if recipe.augment_transform is None:
            raise ValueError(f"dataset {name!r} has no augmentation recipe")
        train_tf = recipe.augment_transform
    full = build(train_tf)
    plain = full if train_tf is recipe.transform else build(recipe.transform)
    test = build(recipe.transform, train=False) if recipe.test_split else None
    if frac > 0:
        gen = np.random.default_rng(split_seed)
        perm = gen.permutation(len(full))
        n_val = max(1, int(round(frac * len(full))))
        tr_idx, val_idx = sorted(perm[n_val:].tolist()), sorted(perm[:n_val].tolist())
        train_ds, val_ds = Subset(full, tr_idx), Subset(plain, val_idx)
    else:
        train_ds, val_ds, tr_idx = full, test, slice(None)
    loader = lambda ds, shuffle: DataLoader(ds, batch_size=batch_size, shuffle=shuffle,
                                            num_workers=num_workers) if ds is not None else None
    sample = plain[0][0]
    n_out, classes = _targets_info(full, recipe)
    raw = np.asarray(full.data)
    raw_input = {"shape": list(raw.shape[1:]), "dtype": str(raw.dtype),
                 "tensor": bool(getattr(full, "sample_as_tensor", False))}
    if raw.size and raw.dtype.kind in "uif":  # the value range predict checks inputs against
        raw_input.update(min=float(raw.min()), max=float(raw.max()))
    return DataBundle(name, recipe, loader(train_ds, True) if train else None,
                      loader(val_ds, False), loader(test, False) if frac > 0 else None,
                      tuple(sample.shape), n_out, classes, raw_input,
                      np.asarray(full.targets)[tr_idx] if recipe.task == "regression" else None)
