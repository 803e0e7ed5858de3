"""Language models: the zoo entries build, run forward/backward and carry state;
perplexity matches a hand calculation; LMTrainer resets or carries the hidden state
as the batching mode requires; the WaveNet LM is causal."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.models import get_model, list_models
from chainrule.models.rnn_lm import RNNLM, perplexity
from chainrule.text import LMDataLoader, detach_state
from chainrule.train.lm import LMTrainer, evaluate_lm, lm_loss, train_lm_epoch

V = 11
LM_MODELS = [m for m in list_models(task="language_model")]


def _small(name):
    if name == "wavenet-lm":
        return get_model(name, vocab_size=V, channels=8, layers=3, num_blocks=1)
    return get_model(name, vocab_size=V, hidden_size=8, embed_size=6)


def _tokens(n, t, seed=0):
    return cr.tensor(np.random.default_rng(seed).integers(0, V, (n, t)))


@pytest.mark.parametrize("name", LM_MODELS)
def test_lm_forward_backward(name):
    cr.manual_seed(0)
    m = _small(name)
    logits, state = m(_tokens(3, 7))
    assert logits.shape == (3, 7, V)
    loss = cr.nn.functional.cross_entropy(logits.reshape(-1, V), _tokens(3, 7, 1).reshape(-1))
    loss.backward()
    grads = [p.grad for p in m.parameters()]
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)
    if name != "wavenet-lm":
        hs = state if isinstance(state, tuple) else (state,)
        d = 2 if "bilm" in name else 1
        assert hs[0].shape == (m.num_layers * d, 3, 8)


def test_registry_has_the_issue_entries():
    for name in ("rnn-lm", "gru-lm", "lstm-lm", "deep-lstm-lm", "lstm-bilm", "wavenet-lm"):
        assert name in LM_MODELS


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_state_carrying_equals_one_long_sequence(cell):
    cr.manual_seed(0)
    m = RNNLM(V, hidden_size=8, num_layers=2, cell=cell, embed_size=5)
    x = _tokens(2, 10)
    with cr.no_grad():
        full, _ = m(x)
        a, s = m(x[:, :4])
        b, _ = m(x[:, 4:], detach_state(s))
        z = m.begin_state(2)
        np.testing.assert_allclose(m(x, z)[0].numpy(), full.numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.concatenate([a.numpy(), b.numpy()], 1), full.numpy(),
                               rtol=1e-5, atol=1e-6)


def test_one_hot_and_tied_weights():
    m = RNNLM(V, hidden_size=8, cell="gru", embed_size=0)
    assert m.embedding is None and m.rnn.input_size == V
    t = RNNLM(V, hidden_size=8, embed_size=8, tie_weights=True)
    assert t.decoder.weight is t.embedding.weight
    with pytest.raises(ValueError, match="tie_weights"):
        RNNLM(V, hidden_size=8, embed_size=6, tie_weights=True)
    u = RNNLM(V, hidden_size=8, embed_size=8, init_range=0.1)
    assert max(float(abs(p.detach().numpy()).max()) for p in u.parameters()) <= 0.1


def test_perplexity_matches_hand_calculation():
    cr.manual_seed(0)
    m = RNNLM(V, hidden_size=8, cell="lstm", embed_size=4)
    corpus = np.random.default_rng(0).integers(0, V, 200)
    loader = LMDataLoader(corpus, 2, 5, mode="sequential", shuffle_offset=False)
    nll, n, state = 0.0, 0, None
    with cr.no_grad():
        for X, Y in loader:
            logits, state = m(X, state)
            z = logits.numpy().astype(np.float64).reshape(-1, V)
            logp = z - z.max(1, keepdims=True)
            logp -= np.log(np.exp(logp).sum(1, keepdims=True))
            nll -= logp[np.arange(len(z)), Y.numpy().reshape(-1)].sum()
            n += Y.numel()
    assert evaluate_lm(m, loader) == pytest.approx(math.exp(nll / n), rel=1e-5)
    # random mode resets the state: the first batch alone has the same value either way
    X, Y = next(iter(loader))
    loss, _, _ = lm_loss(m, X, Y)
    assert perplexity(loss.item()) == pytest.approx(math.exp(loss.item()))
    assert perplexity(1e6) == float("inf")


def test_train_epoch_lowers_perplexity_and_clips():
    cr.manual_seed(0)
    corpus = np.tile(np.arange(V), 30)
    m = RNNLM(V, hidden_size=16, cell="gru", embed_size=8)
    opt = optim.Adam(m.parameters(), lr=0.02)
    loader = LMDataLoader(corpus, 4, 8, mode="random", seed=0)
    first, _ = train_lm_epoch(m, loader, opt, clip=1.0)
    for _ in range(4):
        last, tps = train_lm_epoch(m, loader, opt, clip=1.0)
    assert last < first / 2 and tps > 0


class _Spy(RNNLM):
    def forward(self, x, state=None):
        self.seen.append(state is None)
        return super().forward(x, state)


@pytest.mark.parametrize("mode", ["random", "sequential"])
def test_lm_trainer_resets_or_carries_state(mode):
    cr.manual_seed(0)
    m = _Spy(V, hidden_size=8, cell="lstm", embed_size=4)
    m.seen = []
    corpus = np.tile(np.arange(V), 20)
    loader = LMDataLoader(corpus, 2, 6, mode=mode, seed=0)
    tr = LMTrainer(m, optim.Adam(m.parameters(), lr=0.01), clip_grad_norm=1.0, log=lambda s: 0)
    hist = tr.fit(loader, loader, epochs=2)
    assert {"train_ppl", "val_ppl", "train_loss"} <= set(hist[-1])
    assert hist[-1]["train_ppl"] == pytest.approx(math.exp(hist[-1]["train_loss"]), rel=1e-4)
    per_pass = len(loader)
    first_of_pass = m.seen[::per_pass]
    assert all(first_of_pass)                    # every epoch / evaluation starts fresh
    rest = [s for i, s in enumerate(m.seen) if i % per_pass]
    assert all(rest) if mode == "random" else not any(rest)


def test_wavenet_is_causal_by_gradient():
    cr.manual_seed(0)
    m = get_model("wavenet-lm", vocab_size=V, channels=6, layers=3, num_blocks=2)
    T = 12
    e = cr.randn(1, T, 6, requires_grad=True)
    out = m.forward_embedded(e)
    t = 5
    out[0, t].sum().backward()
    g = np.abs(e.grad.numpy()[0]).sum(1)
    assert np.all(g[t + 1:] == 0)                      # no dependence on the future
    assert g[t] > 0 and g[max(0, t - m.receptive_field + 1)] > 0
    assert np.all(g[:max(0, t - m.receptive_field + 1)] == 0)   # nor beyond the field


def test_wavenet_future_tokens_do_not_change_past_logits():
    cr.manual_seed(0)
    m = get_model("wavenet-lm", vocab_size=V, channels=6, layers=2, num_blocks=1)
    x = _tokens(1, 9)
    y = x.numpy().copy()
    y[0, 6:] = (y[0, 6:] + 1) % V
    with cr.no_grad():
        a, b = m(x)[0].numpy(), m(cr.tensor(y))[0].numpy()
    np.testing.assert_array_equal(a[:, :6], b[:, :6])
    assert not np.allclose(a[:, 6], b[:, 6])


@pytest.mark.parametrize("name", ["rnn-bilm", "lstm-bilm"])
def test_bidirectional_scorer_never_sees_its_target(name):
    cr.manual_seed(0)
    m = _small(name)
    assert m.causal is False
    x = _tokens(2, 9)
    y = x.numpy().copy()
    y[:, 5] = (y[:, 5] + 1) % V
    with cr.no_grad():
        a, b = m(x)[0].numpy(), m(cr.tensor(y))[0].numpy()
    same = [np.allclose(a[:, t], b[:, t]) for t in range(9)]
    assert same == [t == 4 for t in range(9)]   # logits[4] predict X[5]: blind to it
