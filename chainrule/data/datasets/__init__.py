"""Dataset registry and the built-in datasets.

>>> from chainrule.data import datasets
>>> "digits" in datasets.list_datasets()
True
>>> len(datasets.get_dataset("digits", train=False))
360
"""
from chainrule.data.datasets.base import ArrayDataset
from chainrule.data.datasets.digits import Digits
from chainrule.data.datasets.mnist import MNIST, FashionMNIST, read_idx
from chainrule.data.datasets.tabular import (AirfoilSelfNoise, KaggleHouse, SyntheticLinear,
                                             preprocess_house, synthetic_linear)

from chainrule.utils.errors import resolve_name

__all__ = ["register_dataset", "list_datasets", "get_dataset", "dataset_info", "is_available",
           "canonical_name",
           "ArrayDataset", "Digits", "MNIST", "FashionMNIST", "KaggleHouse",
           "AirfoilSelfNoise", "SyntheticLinear", "read_idx", "preprocess_house",
           "synthetic_linear"]

_REGISTRY = {}


def register_dataset(name, builder=None, *, files=(), available=None, description=""):
    """Register ``builder(**kw)`` under ``name`` (usable as a decorator).

    Args:
        files: the ``<dataset>/<file>`` paths it reads (documentation).
        available: ``() -> bool``, whether it can be built without the network;
            default: the builder's ``available`` classmethod, else True.
    """
    def deco(b):
        if name in _REGISTRY:
            raise ValueError(f"dataset {name!r} is already registered")
        avail = available or getattr(b, "available", None) or (lambda: True)
        doc = description or (b.__doc__ or "").strip().split("\n")[0]
        _REGISTRY[name] = {"builder": b, "files": tuple(files), "available": avail,
                           "description": doc}
        return b
    return deco(builder) if builder is not None else deco


def list_datasets():
    """Sorted names of the registered datasets."""
    return sorted(_REGISTRY)


def canonical_name(name):
    """The registered spelling of a dataset name: case, ``-`` and ``_`` do not
    matter (``fashion-mnist`` -> ``fashion_mnist``, ``WikiText-2`` -> ``wikitext2``,
    ``CIFAR-10`` -> ``cifar10``); unknown names come back unchanged."""
    return resolve_name(name, _REGISTRY)


def _entry(name):
    try:
        return _REGISTRY[canonical_name(name)]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(list_datasets())}") \
            from None


def get_dataset(name, **kwargs):
    """Build the registered dataset ``name`` with keyword arguments ``kwargs``."""
    return _entry(name)["builder"](**kwargs)


def is_available(name):
    """True when ``name`` can be built without the network (shipped, generated, or
    its files are in ``$CHAINRULE_DATA`` or the cache)."""
    return bool(_entry(name)["available"]())


def dataset_info(name):
    """``{name, description, files, available}`` for one registered dataset."""
    e, name = _entry(name), canonical_name(name)
    return {"name": name, "description": e["description"], "files": e["files"],
            "available": is_available(name)}


def _files(cls):
    return [f"{cls.dataset_dir}/{f}" for f in cls.resources]


register_dataset("digits", Digits, files=["(shipped) chainrule/data/datasets/files/digits.csv.gz"])
register_dataset("mnist", MNIST, files=_files(MNIST))
register_dataset("fashion_mnist", FashionMNIST, files=_files(FashionMNIST))
register_dataset("kaggle_house", KaggleHouse, files=_files(KaggleHouse))
register_dataset("airfoil", AirfoilSelfNoise, files=_files(AirfoilSelfNoise))
register_dataset("synthetic_linear", SyntheticLinear)

# The text corpora for language models (timemachine, jaychou, ptb, wikitext2)
# are registered by chainrule.text.corpora (text is the floor above data), which
# ``import chainrule`` imports.

# CIFAR-10 (python pickle batches, read with a restricted unpickler).
from chainrule.data.datasets.cifar import CIFAR10  # noqa: E402
__all__ += ["CIFAR10"]
register_dataset("cifar10", CIFAR10, files=[
    f"{CIFAR10.dataset_dir}/{CIFAR10.archive} (or the extracted "
    f"{CIFAR10.dataset_dir}/{CIFAR10.folder}/)"])
