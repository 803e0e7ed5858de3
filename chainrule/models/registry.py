"""The model registry: ``register_model`` / ``list_models`` / ``get_model``.

Every model family registers a builder under a short name.  The CLI only talks
to this registry, so any registered model can be trained, evaluated and drawn
from the command line.  A builder takes keyword arguments only; those that
describe the data (``in_features``, ``num_classes``, ``out_features``) come from
:func:`data_kwargs` when the model is built for a dataset.

>>> from chainrule.models import list_models, get_model
>>> "mlp" in list_models()
True
>>> get_model("mlp", in_features=64, num_classes=10, hidden_sizes=(32,))
MLP(
  (flatten): Flatten(start_dim=1, end_dim=-1)
  (net): Sequential(
    (0): Linear(in_features=64, out_features=32, bias=True)
    (1): ReLU()
    (2): Linear(in_features=32, out_features=10, bias=True)
  )
)
"""
import inspect
import math

from chainrule.utils.errors import UnknownNameError, suggest

__all__ = ["register_model", "list_models", "get_model", "model_info", "data_kwargs",
           "check_task", "suggest", "UnknownNameError", "IncompatibleDataError", "TASKS"]

TASKS = ("classification", "regression", "language_model", "translation", "generative")

_REGISTRY = {}


class IncompatibleDataError(ValueError):
    """A model that cannot be trained on a dataset (e.g. a classifier on regression data)."""


def register_model(name=None, *, description="", task="classification", defaults=None):
    """Register a model builder (use as a decorator).

    Args:
        name: registry name (default: the builder's ``__name__`` in lower case).
        description: one line for ``chainrule models`` (default: the docstring's first line).
        task: ``'classification'`` (outputs class logits), ``'regression'``
            (outputs real values), ``'language_model'`` (``logits, state = model(X,
            state)``) or ``'translation'`` (an encoder-decoder built from
            ``src_vocab_size``/``tgt_vocab_size``, see :mod:`chainrule.models.seq2seq`).
        defaults: extra keyword defaults the CLI shows (documentation only).
    """
    if task not in TASKS:
        raise ValueError(f"register_model: task must be one of {TASKS}, got {task!r}")

    def deco(builder):
        key = name or builder.__name__.lower()
        if key in _REGISTRY:
            raise ValueError(f"register_model: a model named {key!r} is already registered")
        doc = description or (inspect.getdoc(builder) or "").split("\n")[0]
        _REGISTRY[key] = {"builder": builder, "description": doc, "task": task,
                          "defaults": dict(defaults or {})}
        return builder
    return deco


def list_models(task=None):
    """Sorted names of the registered models (only those for ``task`` if given)."""
    return sorted(k for k, e in _REGISTRY.items() if task is None or e["task"] == task)


def _entry(name):
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError(suggest(name, _REGISTRY, "model")) from None


def model_info(name):
    """``{name, description, task, parameters}`` of a registered model; ``parameters``
    maps each builder argument to its default (``inspect.Parameter.empty`` if none)."""
    e = _entry(name)
    params = {p.name: p.default for p in inspect.signature(e["builder"]).parameters.values()
              if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {"name": name, "description": e["description"], "task": e["task"],
            "parameters": params}


def get_model(name, **kwargs):
    """Build the registered model ``name`` with ``kwargs``.

    Unknown names raise :class:`UnknownNameError` with close matches; unknown
    keyword arguments raise a TypeError naming the model and its arguments.
    """
    e = _entry(name)
    known = model_info(name)["parameters"]
    extra = sorted(set(kwargs) - set(known))
    if extra and not any(p.kind == p.VAR_KEYWORD
                         for p in inspect.signature(e["builder"]).parameters.values()):
        raise TypeError(f"model {name!r} got unexpected argument(s) {', '.join(extra)}; "
                        f"it takes: {', '.join(known)}")
    return e["builder"](**kwargs)


def check_task(name, task, dataset=None):
    """Raise :class:`IncompatibleDataError` unless model ``name`` fits a ``task`` dataset."""
    e = _entry(name)
    if e["task"] != task:
        fits = ", ".join(list_models(task)) or "none registered"
        where = f"dataset {dataset!r} is a {task} dataset" if dataset else f"the data is {task}"
        raise IncompatibleDataError(
            f"model {name!r} is a {e['task']} model but {where}; "
            f"models for {task}: {fits}")


def data_kwargs(name, input_shape, task, num_outputs):
    """The builder arguments that describe the data for model ``name``.

    ``input_shape`` is one sample's shape; ``num_outputs`` the number of classes
    (classification) or of regression targets.  Only arguments the builder takes
    are returned, so a family may accept ``input_shape`` (e.g. a CNN) instead of
    ``in_features``.
    """
    params = model_info(name)["parameters"]
    cand = {"input_shape": tuple(input_shape),
            "in_features": int(math.prod(input_shape)),
            "num_classes" if task == "classification" else "out_features": int(num_outputs)}
    return {k: v for k, v in cand.items() if k in params}
