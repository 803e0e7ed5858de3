"""Translation from the command line: the flags of ``chainrule train
seq2seq|seq2seq-attention|transformer --data fra-eng``, ``chainrule translate
CHECKPOINT "i lost ."`` and ``chainrule eval`` of a translation checkpoint (corpus BLEU
on the held-out split).

A translation checkpoint holds the model's options and both vocabularies, so it is
all these commands need; ``train_args.num_steps`` is the sentence length it was
trained with.
"""
from chainrule.cli.common import EXIT_OK, UsageError, model_from_checkpoint, positive_int
from chainrule.text.translation import preprocess_nmt
from chainrule.train.checkpoint import CheckpointError
from chainrule.train.nmt import pads_source, score_held_out, translate
from chainrule.train.nmt_recipes import held_out_pairs
from chainrule.train.run import resumed_vocabs

__all__ = ["add_arguments", "add_parser", "run_translate", "run_eval"]

TRAIN_ONE = "train one with `chainrule train transformer --data fra-eng`"


def add_arguments(p):
    """The translation options of ``chainrule train`` (--num-steps, --hidden-size,
    --embed-size, --num-layers and --dropout are shared with language models)."""
    g = p.add_argument_group("translation (--data fra-eng: seq2seq, seq2seq-attention, "
                             "transformer)")
    g.add_argument("--max-examples", type=int, help="train on the first N training pairs "
                   "(default 600, d2l's; -1: all)")
    g.add_argument("--bucket", action="store_true", default=None,
                   help="batch pairs of similar length, each batch cut to its longest "
                   "pair (less padding; d2l pads every pair to --num-steps)")
    g.add_argument("--ffn-hidden-size", type=int, help="transformer feed-forward width")
    g.add_argument("--num-heads", type=int, help="transformer attention heads")


def add_parser(sub):
    p = sub.add_parser("translate", help="translate English sentences with a trained "
                       "translation model",
                       description="Translate each SENTENCE (English; lower-cased and "
                       "spaced before punctuation as in training) with the model in "
                       "CHECKPOINT (written by `chainrule train seq2seq|seq2seq-attention|"
                       "transformer --data fra-eng`): greedy decoding, or beam search with "
                       "--beam.")
    p.add_argument("checkpoint", help="a .ckpt file of a translation run")
    p.add_argument("sentences", nargs="+", metavar="SENTENCE")
    p.add_argument("--beam", type=positive_int, help="beam search of this width "
                   "(default: greedy)")
    p.set_defaults(func=run_translate)
    return p


def load_translator(path, model=None, ckpt=None):
    """``(model, checkpoint, src_vocab, tgt_vocab, num_steps)`` of a translation
    checkpoint; another kind of checkpoint is a :class:`CheckpointError`."""
    if model is None:
        model, ckpt = model_from_checkpoint(path)
    meta = ckpt.get("meta") or {}
    if meta.get("task") != "translation":
        raise CheckpointError(f"{path} holds a {meta.get('task') or 'non-translation'} "
                              f"model ({meta.get('model')!r}), not a translation model; "
                              f"{TRAIN_ONE}")
    src, tgt = resumed_vocabs(path, meta)
    steps = (meta.get("train_args") or {}).get("num_steps")
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= 10000:
        raise CheckpointError(f"can't read checkpoint {path}: its train_args.num_steps is "
                              f"{str(steps)[:20]!r} (a sentence length in [1, 10000])")
    return model, ckpt, src, tgt, steps


def run_translate(args):
    model, ckpt, src, tgt, steps = load_translator(args.checkpoint)
    pad = pads_source(ckpt["meta"])
    for sentence in args.sentences:
        text = preprocess_nmt(" ".join(sentence.split()))
        if not text:
            raise UsageError("got an empty sentence to translate")
        print(translate(model, text, src, tgt, steps, beam=args.beam, pad_source=pad))
    return EXIT_OK


def run_eval(args, model, ckpt):
    """``chainrule eval`` of a translation checkpoint: corpus BLEU of its translations
    of the held-out split (``split_pairs``, seed 0; the first ``--limit`` pairs)."""
    model, ckpt, src, tgt, steps = load_translator(args.checkpoint, model, ckpt)
    try:
        pairs = held_out_pairs()
    except (RuntimeError, OSError) as e:
        raise UsageError(f"can't load dataset 'fra-eng': {e}") from None
    if args.limit is not None:
        pairs = pairs[:args.limit]
    if not pairs:
        raise UsageError("the held-out split of fra-eng/fra.txt holds no pairs")
    score = score_held_out(model, pairs, src, tgt, steps, beam=args.beam,
                           pad_source=pads_source(ckpt["meta"]))
    how = f"beam {args.beam}" if args.beam else "greedy"
    print(f"{ckpt['meta']['model']} on fra-eng (held-out split, {len(pairs)} pairs, "
          f"{how}, epoch {ckpt['epoch']}): BLEU {score:.2f}")
    return EXIT_OK
