"""Language-model batching: d2l's random sampling and sequential partitioning,
LMDataLoader, and PyTorch word_language_model's batchify / get_batch."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.text import (LMDataLoader, batchify, detach_state, get_batch, num_batches,
                            seq_data_iter_random, seq_data_iter_sequential)


def _np(batches):
    return [(x.numpy(), y.numpy()) for x, y in batches]


@pytest.mark.parametrize("n,B,T", [(35, 2, 5), (1000, 4, 7), (97, 3, 10)])
def test_random_sampling_properties(n, B, T):
    corpus = np.arange(n)
    for seed in range(5):
        batches = _np(seq_data_iter_random(corpus, B, T, np.random.default_rng(seed)))
        starts = [int(x[b, 0]) for x, _ in batches for b in range(B)]
        offset = starts[0] % T
        assert 0 <= offset < T
        assert len(batches) == ((n - offset - 1) // T) // B
        for x, y in batches:
            assert x.shape == y.shape == (B, T) and x.dtype == np.int64
            assert (y == x + 1).all()                       # targets: inputs shifted by one
            assert (x == x[:, :1] + np.arange(T)).all()     # rows are contiguous stretches
        # subsequences are disjoint, aligned on the offset, and in shuffled order
        assert len(set(starts)) == len(starts) and all(s % T == offset for s in starts)
        assert max(starts) + T <= n - 1
    # with many subsequences the order is a real shuffle
    x0 = _np(seq_data_iter_random(np.arange(2000), 4, 5, np.random.default_rng(0)))
    firsts = [int(x[0, 0]) for x, _ in x0]
    assert firsts != sorted(firsts)


def test_random_sampling_covers_the_corpus():
    n, B, T = 200, 3, 6
    offsets = set()
    for seed in range(40):
        batches = _np(seq_data_iter_random(np.arange(n), B, T, seed))
        starts = np.sort(np.concatenate([x[:, 0] for x, _ in batches]))
        offset = int(starts[0] % T)
        offsets.add(offset)
        grid = np.arange(offset, n - T, T)  # every full subsequence (with its target)
        grid = grid[grid + T <= n - 1]
        # the epoch uses distinct grid subsequences, leaving fewer than one batch out
        assert np.isin(starts, grid).all() and len(np.unique(starts)) == len(starts)
        assert 0 <= len(grid) - len(starts) < B
    assert offsets == set(range(T))


@pytest.mark.parametrize("n,B,T", [(35, 2, 5), (1000, 4, 7), (97, 3, 10)])
def test_sequential_partitioning_carries_rows(n, B, T):
    corpus = np.arange(n)
    for seed in range(5):
        batches = _np(seq_data_iter_sequential(corpus, B, T, np.random.default_rng(seed)))
        offset = int(batches[0][0][0, 0])
        assert 0 <= offset <= T
        row_len = (n - offset - 1) // B
        assert len(batches) == row_len // T
        for i, (x, y) in enumerate(batches):
            assert x.shape == (B, T) and (y == x + 1).all()
            assert (x[:, 0] == offset + np.arange(B) * row_len + i * T).all()
            if i:  # row b of batch i continues row b of batch i - 1
                assert (x[:, 0] == batches[i - 1][0][:, -1] + 1).all()
        rows = np.concatenate([x for x, _ in batches], axis=1)
        assert all((np.diff(r) == 1).all() for r in rows)


def test_targets_are_next_tokens_on_real_values():
    corpus = np.random.default_rng(3).integers(0, 50, 500)
    for fn in (seq_data_iter_random, seq_data_iter_sequential):
        for x, y in _np(fn(corpus, 4, 8, 1)):
            assert (y[:, :-1] == x[:, 1:]).all()
            # each (x, y) pair is corpus[s:s+T], corpus[s+1:s+T+1] for some s
            s = [np.flatnonzero([(corpus[k:k + 8] == row).all()
                                 for k in range(len(corpus) - 8)]) for row in x]
            assert all(any((corpus[k + 1:k + 9] == y[b]).all() for k in s[b]) for b in range(4))


def test_reproducibility_seed_generator_and_global_rng():
    corpus = np.arange(500)
    for mode in ("random", "sequential"):
        a = [_np(LMDataLoader(corpus, 4, 5, mode, seed=7)) for _ in range(2)]
        assert all(np.array_equal(p[0], q[0]) for p, q in zip(*a))
        loader = LMDataLoader(corpus, 4, 5, mode, seed=7)
        epochs = [_np(loader) for _ in range(5)]  # epochs differ, their sequence repeats
        e1 = epochs[0]
        assert any(not np.array_equal(e[0][0], e1[0][0]) for e in epochs[1:])
        assert all(np.array_equal(p[0], q[0]) for p, q in zip(e1, a[0]))
        g = _np(LMDataLoader(corpus, 4, 5, mode, generator=np.random.default_rng(7)))
        assert all(np.array_equal(p[0], q[0]) for p, q in zip(g, e1))
        cr.manual_seed(3)
        b1 = _np(LMDataLoader(corpus, 4, 5, mode))
        cr.manual_seed(3)
        b2 = _np(LMDataLoader(corpus, 4, 5, mode))
        assert all(np.array_equal(p[0], q[0]) for p, q in zip(b1, b2))
    cr.manual_seed(5)
    f1 = _np(seq_data_iter_random(corpus, 2, 3))
    cr.manual_seed(5)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(f1, _np(seq_data_iter_random(
        corpus, 2, 3))))


def test_loader_len_exact_modes_and_errors():
    for n in (50, 61, 333):
        for mode in ("random", "sequential"):
            loader = LMDataLoader(np.arange(n), 3, 4, mode, seed=0)
            assert len(loader) == num_batches(n, 3, 4, mode)
            for _ in range(20):
                assert len(list(loader)) == len(loader)
            assert loader.num_tokens == len(loader) * 12
    fixed = LMDataLoader(np.arange(50), 2, 5, "sequential", shuffle_offset=False)
    X, Y = next(iter(fixed))
    assert X.dtype == cr.int64 and X.numpy()[0].tolist() == [0, 1, 2, 3, 4]
    assert fixed.carries_state and not LMDataLoader(np.arange(50), 2, 5).carries_state
    assert len(fixed) == num_batches(50, 2, 5, "sequential", offset=0) == 4
    assert "mode='sequential'" in repr(fixed)
    X, Y = next(iter(LMDataLoader(cr.tensor(list(range(30))), 2, 3, seed=0)))
    assert (Y.numpy() == X.numpy() + 1).all()
    with pytest.raises(ValueError, match="too short"):
        LMDataLoader(np.arange(10), 4, 5)
    with pytest.raises(ValueError, match="mode must be"):
        LMDataLoader(np.arange(100), 2, 5, mode="shuffled")
    with pytest.raises(ValueError, match="1-D integer corpus"):
        LMDataLoader(np.zeros((10, 2), np.int64), 2, 2)
    with pytest.raises(ValueError, match="seed or generator"):
        LMDataLoader(np.arange(100), 2, 5, seed=0, generator=np.random.default_rng())


def test_batchify_get_batch_match_pytorch_word_language_model():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).integers(0, 100, 1003)

    def t_batchify(d, bsz):  # pytorch/examples word_language_model/main.py
        nbatch = d.size(0) // bsz
        d = d.narrow(0, 0, nbatch * bsz)
        return d.view(bsz, -1).t().contiguous()

    def t_get_batch(source, i, bptt):
        seq_len = min(bptt, len(source) - 1 - i)
        return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)

    ref = t_batchify(torch.from_numpy(data), 20)
    ours = batchify(data, 20)
    assert ours.shape == tuple(ref.shape) == (50, 20) and ours.dtype == cr.int64
    assert np.array_equal(ours.numpy(), ref.numpy())
    steps = 0
    for i in range(0, ours.shape[0] - 1, 35):
        x, y = get_batch(ours, i, 35)
        rx, ry = t_get_batch(ref, i, 35)
        assert np.array_equal(x.numpy(), rx.numpy()) and np.array_equal(y.numpy(), ry.numpy())
        steps += 1
    assert steps == 2 and get_batch(ours, 35, 35)[0].shape == (14, 20)
    assert get_batch(ours, 0, 5, flatten_target=False)[1].shape == (5, 20)
    with pytest.raises(ValueError, match="leaves no target"):
        get_batch(ours, 49, 5)
    with pytest.raises(ValueError, match="cannot fill"):
        batchify([1, 2], 3)


def test_detach_state_for_truncated_bptt():
    w = cr.tensor([2.0], requires_grad=True)
    h, c = w * 3, w * 4
    state = detach_state((h, [c, None]))
    assert isinstance(state, tuple) and isinstance(state[1], list) and state[1][1] is None
    assert not state[0].requires_grad and state[0].item() == 6.0
    assert detach_state(None) is None and detach_state(h).grad_fn is None
    with pytest.raises(TypeError, match="detach_state"):
        detach_state({"h": h})
