"""The language-model flags of ``chainrule train`` (``chainrule train lstm-lm --data
timemachine``) and ``chainrule eval`` of a language-model checkpoint.

A run is a language-model run when ``--data`` is a text corpus (timemachine, jaychou,
ptb, wikitext2) or a language model is named without data; the
:class:`~chainrule.train.RunConfig` decides, and :func:`chainrule.train.train` trains
it: perplexity per epoch, gradient clipping, the hidden state reset per batch
(``--batch-mode random``) or carried and detached (``sequential``, truncated BPTT);
checkpoints hold the vocabulary, so ``chainrule generate CHECKPOINT`` needs nothing else.
"""
from chainrule.cli.common import EXIT_OK, UsageError
from chainrule.text.batching import LMDataLoader
from chainrule.text.corpora import get_corpus_class
from chainrule.text.vocab import Vocab
from chainrule.train.lm import evaluate_lm
from chainrule.train.lm_recipes import get_lm_recipe

__all__ = ["add_arguments", "run_eval"]


def add_arguments(p):
    """The language-model options of ``chainrule train``."""
    g = p.add_argument_group("language models (--data timemachine|jaychou|ptb|wikitext2)")
    g.add_argument("--num-steps", type=int, help="tokens per sequence (BPTT length)")
    g.add_argument("--batch-mode", help="random sampling (state reset per batch) or sequential "
                   "partitioning (state carried, detached)")
    g.add_argument("--hidden-size", type=int, help="recurrent units")
    g.add_argument("--num-layers", type=int, help="stacked recurrent layers")
    g.add_argument("--embed-size", type=int, help="embedding width (0: one-hot)")
    g.add_argument("--tie-weights", action="store_true", default=None,
                   help="share decoder and embedding weights")
    g.add_argument("--max-tokens", type=int, help="train on the first N tokens")
    g.add_argument("--channels", type=int, help="wavenet-lm residual channels")
    g.add_argument("--num-blocks", type=int, help="wavenet-lm dilation stacks")
    g.add_argument("--init-range", type=float, help="U(-r, r) initialization")


def run_eval(args, model, ckpt):
    """``chainrule eval`` of a language-model checkpoint: perplexity on the test split
    (PTB, WikiText-2) or on the training text (character corpora), encoded with the
    checkpoint's vocabulary, read sequentially with the state carried."""
    meta = ckpt["meta"]
    data = args.data or meta.get("dataset")
    recipe = get_lm_recipe(data)
    split = "test" if "test" in recipe.splits else "train"
    mt = (meta.get("train_args") or {}).get("max_tokens")
    mt = recipe.max_tokens if mt is None else mt
    try:
        c = get_corpus_class(data)(split=split, token=recipe.token, vocab=Vocab.from_state_dict(
            meta["vocab"]), max_tokens=mt if split == "train" else -1)
    except (RuntimeError, OSError) as e:
        raise UsageError(f"can't load corpus {data!r}: {e}") from None
    loader = LMDataLoader(c.corpus, min(10, max(1, len(c.corpus) // 40)), 35,
                          mode="sequential", shuffle_offset=False)
    ppl = evaluate_lm(model, loader, carry_state=getattr(model, "causal", True))
    print(f"{meta['model']} on {data} ({split}, {loader.num_tokens} tokens, epoch "
          f"{ckpt['epoch']}): ppl {ppl:.4f}")
    return EXIT_OK
