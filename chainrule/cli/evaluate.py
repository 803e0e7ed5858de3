"""``chainrule eval`` and ``chainrule predict``: use a trained checkpoint."""
import os

import numpy as np

from chainrule.core.grad_mode import no_grad
from chainrule.cli.common import (CheckpointError, EXIT_OK, UsageError, load_data,
                                  model_from_checkpoint, positive_int)
from chainrule.train.factory import make_loss
from chainrule.train.recipes import get_recipe, transform_inputs
from chainrule.train.trainer import Trainer

__all__ = ["add_parsers", "run_eval", "run_predict", "read_inputs", "check_inputs"]


def add_parsers(sub):
    e = sub.add_parser("eval", help="evaluate a checkpoint on its dataset's test data",
                       description="Rebuild the model saved in CHECKPOINT and report loss "
                       "and metrics on the test split (the validation split for datasets "
                       "without labeled test data); perplexity for language models; corpus "
                       "BLEU on the held-out split for translation models.")
    e.add_argument("checkpoint")
    e.add_argument("--data", help="dataset (default: the one it was trained on)")
    e.add_argument("--batch-size", type=int, default=256)
    e.add_argument("--limit", type=positive_int, help="translation: score the first N "
                   "pairs of the held-out split (default: all)")
    e.add_argument("--beam", type=positive_int, help="translation: beam search of this "
                   "width (default: greedy)")
    e.set_defaults(func=run_eval)
    p = sub.add_parser("predict", help="predict with a checkpoint on .npy or .csv inputs",
                       description="Print the predicted class (with probabilities) or value "
                       "for each sample.  INPUT is a .npy file holding one sample or a "
                       "batch, or a CSV file with one sample per row (a header row is "
                       "skipped).  Samples are in the dataset's raw form: 28x28 uint8 "
                       "(or [0, 1] float) images for MNIST, 8x8 floats in [0, 1] for "
                       "digits, preprocessed feature rows for tables.")
    p.add_argument("checkpoint")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--top-k", type=int, default=3, help="probabilities shown per sample")
    p.add_argument("--no-check", action="store_true", help="skip the check that the "
                   "inputs are in the value range the model was trained on")
    p.set_defaults(func=run_predict)


def run_eval(args):
    model, ckpt = model_from_checkpoint(args.checkpoint)
    meta = ckpt["meta"]
    if meta.get("task") == "language_model":  # perplexity: chainrule/cli/train_lm.py
        from chainrule.cli import train_lm
        return train_lm.run_eval(args, model, ckpt)
    if meta.get("task") == "translation":  # BLEU: chainrule/cli/translation.py
        from chainrule.cli import translation
        return translation.run_eval(args, model, ckpt)
    data = args.data or meta.get("dataset")
    if not data:
        raise UsageError(f"{args.checkpoint} does not name its dataset; pass --data")
    train_args = meta.get("train_args") or {}
    split = train_args.get("val_fraction")
    bundle = load_data(data, batch_size=args.batch_size, val_fraction=split, train=False)
    _check_fit(meta, bundle, data)
    loader, name = ((bundle.test_loader, "test") if bundle.test_loader is not None else
                    (bundle.val_loader, "test" if bundle.recipe.test_split else "validation"))
    loss_fn = make_loss(bundle.task, train_args.get("label_smoothing") or 0.0)
    trainer = Trainer(model, loss_fn, metrics=bundle.recipe.metrics)
    result = trainer.evaluate(loader)
    shown = "  ".join(f"{k} {v:.4f}" for k, v in result.items())
    print(f"{meta['model']} on {data} ({name}, {len(loader.dataset)} samples, epoch "
          f"{ckpt['epoch']}): {shown}")
    return EXIT_OK


def _check_fit(meta, bundle, data):
    if meta.get("task") and meta["task"] != bundle.task:
        raise UsageError(f"the checkpoint holds a {meta['task']} model but {data!r} is a "
                         f"{bundle.task} dataset")
    shape = meta.get("input_shape")
    if shape is not None and tuple(shape) != tuple(bundle.input_shape):
        raise UsageError(f"the checkpoint's model takes inputs of shape {tuple(shape)} but "
                         f"{data!r} has samples of shape {tuple(bundle.input_shape)}")
    classes = meta.get("classes")
    if classes and len(classes) != bundle.num_outputs:
        raise UsageError(f"the checkpoint's model has {len(classes)} classes but {data!r} "
                         f"has {bundle.num_outputs}")


NPY_MAGIC = b"\x93NUMPY"
FORMATS = ("expected a .npy file (numpy.save) or a UTF-8 CSV file of comma-separated "
           "numbers, one sample per row")


def read_inputs(path):
    """A NumPy array from a ``.npy`` file or a CSV of numeric rows (header skipped);
    a file of another format, or one that holds no samples, is a :class:`UsageError`
    naming the file and the format expected."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such input file: {path}")
    with open(path, "rb") as f:
        head = f.read(len(NPY_MAGIC))
    if path.endswith(".npy") or head == NPY_MAGIC:
        a = _read_npy(path, head)
    else:
        a = _read_csv(path)
    if a.size == 0:
        raise UsageError(f"{path}: holds no samples (an empty array of shape {a.shape})")
    return a


def _read_npy(path, head):
    if head != NPY_MAGIC:
        raise UsageError(f"{path}: not a .npy file (it does not start with NumPy's "
                         f"header; {FORMATS})")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e):
            raise UsageError(f"{path}: holds Python objects, not numbers ({FORMATS})") \
                from None
        raise UsageError(f"{path}: can't read it as a .npy array: {e}") from None


def _read_csv(path):
    try:
        with open(path, encoding="utf-8") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text (byte {e.start} is 0x{e.object[e.start]:02x}); "
                         f"{FORMATS}") from None
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append([float(v) for v in line.split(",")])
        except ValueError:
            if i == 0:
                continue  # a header row
            raise UsageError(f"{path}: line {i + 1} is not comma-separated numbers "
                             f"({FORMATS})") from None
    if rows and len({len(r) for r in rows}) != 1:
        raise UsageError(f"{path}: expected rows of the same number of values")
    return np.asarray(rows, dtype=np.float32)


def check_inputs(path, a, raw):
    """Refuse what the model was not trained on: non-finite values, and (when the
    checkpoint records it) values far outside the training data's range."""
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        bad = int(np.size(a) - np.isfinite(a).sum())
        raise UsageError(f"{path}: {bad} of {a.size} values are NaN or infinite; predict "
                         f"needs finite numbers")
    lo, hi = raw.get("min"), raw.get("max")
    if lo is None or hi is None or a.dtype.kind not in "uif":
        return
    margin = 0.25 * (hi - lo)
    if a.min() < lo - margin or a.max() > hi + margin:
        raise UsageError(f"{path}: values {a.min():g}..{a.max():g} ({a.dtype}) are far "
                         f"outside the {lo:g}..{hi:g} ({raw.get('dtype')}) the model was "
                         f"trained on; rescale them (e.g. pixels / 255) or pass --no-check")


def run_predict(args):
    model, ckpt = model_from_checkpoint(args.checkpoint)
    meta = ckpt["meta"]
    if not meta.get("dataset") or not (meta.get("raw_input") or meta.get("input_shape")):
        raise CheckpointError(f"can't read checkpoint {args.checkpoint}: it does not say "
                              f"which dataset or input shape its model takes")
    recipe = get_recipe(meta["dataset"])
    raw = meta.get("raw_input") or {"shape": meta["input_shape"], "tensor": True,
                                    "dtype": "float32"}
    for path in args.inputs:
        a = read_inputs(path)
        if not args.no_check:
            check_inputs(path, a, raw)
        try:
            x = transform_inputs(recipe, raw, a)
        except ValueError as e:
            raise UsageError(f"{path}: {e}") from None
        with no_grad():
            out = model(x).numpy()
        for i, row in enumerate(out):
            print(f"{path}[{i}]: " + (_describe_class(row, meta.get("classes"), args.top_k)
                                      if meta.get("task") == "classification"
                                      else _describe_value(row, recipe)))
    return EXIT_OK


def _describe_class(logits, classes, top_k):
    z = logits.astype(np.float64) - logits.max()
    p = np.exp(z) / np.exp(z).sum()
    order = np.argsort(-p)[:max(1, top_k)]
    name = (lambda c: classes[c] if classes and c < len(classes) else str(c))
    best = order[0]
    rest = ", ".join(f"{name(c)} {p[c]:.3f}" for c in order)
    return f"class {best} ({name(best)}) p={p[best]:.3f}  [top: {rest}]"


def _describe_value(values, recipe):
    v = np.asarray(values, np.float64)
    if recipe.invert_target is not None:
        v = recipe.invert_target(v)
    return f"{recipe.target_name} " + ", ".join(f"{x:.6g}" for x in v.reshape(-1))
