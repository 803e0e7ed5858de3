"""Padding, distance, Fold/Unfold and lazy layers against torch.nn (the oracle)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn

torch = pytest.importorskip("torch")

PADS = [("ConstantPad1d", (2, 1.5), (2, 4, 5)), ("ConstantPad2d", ((1, 2, 0, 1), 3.5), (1, 2, 4, 5)),
        ("ConstantPad3d", (1, 0.5), (1, 2, 3, 4, 5)), ("ZeroPad1d", ((1, 2),), (2, 3)),
        ("ZeroPad2d", (2,), (1, 2, 4, 5)), ("ZeroPad3d", (1,), (1, 2, 2, 3, 3)),
        ("ReflectionPad1d", (2,), (2, 4, 5)), ("ReflectionPad2d", ((1, 2, 2, 1),), (1, 2, 4, 5)),
        ("ReflectionPad3d", (1,), (1, 2, 3, 4, 5)), ("ReplicationPad1d", ((2, 1),), (2, 4, 5)),
        ("ReplicationPad2d", (1,), (1, 2, 4, 5)), ("ReplicationPad3d", (1,), (1, 2, 3, 4, 5)),
        ("CircularPad1d", (1,), (2, 4, 5)), ("CircularPad2d", (1,), (1, 2, 4, 5)),
        ("CircularPad3d", (1,), (1, 2, 3, 4, 5))]


@pytest.mark.parametrize("name,args,shape", PADS, ids=[p[0] for p in PADS])
def test_padding_layers_match_torch(name, args, shape):
    x = np.random.default_rng(0).normal(size=shape)
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    xt = cr.tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    y, yt = ours(xt), theirs(tt)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy())
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), tt.grad.numpy())
    assert repr(ours) == repr(theirs)


def test_distance_and_fold_layers_match_torch():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    for name, kw in [("CosineSimilarity", {"dim": 1}), ("PairwiseDistance", {"p": 1.0})]:
        ours = getattr(nn, name)(**kw)(cr.tensor(a), cr.tensor(b)).numpy()
        theirs = getattr(torch.nn, name)(**kw)(torch.tensor(a), torch.tensor(b)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    x = rng.normal(size=(1, 2, 5, 5))
    cols = nn.Unfold(2, padding=1, stride=2)(cr.tensor(x))
    tcols = torch.nn.Unfold(2, padding=1, stride=2)(torch.tensor(x))
    np.testing.assert_allclose(cols.numpy(), tcols.numpy())
    back = nn.Fold((5, 5), 2, padding=1, stride=2)(cols).numpy()
    np.testing.assert_allclose(back, torch.nn.Fold((5, 5), 2, padding=1, stride=2)(tcols).numpy())


def test_pixel_shuffle_layers_match_torch():
    x = np.random.default_rng(2).normal(size=(2, 8, 3, 4))
    for name, r in [("PixelShuffle", 2), ("PixelUnshuffle", 1)]:
        ours, theirs = getattr(nn, name)(r), getattr(torch.nn, name)(r)
        np.testing.assert_array_equal(ours(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())
        assert repr(ours) == repr(theirs)
