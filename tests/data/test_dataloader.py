"""Dataset / Sampler / DataLoader / collate / transforms."""
import collections
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                            RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
                            TensorDataset, WeightedRandomSampler, default_collate,
                            get_worker_info, random_split)
from chainrule.data.transforms import Compose, Lambda, Normalize, ToTensor


def _xy(n=10):
    return TensorDataset(cr.tensor(np.arange(n * 2, dtype=np.float32).reshape(n, 2)),
                         cr.tensor(np.arange(n)))


class ListDS(Dataset):
    """A plain map-style dataset (no fast path)."""

    def __init__(self, n, fail_at=None):
        self.n, self.fail_at = n, fail_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise ValueError(f"bad sample {i}")
        return np.full(3, i, np.float32), i


def _flat(loader):
    return [[t.numpy().copy() for t in b] for b in loader]


# ----------------------------------------------------------------- datasets
def test_tensor_dataset_and_subset_concat():
    ds = _xy(5)
    x, y = ds[2]
    assert x.tolist() == [4.0, 5.0] and y.item() == 2 and len(ds) == 5
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(cr.zeros(3, 2), cr.zeros(4))
    sub = Subset(ds, [4, 0])
    assert len(sub) == 2 and sub[0][1].item() == 4
    cat = ConcatDataset([ds, _xy(3)])
    assert len(cat) == 8 and cat[6][1].item() == 1 and cat[-1][1].item() == 2
    with pytest.raises(IndexError):
        cat[8]
    assert len(ds + ds) == 10


def test_random_split_reproducible_and_fractions():
    a = random_split(range(10), [7, 3], generator=np.random.default_rng(1))
    b = random_split(range(10), [7, 3], generator=np.random.default_rng(1))
    assert list(a[0]) == list(b[0]) and sorted(list(a[0]) + list(a[1])) == list(range(10))
    cr.manual_seed(3)
    c = [list(s) for s in random_split(range(11), [0.5, 0.3, 0.2])]
    cr.manual_seed(3)
    d = [list(s) for s in random_split(range(11), [0.5, 0.3, 0.2])]
    assert c == d and [len(s) for s in c] == [6, 3, 2]  # torch: floor, then round-robin
    with pytest.raises(ValueError, match="sum of input lengths"):
        random_split(range(10), [3, 3])


# ----------------------------------------------------------------- samplers
def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    g = np.random.default_rng(0)
    perm = list(RandomSampler(range(6), generator=g))
    assert sorted(perm) == list(range(6))
    rs = RandomSampler(range(3), num_samples=7)
    assert len(rs) == 7 and len(list(rs)) == 7 and all(0 <= i < 3 for i in rs)
    assert sorted(list(rs)[:3]) == [0, 1, 2]  # chained permutations without replacement
    rep = list(RandomSampler(range(3), replacement=True, num_samples=50))
    assert len(rep) == 50 and set(rep) <= {0, 1, 2}
    assert sorted(SubsetRandomSampler([5, 7, 9])) == [5, 7, 9]
    w = list(WeightedRandomSampler([0, 1, 0], 5))
    assert w == [1] * 5
    bs = BatchSampler(SequentialSampler(range(7)), 3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    bs = BatchSampler(iter_sampler := SubsetRandomSampler(range(7)), 3, drop_last=True)
    assert len(bs) == 2 and [len(b) for b in bs] == [3, 3]
    assert iter_sampler is bs.sampler
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(SequentialSampler(range(3)), 0, False)


def test_random_sampler_reproducible_under_manual_seed():
    cr.manual_seed(7)
    a = [list(RandomSampler(range(20))) for _ in range(2)]
    cr.manual_seed(7)
    b = [list(RandomSampler(range(20))) for _ in range(2)]
    assert a == b and a[0] != a[1]  # same sequence of epochs, new order each epoch


# ----------------------------------------------------------------- DataLoader
def test_loader_batches_len_drop_last():
    ds = _xy(10)
    dl = DataLoader(ds, batch_size=4)
    batches = list(dl)
    assert len(dl) == 3 and [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert isinstance(batches[0], list) and batches[0][1].dtype == cr.int64
    assert batches[2][1].tolist() == [8, 9]
    dl = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dl) == 2 and len(list(dl)) == 2
    assert len(DataLoader(ds)) == 10 and list(DataLoader(ds))[3][1].tolist() == [3]
    unbatched = list(DataLoader(ListDS(3), batch_size=None))
    assert unbatched[1][0].shape == (3,) and unbatched[1][1] == 1


def test_fast_path_equals_per_item_collate():
    ds = _xy(9)
    order = [3, 1, 8, 0]
    fast = ds.get_batch(order)
    slow = default_collate([ds[i] for i in order])
    for f, s in zip(fast, slow):
        assert f.dtype == s.dtype and np.array_equal(f.numpy(), s.numpy())
    sub = Subset(ds, [8, 6, 4, 2])
    assert [b[1].tolist() for b in DataLoader(sub, batch_size=3)] == [[8, 6, 4], [2]]


def test_shuffle_reproducible_seed_and_generator():
    ds = _xy(20)
    cr.manual_seed(11)
    a = [_flat(DataLoader(ds, batch_size=6, shuffle=True)) for _ in range(2)]
    cr.manual_seed(11)
    b = [_flat(DataLoader(ds, batch_size=6, shuffle=True)) for _ in range(2)]
    assert all(np.array_equal(x, y) for ea, eb in zip(a, b) for ba, bb in zip(ea, eb)
               for x, y in zip(ba, bb))
    ys = np.concatenate([bt[1] for bt in a[0]])
    assert sorted(ys.tolist()) == list(range(20)) and ys.tolist() != list(range(20))
    g1 = _flat(DataLoader(ds, 5, shuffle=True, generator=np.random.default_rng(4)))
    g2 = _flat(DataLoader(ds, 5, shuffle=True, generator=np.random.default_rng(4)))
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(g1, g2))


@pytest.mark.parametrize("make", [lambda: _xy(37), lambda: ListDS(37)])
def test_workers_equal_single_process(make):
    ds = make()
    out = {}
    for nw in (0, 3):
        cr.manual_seed(5)
        out[nw] = _flat(DataLoader(ds, batch_size=4, shuffle=True, num_workers=nw))
    assert len(out[0]) == len(out[3]) == 10
    for b0, b3 in zip(out[0], out[3]):
        for x0, x3 in zip(b0, b3):
            assert x0.dtype == x3.dtype and np.array_equal(x0, x3)


def test_workers_really_run_in_background_and_persist():
    seen = set()

    class Spy(ListDS):
        def __getitem__(self, i):
            info = get_worker_info()
            seen.add((threading.current_thread() is threading.main_thread(),
                      info.num_workers if info else None))
            return super().__getitem__(i)

    dl = DataLoader(Spy(12), batch_size=2, num_workers=2, persistent_workers=True,
                    prefetch_factor=3)
    for _ in range(2):
        assert len(list(dl)) == 6
    assert seen == {(False, 2)} and dl._pool is not None


def test_worker_exception_reraised_with_batch_index():
    dl = DataLoader(ListDS(10, fail_at=7), batch_size=3, num_workers=2)
    with pytest.raises(ValueError, match=r"batch 2.*bad sample 7") as ei:
        list(dl)
    assert ei.value.batch_index == 2 and isinstance(ei.value.__cause__, ValueError)
    with pytest.raises(ValueError, match="bad sample 7") as ei:
        list(DataLoader(ListDS(10, fail_at=7), batch_size=3))
    assert ei.value.batch_index == 2


def test_loader_argument_errors_and_custom_collate():
    ds = _xy(4)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, shuffle=True, sampler=SequentialSampler(ds))
    with pytest.raises(ValueError, match="batch_sampler"):
        DataLoader(ds, batch_size=2, batch_sampler=[[0, 1]])
    dl = DataLoader(ds, batch_sampler=[[3, 0], [1]], collate_fn=lambda b: len(b))
    assert list(dl) == [2, 1] and len(dl) == 2


def test_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(list(DataLoader(Stream(), batch_size=3, drop_last=True))) == 2


# ----------------------------------------------------------------- collate
def test_default_collate_nested():
    Point = collections.namedtuple("Point", "x y")
    batch = [{"img": np.ones((2, 2), np.uint8) * i, "meta": (i, 0.5 * i, "s"),
              "p": Point(cr.tensor([i, i]), True)} for i in range(3)]
    out = default_collate(batch)
    assert out["img"].shape == (3, 2, 2) and out["img"].dtype == cr.uint8
    n, f, s = out["meta"]  # a tuple collates to a list (torch)
    assert n.dtype == cr.int64 and f.dtype == cr.float64 and s == ["s"] * 3
    assert isinstance(out["p"], Point) and out["p"].x.shape == (3, 2)
    assert out["p"].y.dtype == cr.bool and out["p"].y.tolist() == [True] * 3
    assert default_collate([np.float32(1), np.float32(2)]).dtype == cr.float32
    assert default_collate([[1, 2], [3, 4]])[0].tolist() == [1, 3]
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object()])


def test_default_collate_matches_torch_dtypes():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as tc
    for batch in ([1, 2], [1.5, 2.5], [True, False], [np.int32(1), np.int32(2)],
                  [np.zeros(2, np.float16), np.ones(2, np.float16)]):
        ours, theirs = default_collate(batch), tc(batch)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        assert np.array_equal(ours.numpy(), theirs.numpy())


# ----------------------------------------------------------------- transforms
def test_transforms():
    img = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    t = ToTensor()(img)
    assert t.shape == (3, 2, 4) and t.dtype == cr.float32
    assert np.allclose(t.numpy(), img.transpose(2, 0, 1) / 255.0)
    assert ToTensor()(np.zeros((5, 6), np.uint8)).shape == (1, 5, 6)
    n = Normalize([0.5, 0.0, 1.0], [0.5, 2.0, 1.0])(t)
    assert np.allclose(n.numpy()[0], (t.numpy()[0] - 0.5) / 0.5)
    assert np.allclose(n.numpy()[1], t.numpy()[1] / 2)
    Normalize([0.5] * 3, [0.5] * 3, inplace=True)(t)
    assert np.allclose(t.numpy()[0], (img[..., 0] / 255.0 - 0.5) / 0.5)
    comp = Compose([ToTensor(), Lambda(lambda x: x * 2)])
    assert comp(np.full((2, 2), 255, np.uint8)).tolist() == [[[2.0, 2.0], [2.0, 2.0]]]
    assert not comp.batchable
    with pytest.raises(ValueError, match="std"):
        Normalize([0.0], [0.0])
    with pytest.raises(TypeError):
        ToTensor()(cr.zeros(2, 2))
    imgs = np.random.default_rng(0).integers(0, 256, (5, 3, 4), dtype=np.uint8)
    both = Compose([ToTensor(), Normalize([0.1307], [0.3081])])
    assert both.batchable
    per = np.stack([both(i).numpy() for i in imgs])
    assert np.array_equal(both.apply_batch(imgs).numpy(), per)


def test_worker_timeout():
    import time

    class Slow(ListDS):
        def __getitem__(self, i):
            time.sleep(0.3)
            return super().__getitem__(i)

    with pytest.raises(RuntimeError, match="timed out after 0.05 seconds"):
        list(DataLoader(Slow(2), batch_size=1, num_workers=1, timeout=0.05))
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(Slow(2), num_workers=-1)
