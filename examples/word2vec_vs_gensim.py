"""Train chainrule's word2vec and gensim 4.x on the same WikiText-2 tokens and settings,
and compare wordsim353 Spearman and Google-analogy accuracy (3CosAdd, gensim's
restrict_vocab=300000, case-insensitive) - the numbers in docs/embeddings.md.

    CHAINRULE_DATA=/work/shared/data nice -n 10 python examples/word2vec_vs_gensim.py \
        --model sg-ns --epochs 5 --out results/

Both get: the train split's lines (empty lines dropped) split on whitespace,
min_count 5, vector_size 100, window 5, negative 5 (NS) or hs=1 (HS), sample 1e-3,
alpha 0.025 -> 0.0001, workers 1.  gensim is a test/benchmark dependency only.
"""
import argparse
import json
import os
import time

from chainrule.text.word2vec import EmbeddingCorpus, read_sentences
from chainrule.text.wordvectors import WordVectors
from chainrule.train.embed import train_fasttext, train_glove, train_word2vec

MODELS = {"sg-ns": (True, False), "cbow-ns": (False, False), "sg-hs": (True, True),
          "fasttext": (True, False), "glove": (None, None)}


def evaluate(kv, data):
    ws = kv.evaluate_word_pairs(os.path.join(data, "analogy", "wordsim353.tsv"))
    an = kv.evaluate_analogies(os.path.join(data, "analogy", "questions-words.txt"))
    return {"wordsim353_spearman": ws["spearman"], "wordsim353_pairs": ws["pairs"],
            "analogy_acc": an["accuracy"], "analogy_answered": an["total"],
            "analogy_coverage": an["coverage"]}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", choices=sorted(MODELS), default="sg-ns")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-words", type=int, default=250)
    p.add_argument("--skip-gensim", action="store_true")
    p.add_argument("--row-cap", default="auto",
                   help="train_word2vec's row_cap: auto (32 for HS, none for NS), none or N")
    p.add_argument("--bucket", type=int, default=200_000, help="fastText hash buckets")
    p.add_argument("--skip-ours", action="store_true")
    p.add_argument("--out", default=".")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of both trainings (gensim's seed=, ours); files get -seedN when not 1")
    p.add_argument("--shared-negatives", choices=("on", "off"), default=None,
                   help="skip-gram NS: one set of negatives per center's window "
                        "(train_word2vec's default when not given)")
    p.add_argument("--workers", type=int, default=1,
                   help="our train_word2vec's workers (Hogwild processes); gensim keeps 1")
    p.add_argument("--max-sentences", type=int, default=None,
                   help="use the first N lines only (a reduced run; say so when reporting)")
    a = p.parse_args()
    data = os.environ.get("CHAINRULE_DATA", "/work/shared/data")
    sg, hs = MODELS[a.model]
    cap = {"auto": "auto", "none": None}.get(a.row_cap.lower()) if not a.row_cap.isdigit() \
        else int(a.row_cap)
    sents = read_sentences("wikitext-2", "train")[:a.max_sentences]
    res = {"model": a.model, "epochs": a.epochs, "batch_words": a.batch_words,
           "sentences": len(sents), "seed": a.seed}
    stem = a.model if a.seed == 1 else f"{a.model}-seed{a.seed}"
    if a.shared_negatives:
        stem += f"-shared-{a.shared_negatives}"
        res["shared_negatives"] = a.shared_negatives
    if a.workers > 1:
        stem += f"-workers{a.workers}"
        res["workers"] = a.workers
    os.makedirs(a.out, exist_ok=True)
    if a.model == "glove":
        a.skip_gensim = True  # gensim has no GloVe
    if not a.skip_gensim:
        from gensim.models import FastText, Word2Vec
        t0 = time.perf_counter()
        extra = dict(bucket=a.bucket, min_n=3, max_n=6) if a.model == "fasttext" else {}
        g = (FastText if a.model == "fasttext" else Word2Vec)(sents, vector_size=100, window=5, min_count=5, sg=int(sg), hs=int(hs),
                     negative=0 if hs else 5, sample=1e-3, alpha=0.025, min_alpha=0.0001,
                     epochs=a.epochs, workers=1, seed=a.seed, **extra)
        dt = time.perf_counter() - t0
        kv = WordVectors(list(g.wv.index_to_key), g.wv.vectors)
        if a.model == "fasttext":
            res["gensim_misspelled"] = {w: g.wv.most_similar(w, topn=5)
                                        for w in ("lenght", "kingdon", "goverment")}
        res["gensim"] = dict(evaluate(kv, data), seconds=dt,
                             words_per_s=g.corpus_total_words * a.epochs / dt)
        print("gensim", res["gensim"], flush=True)
    if not a.skip_ours:
        corpus = EmbeddingCorpus(sents, min_count=5)
        t0 = time.perf_counter()
        if a.model == "glove":
            model, hist = train_glove(corpus, 100, window=10, epochs=a.epochs, seed=a.seed,
                                      log=print)
        elif a.model == "fasttext":
            model, hist, kv = train_fasttext(corpus, 100, 5, 5, a.epochs, bucket=a.bucket,
                                             batch_words=a.batch_words, seed=a.seed,
                                             log=print)
            for w in ("lenght", "kingdon", "goverment"):  # misspellings, not in the vocab
                res.setdefault("misspelled", {})[w] = kv.most_similar(w, topn=5)
                print(w, res["misspelled"][w], flush=True)
        else:
            shared = {} if a.shared_negatives is None else \
                {"shared_negatives": a.shared_negatives == "on"}
            model, hist = train_word2vec(corpus, sg=sg, hs=hs, vector_size=100, window=5,
                                         negative=5, epochs=a.epochs, sample=1e-3,
                                         batch_words=a.batch_words, log=print,
                                         row_cap=cap, seed=a.seed, workers=a.workers,
                                         **shared)
        dt = time.perf_counter() - t0
        if a.model != "fasttext":
            kv = WordVectors(corpus.idx_to_token, model.vectors)
        kv.save_word2vec_format(os.path.join(a.out, f"{stem}.bin"), binary=True)
        res["chainrule"] = dict(evaluate(kv, data), seconds=dt, history=hist,
                                words_per_s=corpus.num_tokens * a.epochs / dt)
        print("chainrule", {k: v for k, v in res["chainrule"].items() if k != "history"},
              flush=True)
    with open(os.path.join(a.out, f"{stem}.json"), "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
