"""Skip-gram with negative sampling: training words per second of chainrule's fused
NumPy step (``chainrule.train.embed.train_word2vec``) against gensim 4.x on the same
tokens and settings (the first ``--sentences`` lines of WikiText-2's train split,
min_count 5, dim 100, window 5, 5 negatives, sample 1e-3, ``--epochs``), each in its
own child process so the peak resident memory (ru_maxrss) is each framework's own.

Both run ``--threads`` workers on the shared tables (gensim's ``workers``: threads of
its C loop; our ``train_word2vec(workers=)``: Hogwild processes forked over chunks with
the tables in shared memory); BLAS is pinned to ``--threads`` for both.  Wall time and
CPU time (the process and its workers) are both reported: on a machine shared with
other work the CPU-time rate is the less noisy one.  Peak RSS is the process's own,
and for ours also the largest worker's (its pages are mostly shared with the parent:
the tables, the corpus).  Building the vocabulary is not timed
(gensim's ``build_vocab``, our ``EmbeddingCorpus``).  ``--sentences 0`` takes the whole train
split (2,018,350 words).  The goal of issue 14 is a words/s ratio >= 0.5.
``chainrule`` is the default step (negatives shared by a center's window);
``chainrule-per-pair`` draws them per pair as word2vec.c (``shared_negatives=False``).

    unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
    CHAINRULE_DATA=/work/shared/data python benchmarks/bench_word2vec.py --threads 1
    CHAINRULE_DATA=/work/shared/data python benchmarks/bench_word2vec.py --threads 2
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import _threads  # noqa: F401,E402  (pins BLAS threads before NumPy loads)


def _run(framework, sentences, epochs, threads, shared=None):
    from chainrule.text.word2vec import EmbeddingCorpus, read_sentences
    sents = read_sentences("wikitext-2", "train")[:sentences or None]
    corpus = EmbeddingCorpus(sents, min_count=5)
    if framework == "gensim":  # the vocabulary scan is left out of the timing, as ours
        from gensim.models import Word2Vec
        model = Word2Vec(vector_size=100, window=5, min_count=5, sg=1, negative=5, hs=0,
                         sample=1e-3, epochs=epochs, workers=threads, seed=1)
        model.build_vocab(sents)
    def cpu_time():  # this process and its finished children (our forked workers)
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system
    w0, c0 = time.perf_counter(), cpu_time()
    if framework == "gensim":
        model.train(sents, total_examples=model.corpus_count, epochs=epochs)
    else:
        from chainrule.train.embed import train_word2vec
        train_word2vec(corpus, sg=True, vector_size=100, window=5, negative=5,
                       epochs=epochs, sample=1e-3, workers=threads,
                       shared_negatives=shared)
    wall, cpu = time.perf_counter() - w0, cpu_time() - c0
    words = corpus.num_tokens * epochs  # in-vocabulary words, the same for both
    print(json.dumps({"framework": framework, "words": words, "wall_s": wall, "cpu_s": cpu,
                      "words_per_s": words / wall, "words_per_cpu_s": words / cpu,
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                      * 1024, "worker_peak_rss_bytes":
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", default="2")
    p.add_argument("--sentences", type=int, default=6000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--child", choices=("chainrule", "chainrule-per-pair", "gensim"))
    a = p.parse_args()
    if a.child:
        shared = False if a.child == "chainrule-per-pair" else None
        return _run(a.child.split("-")[0], a.sentences, a.epochs, int(a.threads), shared)
    res = {}
    for fw in ("gensim", "chainrule", "chainrule-per-pair"):
        out = subprocess.run([sys.executable, __file__, "--child", fw, "--threads", a.threads,
                              "--sentences", str(a.sentences), "--epochs", str(a.epochs)],
                             capture_output=True, text=True, check=True).stdout
        res[fw] = json.loads(out.strip().splitlines()[-1])
    for fw, r in res.items():
        print(f"{fw:>18}: {r['words']:,} words in {r['wall_s']:.1f} s wall / {r['cpu_s']:.1f} s "
              f"CPU = {r['words_per_s']:,.0f} words/s ({r['words_per_cpu_s']:,.0f} per CPU "
              f"second), peak RSS {r['peak_rss_bytes'] / 2**20:.0f} MiB" +
              (f" (largest forked worker {r['worker_peak_rss_bytes'] / 2**20:.0f} MiB, most "
               "of it pages shared with the parent)" if r["worker_peak_rss_bytes"] and fw.startswith("chainrule") else ""))
    g = res["gensim"]
    for fw in ("chainrule", "chainrule-per-pair"):
        c = res[fw]
        print(f"ratio {fw}/gensim ({a.threads} thread(s)): wall words/s "
              f"{c['words_per_s'] / g['words_per_s']:.3f}, CPU words/s "
              f"{c['words_per_cpu_s'] / g['words_per_cpu_s']:.3f} (goal >= 0.5)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
