"""Word-embedding corpus preparation, the word2vec models (autograd forward vs the fused
SGD step, against torch), evaluation and the word2vec file formats (against gensim)."""
import os

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.models.word2vec import CBOW, SkipGram, sgns_loss
from chainrule.optim import SGD
from chainrule.text.word2vec import (EmbeddingCorpus, UnigramSampler, batchify_sgns,
                                     cbow_examples, huffman_tree, keep_probabilities,
                                     sample_negatives, skipgram_pairs, subsample)
from chainrule.text.wordvectors import WordVectors, rankdata, spearman
from chainrule.train.embed import train_word2vec

DATA = os.environ.get("CHAINRULE_DATA", "/work/shared/data")
ANALOGY = os.path.join(DATA, "analogy")


# ------------------------------------------------------------------ corpus preparation
def test_corpus_vocab_min_count_and_order():
    c = EmbeddingCorpus([["a", "b", "a", "c"], ["a", "b", "d"], ["d"]], min_count=2)
    assert c.idx_to_token == ["a", "b", "d"]
    assert c.counts.tolist() == [3, 2, 2]
    assert [s.tolist() for s in c.sentences] == [[0, 1, 0], [0, 1, 2], [2]]
    assert c.num_tokens == 7
    with pytest.raises(ValueError, match="min_count"):
        EmbeddingCorpus([["a"]], min_count=0)


def test_keep_probabilities_formulas():
    counts = np.array([1000, 10, 1])
    f = counts / counts.sum()
    t = 1e-2
    np.testing.assert_allclose(keep_probabilities(counts, t, "paper"),
                               np.minimum(1, np.sqrt(t / f)))
    np.testing.assert_allclose(keep_probabilities(counts, t, "word2vec"),
                               np.minimum(1, (np.sqrt(f / t) + 1) * t / f))
    assert keep_probabilities(counts, 0).tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="formula"):
        keep_probabilities(counts, t, "x")


def test_subsample_rate_matches_keep_probability():
    sents = [np.zeros(1000, np.int64), np.ones(1000, np.int64)]
    out = subsample(sents * 20, np.array([0.25, 1.0]), seed=0)
    flat = np.concatenate(out)
    assert (flat == 1).sum() == 20000
    assert abs((flat == 0).sum() / 20000 - 0.25) < 0.02


def test_skipgram_pairs_fixed_and_dynamic_windows():
    s = [np.array([10, 11, 12]), np.array([20, 21])]
    c, x = skipgram_pairs(s, window=1, dynamic=False)
    assert sorted(zip(c.tolist(), x.tolist())) == sorted(
        [(10, 11), (11, 10), (11, 12), (12, 11), (20, 21), (21, 20)])  # no cross-sentence
    rng = np.random.default_rng(0)
    long = [rng.integers(0, 50, 2000)]
    c, x = skipgram_pairs(long, window=5, seed=0)
    # E[2b] with b ~ U{1..5} is 6 contexts per center (minus the ends)
    assert abs(len(c) / 2000 - 6.0) < 0.2
    c2, x2 = skipgram_pairs(long, window=5, dynamic=False)
    assert len(c2) == 2 * (5 * 2000 - 15)


def test_cbow_examples_contexts_and_mask():
    s = [np.array([1, 2, 3, 4]), np.array([7])]
    centers, ctx, mask = cbow_examples(s, window=2, dynamic=False)
    assert centers.tolist() == [1, 2, 3, 4]  # the one-word sentence has no context
    assert sorted(ctx[1][mask[1]].tolist()) == [1, 3, 4]
    assert sorted(ctx[0][mask[0]].tolist()) == [2, 3]


def test_unigram_sampler_follows_power_075():
    counts = np.array([100, 10, 1])
    s = UnigramSampler(counts, seed=0).sample(200000)
    p = counts ** 0.75 / (counts ** 0.75).sum()
    np.testing.assert_allclose(np.bincount(s, minlength=3) / s.size, p, atol=5e-3)
    assert UnigramSampler([1, 1], seed=0, offset=1).sample(10).min() >= 1


@pytest.mark.parametrize("counts", [
    np.array([100, 10, 1]),
    np.array([5, 0, 0, 3, 0, 1]),                       # zero counts are never drawn
    np.random.default_rng(3).zipf(1.3, 5000).clip(max=10**7),  # heavy-tailed vocabulary
    np.array([1]),
])
def test_unigram_sampler_guide_table_equals_searchsorted(counts):
    s = UnigramSampler(counts, seed=7)
    u = np.random.default_rng(7).random((300, 200))
    got = s.sample((300, 200))
    np.testing.assert_array_equal(got, np.searchsorted(s.cdf, u, side="right"))
    assert got.shape == (300, 200) and got.dtype == np.int64
    assert np.all(np.asarray(counts)[got] > 0)


def test_negatives_avoid_context_words():
    sampler = UnigramSampler(np.array([50, 50, 1, 1]), seed=0)
    ctx = [np.array([0]), np.array([0, 1])]
    neg = sample_negatives(ctx, sampler, 3)
    assert len(neg[0]) == 3 and len(neg[1]) == 6
    assert not np.isin(neg[0], [0]).any() and not np.isin(neg[1], [0, 1]).any()


def test_huffman_tree_is_optimal_prefix_code():
    counts = np.array([45, 13, 12, 16, 9, 5])  # the textbook example (CLRS 16.3)
    codes, points, lengths = huffman_tree(counts)
    assert (counts * lengths).sum() == 224  # optimal cost
    words = ["".join(map(str, codes[w, :lengths[w]])) for w in range(6)]
    assert len(set(words)) == 6
    assert not any(a != b and b.startswith(a) for a in words for b in words)  # prefix-free
    assert (points[:, 0] == 4).all()  # every path starts at the root (V - 2)
    assert points.max() <= 4 and lengths[0] == 1


def test_batchify_sgns_pads_like_d2l():
    c, cn, m, l = batchify_sgns([(1, [2, 2], [3, 4, 5, 6]), (1, [2], [3, 4])])
    assert cn.shape == (2, 6) and c.tolist() == [[1], [1]]
    assert m.tolist()[1] == [1, 1, 1, 0, 0, 0] and l.tolist()[1] == [1, 0, 0, 0, 0, 0]


# ------------------------------------------------------------------------- models
def test_skipgram_forward_and_loss_match_torch():
    cr.manual_seed(0)
    net = SkipGram(20, 8, init_scheme="xavier")
    center = cr.tensor([[1], [4]])
    cn = cr.tensor([[2, 3, 5, 0], [6, 7, 8, 9]])
    mask = cr.tensor([[1.0, 1, 1, 0], [1, 1, 1, 1]])
    label = cr.tensor([[1.0, 0, 0, 0], [1, 1, 0, 0]])
    pred = net(center, cn)
    assert tuple(pred.shape) == (2, 1, 4)
    loss = sgns_loss(pred.reshape(2, 4), label, mask)
    loss.sum().backward()
    V = torch.tensor(net.in_embed.weight.detach().numpy(), requires_grad=True)
    U = torch.tensor(net.out_embed.weight.detach().numpy(), requires_grad=True)
    tp = torch.bmm(V[torch.tensor([[1], [4]])], U[torch.tensor(cn.numpy())].permute(0, 2, 1))
    tl = torch.nn.functional.binary_cross_entropy_with_logits(
        tp.reshape(2, 4), torch.tensor(label.numpy()), weight=torch.tensor(mask.numpy()),
        reduction="none").mean(1) / torch.tensor(mask.numpy()).sum(1) * 4
    tl.sum().backward()
    np.testing.assert_allclose(loss.detach().numpy(), tl.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(net.in_embed.weight.grad.numpy(), V.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(net.out_embed.weight.grad.numpy(), U.grad.numpy(), atol=1e-6)


@pytest.mark.parametrize("loss", ["ns", "hs"])
def test_fused_skipgram_step_equals_autograd_plus_sgd(loss):
    rng = np.random.default_rng(0)
    V, d, B, L, lr = 12, 5, 40, 4, 0.3
    a = SkipGram(V, d, loss=loss, init_scheme="xavier")
    b = SkipGram(V, d, loss=loss)
    b.load_state_dict(a.state_dict())
    n_out = V - (loss == "hs")
    x = rng.integers(0, V, B)                     # repeated rows: the scatter-add sums
    o = rng.integers(0, n_out, (B, L))
    lab = (rng.random((B, L)) < 0.3).astype(np.float32)
    m = (rng.random((B, L)) < 0.8).astype(np.float32)
    s = a(cr.tensor(x), cr.tensor(o))
    ref = cr.nn.functional.binary_cross_entropy_with_logits(
        s, cr.tensor(lab), weight=cr.tensor(m), reduction="sum")
    ref.backward()
    SGD(a.parameters(), lr=lr).step()
    got = b.sgd_step(x, o, lab, m, lr)
    assert got == pytest.approx(ref.item(), rel=1e-5)
    np.testing.assert_allclose(b.in_embed.weight.detach().numpy(), a.in_embed.weight.detach().numpy(),
                               atol=1e-6)
    np.testing.assert_allclose(b.out_embed.weight.detach().numpy(),
                               a.out_embed.weight.detach().numpy(), atol=1e-6)


def test_fused_cbow_step_follows_word2vec():
    """CBOW: out rows get the exact gradient of the mean-context model; each context
    row gets the hidden error undivided (word2vec.c / gensim cbow_mean=1), i.e. the
    autograd gradient times the number of context words."""
    rng = np.random.default_rng(1)
    V, d, B, C, L, lr = 10, 4, 6, 4, 3, 0.5
    a = CBOW(V, d, init_scheme="xavier")
    b = CBOW(V, d)
    b.load_state_dict(a.state_dict())
    ctx = np.stack([rng.permutation(V)[:C] for _ in range(B)])  # distinct per row
    cm = np.ones((B, C), bool)
    cm[0, 2:] = False
    o = rng.integers(0, V, (B, L))
    lab = np.zeros((B, L), np.float32)
    lab[:, 0] = 1
    m = np.ones((B, L), np.float32)
    s = a(cr.tensor(ctx), cr.tensor(o), cr.tensor(cm))
    cr.nn.functional.binary_cross_entropy_with_logits(
        s, cr.tensor(lab), reduction="sum").backward()
    w_in0 = b.in_embed.weight.detach().numpy().copy()
    w_out0 = b.out_embed.weight.detach().numpy().copy()
    b.sgd_step(ctx, o, lab, m, lr, context_mask=cm)
    np.testing.assert_allclose(w_out0 - b.out_embed.weight.detach().numpy(),
                               lr * a.out_embed.weight.grad.numpy(), atol=1e-6)
    # undo the mean's 1/count per example: scale each example's contribution
    cnt = cm.sum(1)
    g_in = np.zeros_like(w_in0)
    for i in range(B):  # recompute per example with autograd to scale by its count
        a.zero_grad()
        si = a(cr.tensor(ctx[i:i + 1]), cr.tensor(o[i:i + 1]),
               cr.tensor(cm[i:i + 1]))
        cr.nn.functional.binary_cross_entropy_with_logits(
            si, cr.tensor(lab[i:i + 1]), reduction="sum").backward()
        g_in += cnt[i] * a.in_embed.weight.grad.numpy()
    np.testing.assert_allclose(w_in0 - b.in_embed.weight.detach().numpy(), lr * g_in, atol=1e-6)


@pytest.mark.parametrize("row_cap", [None, 2])
def test_window_step_equals_the_pair_step_on_its_pairs(row_cap):
    """sgd_step_windows (negatives shared by a center's window) makes the updates and
    the loss of sgd_step on the expanded pairs (each valid context word with its
    window's output rows), the row cap counting uses per pair as there."""
    rng = np.random.default_rng(0)
    V, d, N, C, L, lr = 30, 6, 25, 6, 4, 0.5
    a, b = SkipGram(V, d, init_scheme="xavier"), SkipGram(V, d)
    b.load_state_dict(a.state_dict())
    out0 = a.out_embed.weight.detach().numpy().copy()
    ctx = rng.integers(0, V, (N, C))
    cm = rng.random((N, C)) < 0.7
    cm[0] = False                                  # a window with no context words
    out = rng.integers(0, V, (N, L))
    lab = np.zeros((N, L), np.float32)
    lab[:, 0] = 1
    m = rng.random((N, L)) < 0.9
    got = a.sgd_step_windows(ctx, cm, out, lab, m, lr, row_cap)
    cnt = cm.sum(1)
    ref = b.sgd_step(ctx[cm], np.repeat(out, cnt, 0), np.repeat(lab, cnt, 0),
                     np.repeat(m, cnt, 0), lr, None, row_cap)
    assert got == pytest.approx(ref, rel=1e-5)
    for name in ("in_embed", "out_embed"):
        wa = getattr(a, name).weight.detach().numpy()
        wb = getattr(b, name).weight.detach().numpy()
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    assert np.abs(a.out_embed.weight.detach().numpy() - out0).max() > 1e-2  # it moved


def test_worker_process_errors_reach_the_caller(monkeypatch):
    if not hasattr(__import__("os"), "fork"):
        pytest.skip("no fork on this platform")
    rng = np.random.default_rng(0)
    corpus = EmbeddingCorpus([[f"w{i}" for i in rng.integers(0, 9, 8)] for _ in range(60)],
                             min_count=1)

    def boom(*args, **kwargs):
        raise FloatingPointError("boom in the step")
    monkeypatch.setattr(SkipGram, "sgd_step_windows", boom)
    with pytest.raises(RuntimeError, match="worker process failed(.|\n)*boom in the step"):
        train_word2vec(corpus, vector_size=4, epochs=1, batch_words=20, workers=2)
    with pytest.raises(ValueError, match="parallel must be"):
        train_word2vec(corpus, workers=2, parallel="mpi")

    def killed(*args, **kwargs):   # dies without a word (as if killed)
        __import__("os")._exit(3)
    monkeypatch.setattr(SkipGram, "sgd_step_windows", killed)
    with pytest.raises(RuntimeError, match="worker process died \\(exit code 3\\)"):
        train_word2vec(corpus, vector_size=4, epochs=1, batch_words=20, workers=2)


def test_shared_negatives_trains_and_is_skipgram_ns_only():
    rng = np.random.default_rng(0)
    sents = [[f"{t}{i}" for i in rng.integers(0, 10, 12)] for t in rng.choice(["a", "b"], 400)]
    corpus = EmbeddingCorpus(sents, min_count=1)
    model, hist = train_word2vec(corpus, vector_size=16, window=3, epochs=3, sample=0,
                                 batch_words=40, alpha=0.05, shared_negatives=True)
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    kv = WordVectors(corpus.idx_to_token, model.vectors)
    for w in ("a3", "b7"):
        assert all(x[0] == w[0] for x, _ in kv.most_similar(w, topn=5))
    for kw in ({"sg": False}, {"hs": True}):
        with pytest.raises(ValueError, match="shared_negatives is for skip-gram"):
            train_word2vec(corpus, shared_negatives=True, **kw)


def test_model_errors_name_the_layer():
    with pytest.raises(ValueError, match="SkipGram: loss"):
        SkipGram(10, 4, loss="softmax")
    with pytest.raises(ValueError, match="CBOW: contexts must be"):
        CBOW(10, 4)(cr.tensor([1, 2]), cr.tensor([[1, 2]]))
    with pytest.raises(ValueError, match="sgns_loss"):
        sgns_loss(cr.zeros(2, 3), cr.zeros(2, 3), cr.zeros(2, 4))


@pytest.mark.parametrize("workers,parallel", [(1, "process"), (2, "process"), (2, "thread")])
def test_train_word2vec_learns_synthetic_topics(workers, parallel):
    """Two disjoint 'topics' of 10 words; after training, a word's nearest neighbours
    are from its own topic (all three models), also with two Hogwild workers (forked
    processes on shared tables, or threads)."""
    rng = np.random.default_rng(0)
    sents = [[f"{t}{i}" for i in rng.integers(0, 10, 12)] for t in rng.choice(["a", "b"], 400)]
    corpus = EmbeddingCorpus(sents, min_count=1)
    for sg, hs in ((True, False), (False, False), (True, True)):
        model, hist = train_word2vec(corpus, sg=sg, hs=hs, vector_size=16, window=3,
                                     epochs=3, sample=0, batch_words=40, alpha=0.05,
                                     workers=workers, parallel=parallel)
        assert not model.in_embed.weight.is_shared()  # back in private memory
        assert hist[-1]["train_loss"] < hist[0]["train_loss"]
        kv = WordVectors(corpus.idx_to_token, model.vectors)
        for w in ("a3", "b7"):
            top = [x for x, _ in kv.most_similar(w, topn=5)]
            assert all(x[0] == w[0] for x in top), (sg, hs, w, top)


# --------------------------------------------------------------------- evaluation, IO
def _toy_vectors():
    words = ["man", "woman", "king", "queen", "apple", "Paris"]
    vecs = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1, 0],
                     [0, 0, 0, 1], [0, 0.1, 0.2, 1]], np.float32)
    return WordVectors(words, vecs)


def test_neighbours_and_analogies():
    kv = _toy_vectors()
    assert kv.most_similar("king", topn=1)[0][0] in ("man", "queen")
    assert kv.analogy("man", "king", "woman")[0][0] == "queen"
    assert kv.analogy("man", "king", "woman", method="3cosmul")[0][0] == "queen"
    assert kv.most_similar("apple", topn=1)[0][0] == "Paris"
    with pytest.raises(KeyError, match="'prince' not in vocabulary"):
        kv.most_similar("prince")


def test_rankdata_and_spearman_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 5, 50), rng.random(50)
    np.testing.assert_allclose(rankdata(a), stats.rankdata(a))
    assert spearman(a, b) == pytest.approx(stats.spearmanr(a, b)[0])


def test_evaluate_analogies_coverage(tmp_path):
    p = tmp_path / "q.txt"
    p.write_text(": family\nman king woman queen\nMAN KING WOMAN APPLE\n"
                 "man king prince princess\n: capitals\nman woman king queen\n")
    r = _toy_vectors().evaluate_analogies(str(p))
    assert (r["questions"], r["total"], r["correct"]) == (4, 3, 2)
    assert r["coverage"] == pytest.approx(0.75)
    assert r["sections"]["family"] == (1, 2) and r["sections"]["capitals"] == (1, 1)


def test_word2vec_formats_round_trip_and_load_in_gensim(tmp_path):
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)] + ["état", "x-y"]
    kv = WordVectors(words, rng.standard_normal((32, 7)).astype(np.float32))
    for binary in (False, True):
        path = str(tmp_path / f"v.{'bin' if binary else 'txt'}")
        kv.save_word2vec_format(path, binary=binary)
        back = WordVectors.load_word2vec_format(path)
        assert back.words == words
        np.testing.assert_allclose(back.vectors, kv.vectors, rtol=1e-6)
        g = gensim.models.KeyedVectors.load_word2vec_format(path, binary=binary)
        assert list(g.index_to_key) == words
        ours = [w for w, _ in kv.most_similar("w3", topn=5)]
        assert [w for w, _ in g.most_similar("w3", topn=5)] == ours
        # and gensim's own files load here
        gpath = str(tmp_path / f"g.{binary}")
        g.save_word2vec_format(gpath, binary=binary)
        np.testing.assert_allclose(WordVectors.load_word2vec_format(gpath).vectors,
                                   kv.vectors, rtol=1e-6)


def test_evaluation_matches_gensim_on_real_files():
    gensim = pytest.importorskip("gensim")
    qw = os.path.join(ANALOGY, "questions-words.txt")
    ws = os.path.join(ANALOGY, "wordsim353.tsv")
    if not (os.path.exists(qw) and os.path.exists(ws)):
        pytest.skip("analogy data not under CHAINRULE_DATA")
    words = sorted({w for line in open(qw) if not line.startswith(":")
                    for w in line.lower().split()})[:400]
    words += sorted({w for line in open(ws) if not line.startswith("#")
                     for w in line.lower().split("\t")[:2]})
    words = list(dict.fromkeys(words))
    rng = np.random.default_rng(0)
    kv = WordVectors(words, rng.standard_normal((len(words), 10)).astype(np.float32))
    g = gensim.models.KeyedVectors(10)
    g.add_vectors(words, kv.vectors)
    ours = kv.evaluate_word_pairs(ws)
    pear, spear, oov = g.evaluate_word_pairs(ws)
    assert ours["spearman"] == pytest.approx(spear[0], abs=1e-6)
    assert ours["oov_ratio"] * 100 == pytest.approx(oov)
    acc, sections = g.evaluate_word_analogies(qw)
    r = kv.evaluate_analogies(qw)
    total = sections[-1]
    assert r["total"] == len(total["correct"]) + len(total["incorrect"])
    assert r["accuracy"] == pytest.approx(acc)


def test_row_cap_scales_frequent_rows_only():
    rng = np.random.default_rng(0)
    a, b = SkipGram(10, 4, init_scheme="xavier"), SkipGram(10, 4)
    b.load_state_dict(a.state_dict())
    x = np.array([1] * 8 + [2, 3])            # row 1 used 8 times, rows 2 and 3 once
    o = rng.integers(4, 10, (10, 3))
    lab, m = np.zeros((10, 3), np.float32), np.ones((10, 3), np.float32)
    w0 = a.in_embed.weight.detach().numpy().copy()
    a.sgd_step(x, o, lab, m, 0.5)
    b.sgd_step(x, o, lab, m, 0.5, row_cap=2)
    da = a.in_embed.weight.detach().numpy() - w0
    db = b.in_embed.weight.detach().numpy() - w0
    np.testing.assert_allclose(db[1], da[1] * 2 / 8, rtol=1e-4, atol=1e-6)  # 2 uses
    np.testing.assert_allclose(db[2:4], da[2:4], rtol=1e-6)       # rare rows: exact


def test_hs_with_large_batches_needs_row_cap():
    """20 words, 2000-word batches: the exact summed step blows up (vectors ~1e6), the
    capped one (HS's default) stays small."""
    rng = np.random.default_rng(0)
    sents = [[f"{t}{i}" for i in rng.integers(0, 10, 12)] for t in rng.choice(["a", "b"], 400)]
    corpus = EmbeddingCorpus(sents, min_count=1)
    sizes = {}
    for cap in (None, "auto"):
        model, hist = train_word2vec(corpus, sg=True, hs=True, vector_size=16, epochs=2,
                                     sample=0, batch_words=2000, row_cap=cap)
        sizes[cap] = (np.abs(model.vectors).max(), hist[-1]["train_loss"])
    assert sizes[None][0] > 1e3 and sizes[None][1] > 10
    assert sizes["auto"][0] < 1 and sizes["auto"][1] < 3.5


def test_train_word2vec_one_worker_is_reproducible_and_threads_share_no_buffers():
    import threading
    from chainrule.models import word2vec as W2V
    rng = np.random.default_rng(1)
    sents = [[f"w{i}" for i in rng.integers(0, 30, 10)] for _ in range(200)]
    corpus = EmbeddingCorpus(sents, min_count=1)
    a, _ = train_word2vec(corpus, vector_size=8, epochs=1, batch_words=50, seed=3)
    b, _ = train_word2vec(corpus, vector_size=8, epochs=1, batch_words=50, seed=3)
    np.testing.assert_array_equal(a.vectors, b.vectors)
    ws, both_alive = [None, None], threading.Barrier(2)

    def grab(i):  # both threads alive at once (a finished thread's id may be reused)
        both_alive.wait()
        ws[i] = a._workspace()
        both_alive.wait()
    threads = [threading.Thread(target=grab, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ws[0] is not ws[1] and a._workspace() is a._workspace()
    assert len(W2V._WORKSPACES[a]) >= 2
    with pytest.raises(ValueError, match="workers"):
        train_word2vec(corpus, workers=0)
