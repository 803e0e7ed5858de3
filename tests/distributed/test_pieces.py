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


def test_sync_batchnorm_one_rank_matches_torch_and_gradchecks():
    """The synchronised path (all-reduced mean and variance, differentiable) on a
    one-rank group: forward, input/weight/bias gradients and running statistics equal
    torch's BatchNorm2d; float64 gradcheck of the whole layer."""
    pytest.importorskip("mpi4py")
    from chainrule.autograd import gradcheck
    from chainrule.distributed.nn.functional import all_reduce
    dist.init_process_group("mpi")
    try:
        g = np.random.default_rng(0)
        x = g.standard_normal((4, 3, 5, 2))
        w, b = g.standard_normal(3), g.standard_normal(3)
        ours = nn.SyncBatchNorm(3).double()
        ours.weight.array[...] = w
        ours.bias.array[...] = b
        theirs = torch.nn.BatchNorm2d(3).double()
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(w))
            theirs.bias.copy_(torch.tensor(b))
        xc = cr.tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        gy = g.standard_normal(x.shape)
        yc, yt = ours(xc), theirs(xt)
        (yc * cr.tensor(gy)).sum().backward()
        (yt * torch.tensor(gy)).sum().backward()
        np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), atol=1e-12)
        for a, t in [(xc.grad, xt.grad), (ours.weight.grad, theirs.weight.grad),
                     (ours.bias.grad, theirs.bias.grad),
                     (ours.running_mean, theirs.running_mean),
                     (ours.running_var, theirs.running_var)]:
            np.testing.assert_allclose(a.numpy(), t.detach().numpy(), atol=1e-12)
        assert gradcheck(lambda x_, w_, b_: _sbn(ours, x_, w_, b_),
                         (cr.tensor(x[:2, :, :3], requires_grad=True),
                          cr.tensor(w, requires_grad=True), cr.tensor(b, requires_grad=True)))
        y = cr.tensor([1.0, 2.0], requires_grad=True)
        assert gradcheck(lambda t: all_reduce(t * t), (cr.tensor([1.0, -2.0], dtype=cr.float64,
                                                                 requires_grad=True),))
        with pytest.raises(ValueError, match="only ReduceOp.SUM"):
            all_reduce(y, op=dist.ReduceOp.MAX)
        with pytest.raises(ValueError, match="more than 1 value per channel"):
            nn.SyncBatchNorm(3)(cr.randn(1, 3))
        ours.eval()                                     # eval: the running statistics
        np.testing.assert_allclose(ours(xc).detach().numpy(),
                                   theirs.eval()(xt).detach().numpy(), atol=1e-12)
    finally:
        dist.destroy_process_group()


def _sbn(layer, x, w, b):
    return nn.SyncBatchNorm.forward(_Bound(layer, w, b), x)


class _Bound:
    """The layer with weight and bias replaced by graph inputs (for gradcheck)."""

    def __init__(self, layer, w, b):
        self.__dict__.update(training=True, track_running_stats=False, running_mean=None,
                             weight=w, bias=b, eps=layer.eps, num_features=layer.num_features,
                             _dims=layer._dims, _shape=layer._shape)

    def _check_input(self, x):
        pass
