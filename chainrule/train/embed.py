"""Training loops for word embeddings.

* :func:`train_d2l_sgns` - d2l's skip-gram with negative sampling on PTB (section
  15.4): autograd through :class:`~chainrule.models.word2vec.SkipGram`, masked sigmoid
  BCE, Adam(lr=0.002), batch 512, Xavier init.
* :func:`train_word2vec` - the word2vec.c / gensim procedure for skip-gram and CBOW
  with NS or HS: per epoch, subsample (word2vec's formula, ``sample``), draw dynamic
  windows, walk the corpus in order in chunks of ``batch_words`` tokens, one fused
  SGD step per chunk (:meth:`Word2Vec.sgd_step`) with the learning rate decaying
  linearly from ``alpha`` to ``min_alpha`` over all epochs.

Both report progress (words/s) on a tqdm bar when ``progress`` and return the loss
history, one row per epoch (``{"epoch", "train_loss", "words_per_s", "seconds"}``).
"""
import time

import numpy as np

from chainrule import backend as B
from chainrule.core.grad_mode import no_grad
from chainrule.models.fasttext import FastText
from chainrule.models.glove import GloVe
from chainrule.models.word2vec import CBOW, SkipGram, sgns_loss
from chainrule.nn import init
from chainrule.optim.adam import Adam
from chainrule.text.word2vec import (UnigramSampler, cbow_examples, cooccurrence,
                                     huffman_tree, keep_probabilities, skipgram_pairs,
                                     subsample, subword_table)
from chainrule.text.wordvectors import SubwordVectors

__all__ = ["train_d2l_sgns", "train_word2vec", "train_glove", "train_fasttext"]


def _bar(progress, total, desc, unit):
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False)


def train_d2l_sgns(loader, vocab_size, embed_size=100, lr=0.002, num_epochs=5, seed=0,
                   progress=False, log=None):
    """d2l's ``train`` for skip-gram NS; returns ``(model, history)``, the loss being
    d2l's: the mean over examples of each example's masked-mean BCE."""
    B.manual_seed(seed)
    net = SkipGram(vocab_size, embed_size, init_scheme="xavier")
    opt = Adam(net.parameters(), lr=lr)
    history, run_total, run_count = [], 0.0, 0
    for epoch in range(num_epochs):
        t0, total, count, words = time.perf_counter(), 0.0, 0, 0
        bar = _bar(progress, len(loader), f"epoch {epoch + 1}/{num_epochs}", "batch")
        for center, context_negative, mask, label in loader:
            pred = net(center, context_negative)
            # d2l: BCE(...).mean(dim=1) / mask.sum(dim=1) * L == the masked mean
            l = sgns_loss(pred.reshape(label.shape), label, mask)
            opt.zero_grad()
            l.sum().backward()
            opt.step()
            total += float(l.sum().item())
            count += l.numel()
            words += center.shape[0]
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{total / count:.3f}")
        if bar is not None:
            bar.close()
        dt = time.perf_counter() - t0
        run_total, run_count = run_total + total, run_count + count
        # d2l's printed loss accumulates over all epochs so far (its Accumulator is
        # made once, before the epoch loop): "cumulative_loss"
        row = {"epoch": epoch + 1, "train_loss": total / count, "seconds": dt,
               "cumulative_loss": run_total / run_count, "words_per_s": words / dt}
        history.append(row)
        if log:
            log(f"epoch {epoch + 1}: loss {row['train_loss']:.3f} (cumulative "
                f"{row['cumulative_loss']:.3f}), {words / dt:,.0f} "
                f"centers/s, {dt:.1f} s")
    return net, history


def train_word2vec(corpus, sg=True, hs=False, vector_size=100, window=5, negative=5,
                   epochs=5, alpha=0.025, min_alpha=0.0001, sample=1e-3, batch_words=250,
                   ns_exponent=0.75, row_cap="auto", seed=1, workers=1, progress=False,
                   log=None, shared_negatives=None, parallel="process"):
    """Train word2vec on an :class:`~chainrule.text.word2vec.EmbeddingCorpus` the way
    gensim's ``Word2Vec(sg=, hs=, negative=, sample=, alpha=, min_alpha=)`` does; returns
    ``(model, history)``.  ``alpha`` is per example (gensim's); CBOW uses
    ``cbow_mean``.  ``hs=True`` uses hierarchical softmax and no negatives.  ``row_cap``
    (see :meth:`Word2Vec.sgd_step`): ``'auto'`` is 32 for skip-gram (a frequent word is
    the input of hundreds of pairs in a chunk, and HS's root is in every example: on
    WikiText-2 skip-gram NS without it ended its first epoch at loss 15.8, with it at 2.9)
    and None (the exact summed step) for CBOW, which matched gensim without it.

    ``batch_words`` (kept tokens per fused step) bounds how stale the summed updates
    are: gensim applies them pair by pair.  250 (about 1,500 skip-gram pairs) is as
    fast per word as 2,000 (the step's buffers stay in cache) and closed the gap to
    gensim's analogy accuracy that 2,000 left (docs/embeddings.md).

    ``workers`` > 1 steps that many chunks at once on the shared tables, without locks
    (Hogwild, as gensim's ``workers``).  ``parallel='process'`` (the default where the
    platform can fork) runs them in forked processes with the tables in shared memory,
    as torch's Hogwild example does: each has its own interpreter, so they scale with
    cores.  ``'thread'`` (and where there is no fork) uses a thread pool: NumPy releases
    the GIL in the step's gathers, products and scatters, but the Python between them
    holds it, so threads scale poorly.  Each chunk keeps the learning rate of its
    place in the corpus; the result is not reproducible run to run (the order in which
    workers update rows varies), ``workers=1`` is.

    ``shared_negatives`` (skip-gram NS only; the default ``None`` turns it on there):
    the context words of one center share that center's ``negative`` noise words
    instead of drawing their own, as in Ji et al. 2016 (Intel's and BlazingText's
    word2vec).  The step then moves one window's 6 output rows where the per-pair step
    moves 30 (:meth:`SkipGram.sgd_step_windows`): 2.4x the words per second on
    WikiText-2, with WordSim-353 and analogy scores within seed noise of the per-pair
    step (docs/embeddings.md).  ``False`` is word2vec.c's per-pair sampling."""
    if row_cap == "auto":
        row_cap = 32 if (sg or hs) else None
    if window < 1 or vector_size < 1 or epochs < 1 or batch_words < 1 or workers < 1:
        raise ValueError("train_word2vec: window, vector_size, epochs, batch_words and "
                         f"workers must be >= 1, got {window}, {vector_size}, {epochs}, "
                         f"{batch_words}, {workers}")
    if not hs and negative < 1:
        raise ValueError(f"train_word2vec: negative sampling needs negative >= 1, got {negative}")
    if shared_negatives and not (sg and not hs):
        raise ValueError("train_word2vec: shared_negatives is for skip-gram with negative "
                         f"sampling (sg=True, hs=False), got sg={sg}, hs={hs}")
    shared = sg and not hs if shared_negatives is None else bool(shared_negatives)
    rng = np.random.default_rng(seed)
    B.manual_seed(seed)
    v = len(corpus)
    cls = SkipGram if sg else CBOW
    model = cls(v, vector_size, loss="hs" if hs else "ns")
    init.uniform_(model.in_embed.weight, -0.5 / vector_size, 0.5 / vector_size)
    if hs:
        codes, points, lengths = huffman_tree(corpus.counts)
        labels_hs = (1 - codes).astype(np.float32)
        mask_hs = np.arange(codes.shape[1])[None, :] < lengths[:, None]
    else:
        sampler = UnigramSampler(corpus.counts, ns_exponent, rng)
    keep = keep_probabilities(corpus.counts, sample, "word2vec")
    total_words = epochs * corpus.num_tokens

    def chunk_step(chunk, lr, rng):
        """Examples of one chunk of sentences and one fused step: (loss sum, count)."""
        if shared:
            # the windows of the chunk's centers (the same dynamic windows and pairs as
            # skipgram_pairs draws); one set of negatives per center
            centers, ctx, cm = cbow_examples(chunk, window, rng)
            if not centers.size:
                return 0.0, 0
            outputs, labels, mask = _ns_rows(centers, sampler.sample((centers.size,
                                                                      negative), rng))
            return (model.sgd_step_windows(ctx, cm, outputs, labels, mask, lr, row_cap),
                    int(cm.sum()))
        if sg:
            centers, contexts = skipgram_pairs(chunk, window, rng)
            # gensim: the context word's vector predicts the center word
            inputs, targets, cmask = contexts, centers, None
        else:
            targets, inputs, cmask = cbow_examples(chunk, window, rng)
        if not targets.size:
            return 0.0, 0
        if hs:
            outputs, labels, mask = points[targets], labels_hs[targets], mask_hs[targets]
        else:
            outputs, labels, mask = _ns_rows(targets, sampler.sample((targets.size,
                                                                      negative), rng))
        return model.sgd_step(inputs, outputs, labels, mask, lr, cmask, row_cap), targets.size

    done_words = 0
    history = []
    pool = None
    if parallel not in ("process", "thread"):
        raise ValueError(f"train_word2vec: parallel must be 'process' or 'thread', got "
                         f"{parallel!r}")
    procs = workers > 1 and parallel == "process" and _can_fork()
    if workers > 1 and not procs:
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(workers, thread_name_prefix="word2vec")
    if procs:  # the tables in shared memory: every forked worker updates the same rows
        private = [(p, p.array) for p in model.parameters()]
        for p, a in private:
            p.array = B.shared_array(a)
    try:
        with no_grad():
            for epoch in range(epochs):
                t0 = time.perf_counter()
                sents = subsample(corpus.sentences, keep, rng)
                loss_sum, n_ex, trained = 0.0, 0, 0
                bar = _bar(progress, corpus.num_tokens, f"epoch {epoch + 1}/{epochs}", "w")
                # chunks of whole sentences, about batch_words kept tokens each
                lens = np.array([len(s) for s in sents])
                cuts = np.searchsorted(np.cumsum(lens), np.arange(batch_words, lens.sum() +
                                                                  batch_words, batch_words))
                raw_per_kept = corpus.num_tokens / max(1, lens.sum())
                chunks, start = [], 0
                for stop in np.unique(np.minimum(cuts + 1, len(sents))):
                    if stop > start:
                        chunks.append(sents[start:stop])
                    start = stop
                jobs = []
                for chunk in chunks:
                    nw = sum(len(s) for s in chunk)
                    lr = max(min_alpha, alpha - (alpha - min_alpha) * done_words / total_words)
                    if workers == 1:
                        loss, n = chunk_step(chunk, lr, rng)
                        loss_sum, n_ex = loss_sum + loss, n_ex + n
                        _tick(bar, nw * raw_per_kept, loss_sum, n_ex, lr)
                    else:  # each chunk its own seeded stream: workers share no generator
                        jobs.append((chunk, lr, nw, (seed, epoch, len(jobs))))
                    done_words += nw * raw_per_kept
                    trained += nw
                if pool is not None:
                    futs = [(pool.submit(chunk_step, c, lr, np.random.default_rng(key)), nw, lr)
                            for c, lr, nw, key in jobs]
                    for fut, nw, lr in futs:
                        loss, n = fut.result()
                        loss_sum, n_ex = loss_sum + loss, n_ex + n
                        _tick(bar, nw * raw_per_kept, loss_sum, n_ex, lr)
                elif procs:
                    for j, loss, n in _forked_steps(chunk_step, jobs, workers):
                        loss_sum, n_ex = loss_sum + loss, n_ex + n
                        _tick(bar, jobs[j][2] * raw_per_kept, loss_sum, n_ex, jobs[j][1])
                if bar is not None:
                    bar.close()
                dt = time.perf_counter() - t0
                row = {"epoch": epoch + 1, "train_loss": loss_sum / max(1, n_ex), "seconds": dt,
                       "words_per_s": corpus.num_tokens / dt, "trained_words": trained}
                history.append(row)
                if log:
                    log(f"epoch {epoch + 1}: loss {row['train_loss']:.4f}, "
                        f"{row['words_per_s']:,.0f} words/s, {dt:.1f} s")
    finally:
        if pool is not None:
            pool.shutdown()
        if procs:  # back to private memory (the shared mapping is freed with its array)
            for p, a in private:
                a[...] = p.array
                p.array = a
    return model, history


def _ns_rows(targets, neg):
    """Negative sampling's output rows ``[target, negatives...]``, labels (1 for the
    target) and mask (a negative equal to its target is skipped, as gensim does)."""
    outputs = np.concatenate((targets[:, None], neg), 1)
    labels = np.zeros(outputs.shape, np.float32)
    labels[:, 0] = 1
    mask = np.ones(outputs.shape, bool)
    mask[:, 1:] = neg != targets[:, None]
    return outputs, labels, mask


def _can_fork():
    import multiprocessing
    return "fork" in multiprocessing.get_all_start_methods()


def _forked_steps(step, jobs, workers):
    """Run ``step(chunk, lr, rng)`` for every ``(chunk, lr, words, seed key)`` job in
    ``workers`` forked processes (job ``j`` in worker ``j % workers``) on the shared
    tables, without locks (Hogwild, as gensim's workers and torch's Hogwild example);
    yields ``(j, loss, count)`` as results arrive.  A worker's exception is raised
    here with its traceback text; a worker that dies without one (killed, out of
    memory) is reported too, instead of waiting for it forever."""
    import multiprocessing
    import traceback
    import queue as _queue
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()

    def work(k):
        try:
            out = []
            for j in range(k, len(jobs), workers):
                chunk, lr, _, key = jobs[j]
                loss, n = step(chunk, lr, np.random.default_rng(key))
                out.append((j, loss, n))
                if len(out) == 16:
                    queue.put(out)
                    out = []
            queue.put(out)
            queue.put(None)
        except BaseException:  # noqa: BLE001 - the parent re-raises it
            queue.put(traceback.format_exc())

    children = [ctx.Process(target=work, args=(k,), daemon=True) for k in range(workers)]
    for c in children:
        c.start()
    try:
        running = workers
        while running:
            try:
                msg = queue.get(timeout=1.0)
            except _queue.Empty:   # a worker killed (OOM, a signal) never says "done"
                dead = [c.exitcode for c in children if c.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(f"train_word2vec: a worker process died (exit code "
                                       f"{dead[0]}) before finishing its chunks") from None
                continue
            if msg is None:
                running -= 1
            elif isinstance(msg, str):
                raise RuntimeError(f"train_word2vec: a worker process failed:\n{msg}")
            else:
                yield from msg
    finally:
        for c in children:
            c.join(timeout=5)
            if c.is_alive():
                c.kill()


def _tick(bar, words, loss_sum, n_ex, lr):
    if bar is not None:
        bar.update(int(words))
        bar.set_postfix(loss=f"{loss_sum / max(1, n_ex):.3f}", lr=f"{lr:.4f}")


def train_glove(corpus, vector_size=100, window=10, x_max=100.0, alpha=0.75, lr=0.05,
                epochs=15, batch_size=100_000, seed=1, progress=False, log=None):
    """GloVe on an :class:`~chainrule.text.word2vec.EmbeddingCorpus`: co-occurrences
    with 1/d weighting in a symmetric ``window``, then ``epochs`` passes over the
    shuffled nonzero entries with glove.c's AdaGrad (``lr``).  Returns
    ``(model, history)``; the vectors are ``model.vectors`` (``w + w~``)."""
    rng = np.random.default_rng(seed)
    B.manual_seed(seed)
    t0 = time.perf_counter()
    rows, cols, vals = cooccurrence(corpus.sentences, len(corpus), window)
    if log:
        log(f"co-occurrences: {rows.size:,} nonzero entries, {time.perf_counter() - t0:.1f} s")
    model = GloVe(len(corpus), vector_size, x_max, alpha)
    history = []
    with no_grad():
        for epoch in range(epochs):
            t0 = time.perf_counter()
            order = rng.permutation(rows.size)
            cost = 0.0
            bar = _bar(progress, rows.size, f"epoch {epoch + 1}/{epochs}", "pair")
            for s in range(0, rows.size, batch_size):
                o = order[s:s + batch_size]
                cost += model.adagrad_step(rows[o], cols[o], vals[o], lr)
                if bar is not None:
                    bar.update(o.size)
            if bar is not None:
                bar.close()
            dt = time.perf_counter() - t0
            row = {"epoch": epoch + 1, "train_loss": cost / rows.size, "seconds": dt,
                   "pairs_per_s": rows.size / dt}
            history.append(row)
            if log:
                log(f"epoch {epoch + 1}: cost {row['train_loss']:.4f}, {dt:.1f} s")
    return model, history


def train_fasttext(corpus, vector_size=100, window=5, negative=5, epochs=5, alpha=0.025,
                   min_alpha=0.0001, sample=1e-3, bucket=200_000, minn=3, maxn=6,
                   batch_words=250, row_cap=32, seed=1, progress=False, log=None):
    """fastText skip-gram NS (gensim's ``FastText(sg=1)`` procedure: linear-decay SGD,
    word2vec subsampling); returns ``(model, history, vectors)`` with ``vectors`` a
    :class:`~chainrule.text.wordvectors.SubwordVectors` (vectors for any word).
    ``row_cap`` (see :meth:`Word2Vec.sgd_step`): n-gram buckets are shared by many words,
    and without a cap their summed updates diverged on WikiText-2 (loss 134 after one
    epoch of the first 5,000 lines)."""
    rng = np.random.default_rng(seed)
    B.manual_seed(seed)
    v = len(corpus)
    sub_ids, sub_mask = subword_table(corpus.idx_to_token, bucket, minn, maxn)
    model = FastText(v, vector_size, bucket)
    sampler = UnigramSampler(corpus.counts, 0.75, rng)
    keep = keep_probabilities(corpus.counts, sample, "word2vec")
    total_words, done_words, history = epochs * corpus.num_tokens, 0, []
    with no_grad():
        for epoch in range(epochs):
            t0 = time.perf_counter()
            sents = subsample(corpus.sentences, keep, rng)
            raw_per_kept = corpus.num_tokens / max(1, sum(len(x) for x in sents))
            loss_sum, n_ex = 0.0, 0
            bar = _bar(progress, corpus.num_tokens, f"epoch {epoch + 1}/{epochs}", "w")
            start, acc = 0, 0
            for k, sent in enumerate(sents):
                acc += len(sent)
                if acc < batch_words and k < len(sents) - 1:
                    continue
                chunk, start, nw, acc = sents[start:k + 1], k + 1, acc, 0
                lr = max(min_alpha, alpha - (alpha - min_alpha) * done_words / total_words)
                centers, contexts = skipgram_pairs(chunk, window, rng)
                if centers.size:
                    neg = sampler.sample((centers.size, negative))
                    outputs = np.concatenate((centers[:, None], neg), 1)
                    labels = np.zeros(outputs.shape, np.float32)
                    labels[:, 0] = 1
                    mask = np.ones(outputs.shape, bool)
                    mask[:, 1:] = neg != centers[:, None]
                    # the context word's subwords predict the center (as gensim's sg)
                    loss_sum += model.sgd_step_words(contexts, sub_ids, sub_mask, outputs,
                                                     labels, mask, lr, row_cap)
                    n_ex += centers.size
                done_words += nw * raw_per_kept
                if bar is not None:
                    bar.update(int(nw * raw_per_kept))
            if bar is not None:
                bar.close()
            dt = time.perf_counter() - t0
            row = {"epoch": epoch + 1, "train_loss": loss_sum / max(1, n_ex), "seconds": dt,
                   "words_per_s": corpus.num_tokens / dt}
            history.append(row)
            if log:
                log(f"epoch {epoch + 1}: loss {row['train_loss']:.4f}, "
                    f"{row['words_per_s']:,.0f} words/s, {dt:.1f} s")
    w = B.asnumpy(model.in_embed.weight.array)
    kv = SubwordVectors(corpus.idx_to_token, model.word_vectors(sub_ids, sub_mask),
                        w[:v], w[v:], bucket, minn, maxn)
    return model, history, kv
