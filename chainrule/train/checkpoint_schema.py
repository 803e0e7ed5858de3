"""What a training checkpoint must look like before anything is built from it.

:func:`check_checkpoint` checks the decoded file (``chainrule.load`` has already
checked the bytes: every tensor's dtype, shape and byte range) against the layout
:func:`~chainrule.train.checkpoint.save_checkpoint` writes, and bounds the model that
``meta`` asks for: chainrule rebuilds a model from ``meta['model_kwargs']``, so a
crafted file could ask for ``num_classes=10**10`` (9.3 TiB).  The bound:

* every whole number in the model's options is at most ``MAX_SIZE`` (2**24);
* an ``input_shape`` holds at most ``MAX_INPUT`` (2**24) values;
* the sizes, sorted from the largest, multiplied pairwise along the chain
  (``s0*s1 + s1*s2 + ...``, what a stack of layers of those widths holds), plus each
  vocabulary size (an option named ``*vocab_size``) times the largest other size (an
  embedding or output table: two vocabularies never make one matrix), stay within
  ``16 * (the number of weights stored in the file) + 65536``.

A real checkpoint's options describe the weights it stores, so it passes with room to
spare; the model's memory stays within a small multiple of the file's size.
"""
import math
import numbers

from chainrule.core.tensor import Tensor

__all__ = ["check_checkpoint", "check_model_size", "MAX_SIZE", "MAX_INPUT"]

MAX_SIZE = 2 ** 24
MAX_INPUT = 2 ** 24
MAX_EPOCH = 10 ** 9


class SchemaError(ValueError):
    """What is wrong with a checkpoint's content (the caller names the file)."""


def _whole(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _expect(ok, what):
    if not ok:
        raise SchemaError(what)


def _opt_dict(ckpt, key):
    v = ckpt.get(key)
    _expect(v is None or isinstance(v, dict), f"{key!r} is a {type(v).__name__}, not a dict")


def check_checkpoint(ckpt):
    """Raise :class:`SchemaError` unless ``ckpt`` has the layout of a training
    checkpoint and its model is within the size bound."""
    epoch = ckpt["epoch"]
    _expect(_whole(epoch) and 0 <= epoch <= MAX_EPOCH,
            f"'epoch' is {str(epoch)[:30]!r}, not a whole number in [0, {MAX_EPOCH}]")
    model = ckpt["model"]
    _expect(isinstance(model, dict) and all(isinstance(k, str) and isinstance(v, Tensor)
                                            for k, v in model.items()),
            "'model' is not a state_dict (names to tensors)")
    for key in ("optimizer", "scheduler", "meta", "callbacks", "rng"):
        _opt_dict(ckpt, key)
    history = ckpt.get("history")
    _expect(history is None or (isinstance(history, list) and all(
        isinstance(r, dict) for r in history)), "'history' is not a list of dicts")
    for name, state in (ckpt.get("callbacks") or {}).items():
        _expect(isinstance(state, dict), f"callback state {name!r} is not a dict")
        for k in ("best", "wait", "best_epoch"):
            v = state.get(k)
            _expect(v is None or (isinstance(v, numbers.Real) and not isinstance(v, bool)),
                    f"callback state {name}.{k} is {str(v)[:30]!r}, not a number")
    _check_meta(ckpt.get("meta") or {}, sum(t.numel() for t in model.values()))


def _check_meta(meta, stored):
    for key in ("model", "dataset", "task", "token", "chainrule"):
        v = meta.get(key)
        _expect(v is None or isinstance(v, str), f"meta[{key!r}] is not a string")
    for key in ("model_kwargs", "train_args", "raw_input", "vocab", "src_vocab", "tgt_vocab"):
        v = meta.get(key)
        _expect(v is None or isinstance(v, dict), f"meta[{key!r}] is not a dict")
    classes = meta.get("classes")
    _expect(classes is None or (isinstance(classes, list) and all(
        isinstance(c, str) for c in classes)), "meta['classes'] is not a list of names")
    shape = meta.get("input_shape")
    _expect(shape is None or _shape(shape), "meta['input_shape'] is not a list of sizes")
    raw = meta.get("raw_input") or {}
    _expect(raw.get("shape") is None or _shape(raw["shape"]),
            "meta['raw_input']['shape'] is not a list of sizes")
    _expect(raw.get("dtype") is None or raw["dtype"] in _RAW_DTYPES,
            f"meta['raw_input']['dtype'] is {str(raw.get('dtype'))[:20]!r}")
    _expect(all(isinstance(raw.get(k), (float, int, type(None))) and not isinstance(
        raw.get(k), bool) for k in ("min", "max")), "meta['raw_input'] min/max not numbers")
    train_args = meta.get("train_args") or {}
    margs = train_args.get("model_args")
    _expect(margs is None or isinstance(margs, dict),
            "meta['train_args']['model_args'] is not a dict")
    kwargs = meta.get("model_kwargs") or {}
    check_model_size(kwargs, stored)
    check_model_size({**kwargs, **(margs or {})}, stored)  # what a resume builds


_RAW_DTYPES = ("uint8", "int8", "int16", "int32", "int64", "uint16", "float16", "float32",
               "float64", "bool")


def _shape(v):
    return (isinstance(v, (list, tuple)) and len(v) <= 8
            and all(_whole(d) and 0 < d <= MAX_INPUT for d in v))


def _sizes(v):
    """Every whole number in a (nested) option value; a float counts as the size a
    builder's ``int()`` would make of it (``num_classes=3.7e16`` is 37 quadrillion,
    not a harmless float), and a non-finite float as out of range."""
    if _whole(v):
        yield int(v)
    elif isinstance(v, numbers.Real) and not isinstance(v, bool):
        v = float(v)
        yield int(v) if math.isfinite(v) else MAX_SIZE + 1
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from _sizes(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from _sizes(x)


def check_model_size(kwargs, stored):
    """Raise :class:`SchemaError` when model options ``kwargs`` ask for more than the
    bound (module docstring) allows for a file storing ``stored`` weights."""
    sizes, vocabs = [], []
    for key, v in kwargs.items():
        if key == "input_shape":
            _expect(_shape(v), f"model option input_shape={str(v)[:40]} is not a list of "
                    f"at most 8 sizes in [1, {MAX_INPUT}]")
            n = 1
            for d in v:
                n *= d
            _expect(n <= MAX_INPUT, f"model option input_shape={v} holds {n} values "
                    f"(at most {MAX_INPUT})")
            continue
        for s in _sizes(v):
            _expect(-1 <= s <= MAX_SIZE, f"model option {key}={str(s)[:30]} is outside "
                    f"[-1, {MAX_SIZE}]")
            (vocabs if key.endswith("vocab_size") else sizes).append(s)
    sizes.sort(reverse=True)
    chain = sum(a * b for a, b in zip(sizes, sizes[1:]))
    chain += sum(v * max(sizes[:1] or [1]) for v in vocabs)
    limit = 16 * stored + 65536
    _expect(chain <= limit, f"the model options ask for about {chain:,} weights but the "
            f"file stores {stored:,} (at most {limit:,} allowed)")
