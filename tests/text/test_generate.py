"""Generation: greedy, temperature, top-k and top-p sampling, seeds, <eos> stop."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.models import get_model
from chainrule.text import Vocab
from chainrule.text.generate import filter_probs, generate, generate_ids, sample_token

LOGITS = np.log(np.array([0.05, 0.4, 0.1, 0.3, 0.15]))


def test_top_k_never_samples_outside_the_top_k():
    rng = np.random.default_rng(0)
    draws = {sample_token(LOGITS, top_k=2, rng=rng) for _ in range(500)}
    assert draws == {1, 3}
    p = filter_probs(LOGITS, top_k=2)
    np.testing.assert_allclose(p, [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0])


def test_top_p_keeps_the_smallest_nucleus():
    # sorted: 0.4, 0.3, 0.15, 0.1, 0.05 -> cumulative 0.4, 0.7, 0.85
    np.testing.assert_allclose(filter_probs(LOGITS, top_p=0.7), [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0])
    p = filter_probs(LOGITS, top_p=0.8)
    assert set(np.flatnonzero(p)) == {1, 3, 4} and p.sum() == pytest.approx(1)
    assert np.flatnonzero(filter_probs(LOGITS, top_p=0.1)).tolist() == [1]
    assert np.count_nonzero(filter_probs(LOGITS, top_p=1.0)) == 5
    rng = np.random.default_rng(1)
    assert {sample_token(LOGITS, top_p=0.7, rng=rng) for _ in range(300)} == {1, 3}


def test_temperature_sharpens_and_flattens():
    cold, hot = filter_probs(LOGITS, temperature=0.1), filter_probs(LOGITS, temperature=10)
    assert cold[1] > 0.9 and hot.max() - hot.min() < 0.1
    np.testing.assert_allclose(filter_probs(LOGITS), np.exp(LOGITS), rtol=1e-9)
    with pytest.raises(ValueError, match="temperature"):
        filter_probs(LOGITS, temperature=0)
    with pytest.raises(ValueError, match="top_p"):
        filter_probs(LOGITS, top_p=1.5)
    with pytest.raises(ValueError, match="top_k"):
        filter_probs(LOGITS, top_k=0)


@pytest.fixture
def lm():
    vocab = Vocab(list("the time traveller was expounding"))
    cr.manual_seed(0)
    return get_model("gru-lm", vocab_size=len(vocab), hidden_size=16, embed_size=8), vocab


def test_greedy_is_deterministic_and_seeded_sampling_reproducible(lm):
    model, vocab = lm
    g1 = generate(model, vocab, "time ", 30, greedy=True, seed=1)
    assert g1 == generate(model, vocab, "time ", 30, greedy=True, seed=2)
    assert g1.startswith("time ")
    assert len(generate(model, vocab, list("time "), 30, greedy=True)) == 35
    s1 = generate(model, vocab, "time ", 30, seed=3, temperature=1.5)
    assert s1 == generate(model, vocab, "time ", 30, seed=3, temperature=1.5)
    assert s1 != generate(model, vocab, "time ", 30, seed=4, temperature=1.5)
    assert model.training  # generate restores the mode


def test_greedy_follows_the_argmax(lm):
    model, vocab = lm
    ids = generate_ids(model, vocab.encode(list("the")), 5, greedy=True)
    with cr.no_grad():
        logits, _ = model(cr.tensor(np.array([ids[:-1]])))
    np.testing.assert_array_equal(logits.numpy()[0, 2:].argmax(-1), ids[3:])


class _AlwaysEOS(nn.Module):
    def __init__(self, vocab_size, eos):
        super().__init__()
        self.vocab_size, self.eos = vocab_size, eos

    def forward(self, x, state=None):
        z = np.zeros(tuple(x.shape) + (self.vocab_size,), np.float32)
        z[..., self.eos] = 10.0
        return cr.tensor(z), None


def test_stops_at_eos():
    vocab = Vocab(["a", "b", "<eos>"])
    m = _AlwaysEOS(len(vocab), vocab.eos)
    assert generate(m, vocab, ["a"], 50, seed=0) == ["a"]
    assert generate(m, vocab, ["a"], 3, seed=0, stop_at_eos=False) == ["a"] + ["<eos>"] * 3
    assert generate_ids(m, [1], 50, greedy=True, eos=vocab.eos) == [1, vocab.eos]


def test_chinese_prefix_and_refusals():
    vocab = Vocab(list("分开不想要你走"))
    cr.manual_seed(0)
    m = get_model("lstm-lm", vocab_size=len(vocab), hidden_size=8)
    out = generate(m, vocab, "分开", 10, seed=0, top_k=3)
    assert out.startswith("分开") and len(out) >= 12
    bi = get_model("lstm-bilm", vocab_size=len(vocab), hidden_size=8)
    with pytest.raises(ValueError, match="bidirectional"):
        generate(bi, vocab, "分开", 5)
    w = get_model("wavenet-lm", vocab_size=len(vocab), channels=4, layers=2, num_blocks=1)
    assert generate(w, vocab, "不", 6, greedy=True).startswith("不")
