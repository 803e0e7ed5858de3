"""``chainrule models`` and ``chainrule datasets``: what the registries hold."""
import inspect
import re

from chainrule import models
from chainrule.cli.common import EXIT_OK
from chainrule.data import datasets
from chainrule.data.download import data_dir, cache_dir

__all__ = ["add_parsers"]


def add_parsers(sub):
    m = sub.add_parser("models", help="list the registered models")
    m.set_defaults(func=run_models)
    d = sub.add_parser("datasets", help="list the registered datasets and which are here")
    d.set_defaults(func=run_datasets)


def _plain(text):
    """Docstring markup (``code``, :func:`name`) as plain text."""
    return re.sub(r":\w+:`([^`]*)`", r"\1", text).replace("``", "")


def _fmt_default(v):
    if v is inspect.Parameter.empty:
        return "<from data>"
    return repr(v)


def run_models(args):
    print(f"{'model':<20} {'task':<15} description")
    for name in models.list_models():
        info = models.model_info(name)
        print(f"{name:<20} {info['task']:<15} {info['description']}")
        opts = ", ".join(f"{k}={_fmt_default(v)}" for k, v in info["parameters"].items()
                         if k not in ("in_features", "num_classes", "out_features",
                                      "input_shape", "src_vocab_size", "tgt_vocab_size"))
        if opts:
            print(f"{'':<20} {'':<15} options: {opts}")
    print("\ntrain one with: chainrule train MODEL --data DATASET")
    return EXIT_OK


def run_datasets(args):
    from chainrule.train.recipes import RECIPES, get_recipe
    from chainrule.train.lm_recipes import is_lm_data
    from chainrule.train.nmt_recipes import is_nmt_data
    print(f"{'dataset':<18} {'local':<6} {'task':<15} description")
    for name in datasets.list_datasets():
        info = datasets.dataset_info(name)
        task = get_recipe(name).task if name in RECIPES else \
            "language_model" if is_lm_data(name) else \
            "translation" if is_nmt_data(name) else "-"
        avail = "yes" if info["available"] else "no"
        print(f"{name:<18} {avail:<6} {task:<15} {_plain(info['description'])}")
    print(f"\nfiles are looked for in CHAINRULE_DATA ({data_dir() or 'not set'}) and in the "
          f"cache ({cache_dir()}); missing ones are downloaded when online")
    return EXIT_OK
