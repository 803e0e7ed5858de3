"""GloVe and fastText: co-occurrence counting, GloVe's AdaGrad step against torch's Adagrad,
fastText's n-grams and hashes against gensim, vectors for unseen words."""
import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.models.fasttext import FastText
from chainrule.models.glove import GloVe
from chainrule.text.word2vec import (EmbeddingCorpus, char_ngrams, cooccurrence, fnv1a_32,
                                     ngram_buckets, subword_table)
from chainrule.text.wordvectors import SubwordVectors
from chainrule.train.embed import train_fasttext, train_glove


def test_cooccurrence_matches_brute_force():
    rng = np.random.default_rng(0)
    sents = [rng.integers(0, 6, n) for n in (9, 1, 5, 12)]
    want = {}
    for s in sents:
        for a, b in itertools.combinations(range(len(s)), 2):
            if b - a <= 3:
                for k in ((s[a], s[b]), (s[b], s[a])):
                    want[k] = want.get(k, 0) + 1.0 / (b - a)
    r, c, v = cooccurrence(sents, 6, window=3)
    got = {(int(x), int(y)): z for x, y, z in zip(r, c, v)}
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k])


def test_glove_forward_matches_the_formula():
    cr.manual_seed(0)
    a = GloVe(8, 4, x_max=3.0)
    i, j = np.array([0, 2, 5]), np.array([1, 3, 7])
    x = np.array([1.0, 2.5, 10.0], np.float32)
    cost = a(cr.tensor(i), cr.tensor(j), cr.tensor(x))
    f = np.minimum(1, (x / 3.0) ** 0.75)
    wi, wj = a.wi.weight.detach().numpy(), a.wj.weight.detach().numpy()
    bi, bj = a.bi.weight.detach().numpy()[:, 0], a.bj.weight.detach().numpy()[:, 0]
    diff = (wi[i] * wj[j]).sum(1) + bi[i] + bj[j] - np.log(x)
    np.testing.assert_allclose(cost.detach().numpy(), 0.5 * f * diff ** 2, rtol=1e-5)
    with pytest.raises(ValueError, match="GloVe: i"):
        a(cr.tensor([0]), cr.tensor([0, 1]), cr.tensor([1.0]))


def test_glove_adagrad_step_is_torch_adagrad_on_the_summed_cost():
    """Rows repeat within a batch (row 2 three times, column 3 twice): the fused step
    must equal torch.optim.Adagrad on the batch's summed cost, step after step."""
    torch = pytest.importorskip("torch")
    cr.manual_seed(0)
    m = GloVe(8, 4, x_max=3.0)
    ref = {k: torch.tensor(v.numpy(), dtype=torch.float64, requires_grad=True)
           for k, v in m.state_dict().items()}
    opt = torch.optim.Adagrad(list(ref.values()), lr=0.1)
    rng = np.random.default_rng(1)
    for _ in range(4):
        i, j = rng.choice([0, 2, 2, 2, 5], 6), rng.choice([1, 3, 3, 7], 6)
        x = rng.uniform(0.5, 6.0, 6).astype(np.float32)
        ti, tj, tx = torch.tensor(i), torch.tensor(j), torch.tensor(x, dtype=torch.float64)
        diff = ((ref["wi.weight"][ti] * ref["wj.weight"][tj]).sum(1) + ref["bi.weight"][ti, 0]
                + ref["bj.weight"][tj, 0] - tx.log())
        want = (0.5 * (tx / 3.0).pow(0.75).clamp(max=1.0) * diff * diff).sum()
        opt.zero_grad()
        want.backward()
        opt.step()
        got = m.adagrad_step(i, j, x, lr=0.1)
        assert got == pytest.approx(want.item(), rel=1e-5)
        for k, v in m.state_dict().items():
            np.testing.assert_allclose(v.numpy(), ref[k].detach().numpy(), rtol=1e-4, atol=1e-6)


def _topic_corpus():
    rng = np.random.default_rng(0)
    sents = [[f"{t}{i}" for i in rng.integers(0, 10, 12)] for t in rng.choice(["a", "b"], 300)]
    return EmbeddingCorpus(sents, min_count=1)


def test_glove_learns_synthetic_topics():
    corpus = _topic_corpus()
    model, hist = train_glove(corpus, vector_size=10, window=3, x_max=10, epochs=30,
                              batch_size=50)
    assert hist[-1]["train_loss"] < 0.5 * hist[0]["train_loss"]
    v = model.vectors
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    sim = u @ u.T
    idx = {w: k for k, w in enumerate(corpus.idx_to_token)}
    a = [idx[f"a{k}"] for k in range(10)]
    b = [idx[f"b{k}"] for k in range(10)]
    assert sim[np.ix_(a, a)].mean() > sim[np.ix_(a, b)].mean() + 0.3


def test_ngrams_and_hashes_match_gensim():
    ft = pytest.importorskip("gensim.models.fasttext")
    for w in ("where", "café", "a", "naïveté"):
        assert char_ngrams(w) == ft.compute_ngrams(w, 3, 6)
        assert sorted(ngram_buckets(w, 2_000_000)) == sorted(ft.ft_ngram_hashes(w, 3, 6,
                                                                                2_000_000))
    assert fnv1a_32(b"<wh") == ft.ft_hash_bytes(b"<wh")


def test_subword_vectors_for_unseen_words():
    words = ["cat", "dog"]
    ids, mask = subword_table(words, bucket=50)
    assert ids[0, 0] == 0 and (ids[0, 1:][mask[0, 1:]] >= 2).all()
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((2 + 50, 3)).astype(np.float32)
    m = mask.astype(np.float32)
    vecs = (rows[ids] * m[:, :, None]).sum(1) / m.sum(1, keepdims=True)
    kv = SubwordVectors(words, vecs, rows[:2], rows[2:], 50)
    np.testing.assert_allclose(kv.vector("cat"), vecs[0], rtol=1e-6)
    want = np.mean([rows[2 + b] for b in ngram_buckets("cta", 50)], axis=0)
    np.testing.assert_allclose(kv.vector("cta"), want, rtol=1e-6)
    assert len(kv.most_similar("cta", topn=2)) == 2


def test_fasttext_misspelling_finds_the_word():
    corpus = _topic_corpus()
    model, hist, kv = train_fasttext(corpus, vector_size=16, window=3, epochs=3, sample=0,
                                     bucket=5000, batch_words=40, alpha=0.05)
    assert isinstance(model, FastText) and hist[-1]["train_loss"] < hist[0]["train_loss"]
    top = [w for w, _ in kv.most_similar("a3", topn=5)]
    assert all(w[0] == "a" for w in top)
    assert "aa3" not in kv and kv.most_similar("aa3", topn=1)[0][0][0] == "a"


@pytest.mark.parametrize("row_cap", [None, 3])
def test_fasttext_word_grouped_step_equals_subword_step(row_cap):
    """sgd_step_words (hidden vectors once per distinct word, errors summed per word)
    is the same update as sgd_step on the expanded subword rows."""
    rng = np.random.default_rng(0)
    v, bucket, d, n, neg = 12, 20, 6, 40, 3
    sub_ids = rng.integers(v, v + bucket, (v, 5))
    sub_ids[:, 0] = np.arange(v)
    sub_ids[3, 2] = sub_ids[3, 1]                 # a word with a repeated bucket
    sub_mask = np.arange(5)[None, :] < rng.integers(1, 6, v)[:, None]
    words = rng.integers(0, v, n)                 # repeats: grouped per word
    outputs = rng.integers(0, v, (n, 1 + neg))
    labels = np.zeros(outputs.shape, np.float32)
    labels[:, 0] = 1
    mask = rng.random(outputs.shape) > 0.1
    a, b = FastText(v, d, bucket), FastText(v, d, bucket)
    for m in (a, b):
        m.out_embed.weight.array[:] = rng.standard_normal((v, d)).astype(np.float32) if m is a \
            else a.out_embed.weight.array
        m.in_embed.weight.array[:] = a.in_embed.weight.array
    before = a.in_embed.weight.array.copy()
    la = a.sgd_step(sub_ids[words], outputs, labels, mask, 0.3, sub_mask[words], row_cap)
    lb = b.sgd_step_words(words, sub_ids, sub_mask, outputs, labels, mask, 0.3, row_cap)
    assert la == pytest.approx(lb, rel=1e-6)
    for p, q in ((a.in_embed, b.in_embed), (a.out_embed, b.out_embed)):
        np.testing.assert_allclose(q.weight.array, p.weight.array, rtol=1e-5, atol=1e-6)
    assert np.abs(b.in_embed.weight.array[v:] - before[v:]).max() > 1e-3  # buckets moved
