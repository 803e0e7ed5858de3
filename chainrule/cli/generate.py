"""``chainrule generate CHECKPOINT --prefix TEXT``: continue a prefix with a trained
language model (the checkpoint holds the model and its vocabulary)."""
from chainrule.cli.common import EXIT_OK, UsageError, model_from_checkpoint, positive_float, \
    positive_int
from chainrule.text.generate import generate
from chainrule.text.vocab import Vocab
from chainrule.train.checkpoint import CheckpointError

__all__ = ["add_parser", "run"]


def _unit_float(text):
    import argparse
    v = positive_float(text)
    if v > 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return v


def add_parser(sub):
    p = sub.add_parser("generate", help="generate text with a trained language model",
                       description="Continue --prefix by --length tokens with the language "
                       "model in CHECKPOINT (written by `chainrule train MODEL --data "
                       "timemachine|jaychou|ptb|wikitext2`).  Sampling by default; "
                       "--greedy for arg-max decoding.")
    p.add_argument("checkpoint", help="a .ckpt file from `chainrule train`")
    p.add_argument("--prefix", default="", help="text to continue (characters or words, "
                   "as the model was trained; e.g. 'time traveller' or 分开)")
    p.add_argument("--length", type=positive_int, default=100, help="tokens to generate")
    p.add_argument("--temperature", type=positive_float, default=1.0)
    p.add_argument("--top-k", type=positive_int, help="sample among the k most likely tokens")
    p.add_argument("--top-p", type=_unit_float, help="nucleus sampling with mass p")
    p.add_argument("--greedy", action="store_true", help="always take the most likely token")
    p.add_argument("--seed", type=int, default=None, help="seed of the sampler")
    p.add_argument("--num-samples", type=positive_int, default=1)
    p.set_defaults(func=run)
    return p


def run(args):
    model, ckpt = model_from_checkpoint(args.checkpoint)
    meta = ckpt.get("meta") or {}
    if meta.get("task") != "language_model" or "vocab" not in meta:
        raise CheckpointError(f"{args.checkpoint} does not hold a language model with its "
                              "vocabulary (train one with `chainrule train lstm-lm --data "
                              "timemachine`)")
    vocab = Vocab.from_state_dict(meta["vocab"])
    token = meta.get("token", "char")
    if not args.prefix and vocab.bos is None:
        raise UsageError("give --prefix (this vocabulary has no <bos> to start from)")
    if not getattr(model, "causal", True):
        raise UsageError(f"{meta.get('model')} is bidirectional (a fill-in-the-blank "
                         "scorer): it cannot generate left to right")
    for i in range(args.num_samples):
        seed = None if args.seed is None else args.seed + i
        print(generate(model, vocab, args.prefix, args.length, greedy=args.greedy,
                       temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                       seed=seed, token=token))
    return EXIT_OK
