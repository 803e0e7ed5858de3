"""``chainrule embed``: train word vectors and query them.

    chainrule embed train --model skipgram --data ptb --out ptb.bin
    chainrule embed train --model skipgram --data ptb --recipe d2l --out d2l.bin
    chainrule embed neighbors VECTORS chip
    chainrule embed analogy VECTORS man king woman
    chainrule embed eval VECTORS

VECTORS is a word2vec text or binary file (what gensim's KeyedVectors reads).
"""
import json
import os

from chainrule.cli.common import EXIT_OK, UsageError

__all__ = ["add_parser", "run"]

MODELS = ("skipgram", "cbow", "glove", "fasttext")
DATA = {"ptb": "ptb", "wikitext-2": "wikitext2", "wikitext2": "wikitext2"}


def add_parser(sub):
    e = sub.add_parser("embed", help="word vectors: train (word2vec), neighbors, analogy, eval",
                       description=__doc__.split("\n\n")[0] + " See docs/embeddings.md.")
    esub = e.add_subparsers(dest="embed_command", metavar="SUBCOMMAND")
    t = esub.add_parser("train", help="train word2vec on ptb or wikitext-2")
    t.add_argument("--model", default="skipgram", help=f"one of {', '.join(MODELS)}")
    t.add_argument("--data", dest="corpus", default="ptb", help="ptb or wikitext-2")
    t.add_argument("--loss", default="ns", choices=("ns", "hs"),
                   help="negative sampling or hierarchical softmax")
    t.add_argument("--recipe", default="gensim", choices=("gensim", "d2l"),
                   help="gensim: linear-decay SGD as word2vec.c/gensim (default); d2l: "
                   "d2l's PTB skip-gram NS with Adam (--model skipgram --data ptb only)")
    t.add_argument("--dim", type=int, default=100)
    t.add_argument("--window", type=int, default=None,
                   help="context window (default 5; GloVe 10)")
    t.add_argument("--bucket", type=int, default=200_000,
                   help="fastText: n-gram hash buckets")
    t.add_argument("--x-max", type=float, default=100.0, help="GloVe: x_max")
    t.add_argument("--negative", type=int, default=5)
    t.add_argument("--min-count", type=int, default=5)
    t.add_argument("--sample", type=float, default=1e-3)
    t.add_argument("--epochs", type=int, default=None, help="default 5; GloVe 15")
    t.add_argument("--alpha", type=float, default=None,
                   help="start learning rate (default 0.025; GloVe's AdaGrad 0.05)")
    t.add_argument("--workers", type=int, default=1,
                   help="word2vec: chunks stepped at once by that many forked processes (Hogwild "
                        "on shared tables, as gensim's workers; 1 is reproducible)")
    t.add_argument("--batch-words", type=int, default=250,
                   help="kept tokens per fused SGD step (word2vec, fastText)")
    t.add_argument("--shared-negatives", choices=("on", "off"), default=None,
                   help="skip-gram NS: the context words of a center share its noise "
                        "words (default on; off: word2vec.c's draw per pair)")
    t.add_argument("--lr", type=float, default=0.002, help="Adam's lr (d2l recipe)")
    t.add_argument("--batch-size", type=int, default=512, help="batch size (d2l recipe)")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--max-sentences", type=int, default=None,
                   help="train on the first N lines only (quick runs)")
    t.add_argument("--out", required=True, help="vectors file (.bin: binary, else text); "
                   "the loss history (.json) and curve (.png) are written next to it")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=run_train)
    n = esub.add_parser("neighbors", help="cosine nearest neighbours of words")
    n.add_argument("vectors")
    n.add_argument("words", nargs="+")
    n.add_argument("-k", "--topn", type=int, default=10)
    n.set_defaults(func=run_neighbors)
    a = esub.add_parser("analogy", help="a : b :: c : ?  (man king woman -> queen)")
    a.add_argument("vectors")
    a.add_argument("a")
    a.add_argument("b")
    a.add_argument("c")
    a.add_argument("-k", "--topn", type=int, default=5)
    a.add_argument("--method", default="3cosadd", choices=("3cosadd", "3cosmul"))
    a.set_defaults(func=run_analogy)
    v = esub.add_parser("eval", help="wordsim353 Spearman and Google analogy accuracy")
    v.add_argument("vectors")
    v.add_argument("--analogies", help="questions-words.txt (default: "
                   "$CHAINRULE_DATA/analogy/questions-words.txt)")
    v.add_argument("--wordsim", help="wordsim353.tsv (default: "
                   "$CHAINRULE_DATA/analogy/wordsim353.tsv)")
    v.add_argument("--restrict-vocab", type=int, default=300000)
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.set_defaults(func=run_eval)
    e.set_defaults(func=lambda args: (e.print_help(), EXIT_OK)[1])


def run(args):  # pragma: no cover - dispatch is by func
    return args.func(args)


def _load(path):
    from chainrule.text.wordvectors import WordVectors
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such vectors file")
    try:
        return WordVectors.load_word2vec_format(path)
    except (ValueError, UnicodeDecodeError) as err:
        raise UsageError(f"{path}: not a word2vec text or binary file ({err})") from None


def _lookup(kv, word):
    if word not in kv:
        import difflib
        hint = ", ".join(difflib.get_close_matches(word, kv.words[:20000], n=3))
        raise UsageError(f"word {word!r} is not in the vocabulary ({len(kv)} words)"
                         + (f"; did you mean {hint}?" if hint else ""))
    return word


def run_neighbors(args):
    kv = _load(args.vectors)
    for w in args.words:
        _lookup(kv, w)
        print(f"{w}:")
        for other, sim in kv.most_similar(w, topn=args.topn):
            print(f"  {other:<20} {sim:.3f}")
    return EXIT_OK


def run_analogy(args):
    kv = _load(args.vectors)
    for w in (args.a, args.b, args.c):
        _lookup(kv, w)
    print(f"{args.a} : {args.b} :: {args.c} : ?  ({args.method})")
    for w, s in kv.analogy(args.a, args.b, args.c, topn=args.topn, method=args.method):
        print(f"  {w:<20} {s:.3f}")
    return EXIT_OK


def _data_file(given, name):
    if given:
        return given
    root = os.environ.get("CHAINRULE_DATA")
    path = os.path.join(root, "analogy", name) if root else None
    if not path or not os.path.exists(path):
        raise UsageError(f"{name} not found: pass its path or set CHAINRULE_DATA to a folder "
                         f"holding analogy/{name}")
    return path


def run_eval(args):
    kv = _load(args.vectors)
    ws = kv.evaluate_word_pairs(_data_file(args.wordsim, "wordsim353.tsv"))
    qw = _data_file(args.analogies, "questions-words.txt")
    out = {"wordsim353": ws}
    for m in ("3cosadd", "3cosmul"):
        r = kv.evaluate_analogies(qw, restrict_vocab=args.restrict_vocab, method=m)
        out[m] = {k: v for k, v in r.items() if k != "sections"}
    if args.json:
        print(json.dumps(out))
        return EXIT_OK
    print(f"wordsim353: Spearman {ws['spearman']:.4f} (Pearson {ws['pearson']:.4f}) on "
          f"{ws['pairs']} pairs, {ws['oov']} skipped (unknown words)")
    for m in ("3cosadd", "3cosmul"):
        r = out[m]
        print(f"analogies {m}: accuracy {r['accuracy']:.4f} ({r['correct']}/{r['total']}), "
              f"coverage {r['coverage']:.1%} of {r['questions']} questions")
    return EXIT_OK


def run_train(args):
    from chainrule.text.word2vec import EmbeddingCorpus, load_data_ptb, read_sentences
    from chainrule.text.wordvectors import WordVectors
    from chainrule.train.embed import (train_d2l_sgns, train_fasttext, train_glove,
                                       train_word2vec)
    from chainrule.train.plots import plot_history
    if args.model not in MODELS:
        raise UsageError(f"unknown model {args.model!r}: choose one of {', '.join(MODELS)}")
    corpus_name = DATA.get(args.corpus.lower())
    if corpus_name is None:
        raise UsageError(f"unknown data {args.corpus!r}: choose ptb or wikitext-2")
    glove = args.model == "glove"
    args.window = args.window or (10 if glove else 5)
    args.epochs = args.epochs or (15 if glove else 5)
    args.alpha = args.alpha or (0.05 if glove else 0.025)
    for k in ("dim", "window", "epochs", "min_count", "batch_words", "batch_size"):
        if getattr(args, k) < 1:
            raise UsageError(f"--{k.replace('_', '-')} must be >= 1, got {getattr(args, k)}")
    if args.shared_negatives == "on" and (args.model != "skipgram" or args.loss != "ns"):
        raise UsageError("--shared-negatives is for skip-gram with negative sampling "
                         "(--model skipgram --loss ns)")
    progress = not args.no_progress
    sentences = read_sentences(corpus_name, "train")
    if args.max_sentences is not None:
        sentences = sentences[:args.max_sentences]
    if args.recipe == "d2l":
        if args.model != "skipgram" or corpus_name != "ptb" or args.loss != "ns":
            raise UsageError("--recipe d2l is d2l's skip-gram NS on PTB: use --model "
                             "skipgram --data ptb --loss ns")
        loader, vocab = load_data_ptb(args.batch_size, args.window, args.negative,
                                      seed=args.seed, sentences=sentences)
        model, hist = train_d2l_sgns(loader, len(vocab), args.dim, args.lr, args.epochs,
                                     seed=args.seed, progress=progress, log=print)
        words = list(vocab.idx_to_token)
    else:
        try:
            corpus = EmbeddingCorpus(sentences, args.min_count)
        except ValueError as err:
            raise UsageError(str(err)) from None
        print(f"{corpus_name}: {corpus}")
        if args.model in ("glove", "fasttext"):
            model = hist = None
        else:
            model, hist = train_word2vec(
                corpus, sg=args.model == "skipgram", hs=args.loss == "hs",
                vector_size=args.dim, window=args.window, negative=args.negative,
                epochs=args.epochs, alpha=args.alpha, sample=args.sample,
                batch_words=args.batch_words, seed=args.seed, workers=args.workers,
                progress=progress, log=print, shared_negatives=None
                if args.shared_negatives is None else args.shared_negatives == "on")
        words = corpus.idx_to_token
    kv = None
    if args.recipe == "gensim" and glove:
        model, hist = train_glove(corpus, args.dim, args.window, args.x_max, lr=args.alpha,
                                  epochs=args.epochs, seed=args.seed, progress=progress,
                                  log=print)
    elif args.recipe == "gensim" and args.model == "fasttext":
        model, hist, kv = train_fasttext(corpus, args.dim, args.window, args.negative,
                                         args.epochs, args.alpha, sample=args.sample,
                                         bucket=args.bucket, batch_words=args.batch_words,
                                         seed=args.seed, progress=progress, log=print)
    kv = kv or WordVectors(words, model.vectors)
    kv.save_word2vec_format(args.out, binary=args.out.endswith(".bin"))
    stem = os.path.splitext(args.out)[0]
    with open(stem + ".history.json", "w") as f:
        json.dump(hist, f, indent=1)
    try:
        plot_history(hist, stem + ".loss.png", title=f"{args.model} {args.loss} on "
                     f"{args.corpus}")
        curve = f", loss curve {stem}.loss.png"
    except ImportError:  # matplotlib missing
        curve = ""
    print(f"wrote {args.out} ({len(kv)} words x {args.dim}){curve}")
    return EXIT_OK
