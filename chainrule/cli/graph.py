"""``chainrule graph``: the backward graph of a registered model (or of a small
expression when no model is named), as Graphviz DOT text or an image."""
from chainrule.backend import manual_seed
from chainrule.core.creation import tensor
from chainrule import models
from chainrule.cli.common import EXIT_OK, UsageError, load_data
from chainrule.train.factory import make_loss
from chainrule.utils.graph import render, to_dot

__all__ = ["add_parser", "run"]

DEFAULT_DATA = {"classification": "digits", "regression": "synthetic_linear"}


def add_parser(sub):
    g = sub.add_parser("graph", help="draw the backward graph of a model's loss (DOT/PNG)",
                       description="Run one forward pass of MODEL (built for --data) on a "
                       "small batch, and print the DOT text of the loss's backward graph or "
                       "write it with -o (.dot, or .png/.svg/.pdf with Graphviz installed). "
                       "Without MODEL: the graph of a small expression.")
    g.add_argument("model", nargs="?", help="registered model (see `chainrule models`)")
    g.add_argument("--data", help="dataset that sets the input shape (default: digits for "
                   "classifiers, synthetic_linear for regressors)")
    g.add_argument("--batch-size", type=int, default=2)
    g.add_argument("-o", "--output", help="write an image (needs Graphviz 'dot') or .dot file")
    g.set_defaults(func=run)


def _expression():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = tensor([0.5, -1.0, 2.0], requires_grad=True)
    return ((x * w).tanh() + x.exp()).sum(), {"x": x, "w": w}, "expression"


def _model_loss(name, data, batch_size):
    task = models.model_info(name)["task"]
    data = data or DEFAULT_DATA[task]
    bundle = load_data(data, batch_size=batch_size, train=False)
    models.check_task(name, bundle.task, data)
    kwargs = models.data_kwargs(name, bundle.input_shape, bundle.task, bundle.num_outputs)
    manual_seed(0)
    model = models.get_model(name, **kwargs)
    x, y = next(iter(bundle.val_loader))
    loss = make_loss(bundle.task)(model(x), y)
    return loss, dict(model.named_parameters()), f"{name} on {data}"


def run(args):
    if args.model:
        out, params, title = _model_loss(args.model, args.data, args.batch_size)
    else:
        out, params, title = _expression()
    if args.output:
        try:
            render(out, args.output, params=params)
        except RuntimeError as e:  # Graphviz missing or failing
            raise UsageError(f"{e}") from None
        print(f"wrote {args.output} ({title})")
    else:
        print(to_dot(out, params=params, title=title))
    return EXIT_OK
