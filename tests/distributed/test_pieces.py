"""The single-process pieces of data parallelism: DistributedSampler against torch's,
the engine's post-accumulate-grad hooks and end-of-backward callbacks, and errors."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.distributed as dist
import chainrule.nn as nn
from chainrule.core.engine import queue_callback
from chainrule.data import DataLoader, DistributedSampler, TensorDataset

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("n,world,drop_last", [(10, 3, False), (10, 3, True), (2, 4, False),
                                               (12, 4, False), (7, 2, True)])
def test_distributed_sampler_matches_torch_without_shuffle(n, world, drop_last):
    from torch.utils.data import DistributedSampler as TS
    for r in range(world):
        ours = DistributedSampler(range(n), world, r, shuffle=False, drop_last=drop_last)
        theirs = TS(range(n), world, r, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_distributed_sampler_shuffle_partitions_and_set_epoch():
    shares = [DistributedSampler(range(20), 4, r, seed=3) for r in range(4)]
    first = [list(s) for s in shares]
    assert sorted(sum(first, [])) == list(range(20)) and first[0] != list(range(0, 20, 4))
    for s in shares:
        s.set_epoch(1)
    second = [list(s) for s in shares]
    assert sorted(sum(second, [])) == list(range(20)) and second != first
    assert [list(s) for s in shares] == second                 # same epoch, same order
    loader = DataLoader(TensorDataset(cr.arange(20.)), batch_size=5, sampler=shares[1])
    assert sorted(float(v) for (b,) in loader for v in b.tolist()) == sorted(
        float(i) for i in second[1])


def test_distributed_sampler_errors():
    with pytest.raises(ValueError, match="Invalid rank 3"):
        DistributedSampler(range(4), 3, 3)
    if not dist.is_initialized():
        with pytest.raises(RuntimeError, match="init_process_group"):
            DistributedSampler(range(4))


def test_post_accumulate_grad_hook_and_queue_callback():
    p = nn.Parameter(cr.tensor([1.0, 2.0]))
    seen, done = [], []

    def hook(t):
        seen.append(t.grad.tolist())
        if len(seen) == 1:
            queue_callback(lambda: done.append(p.grad.tolist()))
    h = p.register_post_accumulate_grad_hook(hook)
    (p * 3 + p * p).sum().backward()           # three gradients reach p
    assert len(seen) == 3 and seen[-1] == [5.0, 7.0] and done == [[5.0, 7.0]]
    h.remove()
    (p * 1).sum().backward()
    assert len(seen) == 3
    with pytest.raises(RuntimeError, match="non-leaf"):
        (p * 2).register_post_accumulate_grad_hook(hook)
    with pytest.raises(RuntimeError, match="no backward pass"):
        queue_callback(lambda: None)


def test_uninitialised_and_bad_backend():
    if dist.is_initialized():
        pytest.skip("a process group is running in this process")
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="init_process_group"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="backend 'nccl'"):
        dist.init_process_group("nccl")
    assert dist.is_available() and not dist.is_initialized()


def test_single_rank_ddp_is_plain_training():
    pytest.importorskip("mpi4py")
    dist.init_process_group("mpi")          # a singleton MPI job: world size 1
    try:
        assert dist.get_world_size() == 1 and dist.get_rank() == 0
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
        ref = {k: v.clone() for k, v in model.state_dict().items()}
        ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=1e-5)
        assert list(ddp.state_dict())[0].startswith("module.")
        assert len(ddp.buckets) == 6 and ddp.buckets[0] == ["2.bias"]
        x = cr.randn(8, 4)
        ddp(x).pow(2).mean().backward()
        grads = [p.grad.clone() for p in model.parameters()]
        plain = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
        plain.load_state_dict(ref)
        plain(x).pow(2).mean().backward()
        for g, q in zip(grads, plain.parameters()):
            np.testing.assert_allclose(g.numpy(), q.grad.numpy(), rtol=1e-6)
        # from the second backward on, every bucket starts during backward (overlap)
        reducer, launched = ddp._ddp, []
        finish = reducer._finish
        reducer._finish = lambda: (launched.append(reducer.next_bucket), finish())
        for _ in range(2):
            ddp(x).pow(2).mean().backward()
        assert launched == [6, 6]
    finally:
        dist.destroy_process_group()
