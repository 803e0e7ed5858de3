"""fra-eng as d2l prepares it, the held-out split, d2l's BLEU and corpus BLEU against
sacrebleu, and the seq2seq models: shapes, the masked loss, greedy and beam decoding."""
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.models.seq2seq import (EncoderDecoder, MaskedSoftmaxCELoss,
                                      Seq2SeqAttentionDecoder, Seq2SeqDecoder, Seq2SeqEncoder,
                                      TransformerSeq2Seq, beam_search, predict_seq2seq,
                                      sequence_mask)
from chainrule.text.translation import (bleu, build_vocabs, corpus_bleu, preprocess_nmt,
                                        split_pairs, tokenize_nmt)
from chainrule.train.seq2seq import train_seq2seq

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
RAW = "Go.\tVa !\nHi.\tSalut !\nRun!\tCours\u202f!\nI lost.\tJ'ai perdu.\nHe's calm.\tIl est calme.\n"


def test_preprocess_and_tokenize_are_d2ls():
    text = preprocess_nmt(RAW)
    assert text.splitlines()[:3] == ["go .\tva !", "hi .\tsalut !", "run !\tcours !"]
    src, tgt = tokenize_nmt(text)
    assert src[3] == ["i", "lost", "."] and tgt[4] == ["il", "est", "calme", "."]
    assert len(tokenize_nmt(text, num_examples=2)[0]) == 3   # d2l keeps num_examples + 1


def test_held_out_split_is_seeded_and_short():
    src = [["w"] * (i % 14 + 1) for i in range(400)]
    tgt = [["v"] * (i % 12 + 1) for i in range(400)]
    train, test = split_pairs(src, tgt)
    short = sum(1 for s, t in zip(src, tgt) if len(s) <= 10 and len(t) <= 10)
    assert len(test) == round(0.05 * short) and len(train) + len(test) == 400
    assert all(len(s) <= 10 and len(t) <= 10 for s, t in test)
    assert split_pairs(src, tgt)[1] == test


def test_d2l_bleu_values():
    assert bleu("il est calme .".split(), "il est calme .".split(), 2) == 1.0
    # brevity penalty exp(1 - 4/3) times p1^(1/2) p2^(1/4) with p1 = 3/3, p2 = 1/2
    assert bleu("il est .".split(), "il est calme .".split(), 2) == \
        pytest.approx(np.exp(-1 / 3) * 0.5 ** 0.25)
    assert bleu([], ["a"], 2) == 0.0


def test_corpus_bleu_equals_sacrebleu():
    sacrebleu = pytest.importorskip("sacrebleu")
    rng = np.random.default_rng(0)
    words = "le la un une chat chien est sur il elle mange dort .".split()
    refs = [list(rng.choice(words, rng.integers(4, 12))) for _ in range(40)]
    hyps = [r[:] for r in refs]
    for h in hyps:                       # corrupt some tokens, drop some
        for i in range(len(h)):
            if rng.random() < 0.3:
                h[i] = str(rng.choice(words))
        if rng.random() < 0.3:
            h.pop()
    ours = corpus_bleu(hyps, refs)
    theirs = sacrebleu.corpus_bleu([" ".join(h) for h in hyps], [[" ".join(r) for r in refs]],
                                   tokenize="none", smooth_method="none").score
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_sequence_mask_and_masked_loss_are_d2ls():
    X = cr.tensor([[1, 2, 3], [4, 5, 6]])
    assert sequence_mask(X, cr.tensor([1, 2])).tolist() == [[1, 0, 0], [4, 5, 0]]
    loss = MaskedSoftmaxCELoss()(cr.ones(3, 4, 10), cr.ones((3, 4), dtype=cr.int64),
                                 cr.tensor([4, 2, 0]))
    np.testing.assert_allclose(loss.numpy(), [2.3026, 1.1513, 0.0], atol=1e-4)


def _tiny_pairs():
    src = [s.split() for s in ["go .", "hi .", "i lost .", "he's calm ."] * 8]
    tgt = [t.split() for t in ["va !", "salut !", "j'ai perdu .", "il est calme ."] * 8]
    sv, tv = build_vocabs(src, tgt, min_freq=1)
    return src, tgt, sv, tv


@pytest.mark.parametrize("kind", ["seq2seq", "attention", "transformer"])
def test_models_learn_a_tiny_corpus_and_decode(kind):
    from chainrule.data import DataLoader, TensorDataset
    from chainrule.text.sequence import sequences_to_indices
    cr.manual_seed(0)
    src, tgt, sv, tv = _tiny_pairs()
    X, xl = sequences_to_indices(src, sv, 6)
    Y, yl = sequences_to_indices(tgt, tv, 6)
    loader = DataLoader(TensorDataset(X, xl, Y, yl), batch_size=8, shuffle=True,
                        generator=np.random.default_rng(0))
    if kind == "transformer":
        net = TransformerSeq2Seq(len(sv), len(tv), 32, 64, 4, 1, dropout=0.0)
    else:
        dec = Seq2SeqDecoder if kind == "seq2seq" else Seq2SeqAttentionDecoder
        net = EncoderDecoder(Seq2SeqEncoder(len(sv), 16, 32, 1), dec(len(tv), 16, 32, 1))
    hist = train_seq2seq(net, loader, 0.01, 60, tv)
    assert hist[-1] < 0.2 * hist[0]
    assert predict_seq2seq(net, "i lost .", sv, tv, 6)[0] == "j'ai perdu ."
    assert beam_search(net, "he's calm .", sv, tv, 6, beam_size=3) == "il est calme ."


@pytest.mark.skipif(not os.path.exists(os.path.join(SHARED, "fra-eng", "fra.txt")),
                    reason="needs ../shared/data/fra-eng/fra.txt")
def test_real_fra_eng_pipeline(monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", os.path.abspath(SHARED))
    from chainrule.text.translation import load_data_nmt
    loader, sv, tv = load_data_nmt(2, 8, seed=0)
    X, xl, Y, yl = next(iter(loader))
    assert X.shape == (2, 8) and Y.shape == (2, 8) and X.dtype == cr.int64
    assert (len(sv), len(tv)) == (184, 201)


def test_bucket_batch_sampler_covers_every_index_with_similar_lengths():
    from chainrule.text.batching import BucketBatchSampler
    lengths = np.random.default_rng(1).integers(1, 11, size=1000)
    s = BucketBatchSampler(lengths, 32, pool=10, generator=np.random.default_rng(0))
    batches = list(s)
    assert len(batches) == len(s) == 32
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000))
    assert sum(len(b) < 32 for b in batches) == 1
    # sorted within pools of 320: a batch spans one or two lengths (random ones: ~10)
    spread = [np.ptp(lengths[b]) for b in batches]
    assert np.mean(spread) <= 1.5 < 8 < np.mean([np.ptp(lengths[i:i + 32])
                                            for i in range(0, 1000, 32)])
    again = BucketBatchSampler(lengths, 32, pool=10, generator=np.random.default_rng(0))
    assert [b for b in again] == batches
    with pytest.raises(ValueError, match="BucketBatchSampler: batch_size"):
        BucketBatchSampler(lengths, 0)


def test_bucket_batch_sampler_without_shuffle_is_sorted_and_draws_no_randomness():
    from chainrule.text.batching import BucketBatchSampler
    lengths = np.random.default_rng(2).integers(1, 11, size=100)
    cr.manual_seed(5)
    before = cr.rand(1).item()
    cr.manual_seed(5)
    batches = list(BucketBatchSampler(lengths, 32, shuffle=False))
    assert cr.rand(1).item() == before                      # the generator was not drawn
    assert [len(b) for b in batches] == [32, 32, 32, 4]
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(100))
    assert (np.diff(lengths[flat]) >= 0).all()
    assert list(BucketBatchSampler(lengths, 32, shuffle=False)) == batches


def test_trimmed_batches_give_d2ls_padded_loss():
    # the Transformer masks padded keys, so cutting a batch to its longest pair changes
    # nothing but the loss's mean over the steps, which Seq2SeqTrainer scales back
    from chainrule.text.sequence import sequences_to_indices
    from chainrule.train.nmt import Seq2SeqTrainer
    cr.manual_seed(0)
    src, tgt, sv, tv = _tiny_pairs()
    X, xl = sequences_to_indices(src, sv, 9)
    Y, yl = sequences_to_indices(tgt, tv, 9)
    net = TransformerSeq2Seq(len(sv), len(tv), 16, 32, 2, 1, dropout=0.0)
    tr = Seq2SeqTrainer(net, tv.bos, num_steps=9)
    _, _, full = tr.compute((X, xl), (Y, yl))
    n, m = int(xl.max().item()), int(yl.max().item())
    assert n < 9 and m < 9
    _, _, cut = tr.compute((X[:, :n], xl), (Y[:, :m], yl))
    np.testing.assert_allclose(cut.item(), full.item(), rtol=1e-5)


def test_unpadded_source_for_bucketed_models_and_the_same_transformer_translation():
    # d2l's RNN encoder reads the pads: its state after "go . <eos> <pad>..." differs
    # from the state after "go . <eos>", so a model trained on trimmed (bucketed)
    # batches decodes its source unpadded; the Transformer masks pads: same output
    from chainrule.models.seq2seq import _encode_source, predict_seq2seq, beam_search
    from chainrule.train.nmt import pads_source
    src, tgt, sv, tv = _tiny_pairs()
    X, n = _encode_source("go .", sv, 6)
    assert X.shape == (1, 6) and int(n.item()) == 3 and int(X[0, 5].item()) == sv.pad
    X, n = _encode_source("go .", sv, 6, pad_source=False)
    assert X.shape == (1, 3) and int(n.item()) == 3 and int(X[0, 2].item()) == sv.eos
    cr.manual_seed(0)
    rnn = EncoderDecoder(Seq2SeqEncoder(len(sv), 8, 16, 2), Seq2SeqDecoder(len(tv), 8, 16, 2))
    h_pad = rnn.encoder(*_encode_source("go .", sv, 6))[1]
    h_cut = rnn.encoder(*_encode_source("go .", sv, 6, pad_source=False))[1]
    assert not np.allclose(h_pad.detach().numpy(), h_cut.detach().numpy())
    net = TransformerSeq2Seq(len(sv), len(tv), 16, 32, 2, 1, dropout=0.0)
    for s in ["go .", "i lost ."]:
        assert predict_seq2seq(net, s, sv, tv, 6)[0] == \
            predict_seq2seq(net, s, sv, tv, 6, pad_source=False)[0]
        assert beam_search(net, s, sv, tv, 6, 2) == \
            beam_search(net, s, sv, tv, 6, 2, pad_source=False)
    assert pads_source({"train_args": {"bucket": False}}) and pads_source({})
    assert not pads_source({"train_args": {"bucket": True}})
