"""Dataset recipes and the batched geometric transforms used for digits."""
import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.data.augment import Deskew, RandomAffine, affine_warp
from chainrule.train.recipes import get_recipe, prepare_data, transform_inputs
from chainrule.utils.errors import UnknownNameError


def test_affine_warp_matches_torch_grid_sample():
    g = np.random.default_rng(0)
    a = g.random((3, 2, 8, 6))
    th = g.standard_normal((3, 2, 3)) * 0.3 + np.array([[1, 0, 0], [0, 1, 0]])
    grid = torch.nn.functional.affine_grid(torch.tensor(th), (3, 2, 8, 6), align_corners=False)
    ref = torch.nn.functional.grid_sample(torch.tensor(a), grid, align_corners=False).numpy()
    np.testing.assert_allclose(affine_warp(a, th), ref, atol=1e-12)


def test_deskew_removes_the_slant():
    img = np.zeros((1, 1, 8, 8), np.float32)
    for r in range(1, 7):  # a stroke leaning right: column grows with the row
        img[0, 0, r, r] = 1.0
    out = Deskew().apply_batch(cr.tensor(img)).numpy()[0, 0]

    def cov(im):
        r, c = np.mgrid[:8, :8]
        t = im.sum()
        return ((r - (im * r).sum() / t) * (c - (im * c).sum() / t) * im).sum() / t
    assert abs(cov(out)) < 0.2 * abs(cov(img[0, 0]))
    blank = Deskew()(cr.zeros(1, 8, 8))
    assert blank.numpy().sum() == 0


def test_random_affine_is_seeded_and_batchable():
    x = cr.rand(4, 1, 8, 8)
    cr.manual_seed(1)
    a = RandomAffine(10, (0.1, 0.1), (0.9, 1.1)).apply_batch(x).numpy()
    cr.manual_seed(1)
    b = RandomAffine(10, (0.1, 0.1), (0.9, 1.1)).apply_batch(x).numpy()
    assert np.array_equal(a, b) and not np.array_equal(a, x.numpy())
    assert RandomAffine(0)(x[0]).shape == (1, 8, 8)
    np.testing.assert_allclose(RandomAffine(0).apply_batch(x).numpy(), x.numpy(), atol=1e-6)


def test_digits_bundle():
    b = prepare_data("digits", batch_size=100)
    assert (b.task, b.input_shape, b.num_outputs) == ("classification", (1, 8, 8), 10)
    # by default 10% of the training data validates; the test split is kept apart
    assert len(b.train_loader.dataset) == 1293 and len(b.val_loader.dataset) == 144
    assert len(b.test_loader.dataset) == 360
    assert not set(b.train_loader.dataset.indices) & set(b.val_loader.dataset.indices)
    d2l = prepare_data("digits", batch_size=100, val_fraction=0)
    assert len(d2l.train_loader.dataset) == 1437 and len(d2l.val_loader.dataset) == 360
    assert d2l.test_loader is None  # the test split validates (d2l's convention)
    held = prepare_data("digits", batch_size=100, val_fraction=0.2)
    assert len(held.train_loader.dataset) + len(held.val_loader.dataset) == 1437
    assert len(held.test_loader.dataset) == 360
    again = prepare_data("digits", batch_size=100, val_fraction=0.2)
    assert held.val_loader.dataset.indices == again.val_loader.dataset.indices


def test_regression_bundle_and_unknown_names():
    b = prepare_data("synthetic_linear", batch_size=10)
    assert (b.task, b.input_shape, b.num_outputs) == ("regression", (2,), 1)
    assert len(b.train_loader.dataset) == 800 and len(b.val_loader.dataset) == 200
    with pytest.raises(UnknownNameError, match="did you mean 'mnist'"):
        get_recipe("mnsit")
    with pytest.raises(ValueError, match="validation fraction"):
        prepare_data("digits", val_fraction=1.5)


def test_transform_inputs_for_raw_samples():
    r = get_recipe("mnist")
    raw = {"shape": [28, 28], "dtype": "uint8", "tensor": False}
    x = transform_inputs(r, raw, np.full((2, 28, 28), 255, np.int64))
    assert x.shape == (2, 1, 28, 28)
    assert np.allclose(x.numpy(), (1 - 0.1307) / 0.3081)
    assert transform_inputs(r, raw, np.zeros(784)).shape == (1, 1, 28, 28)
    with pytest.raises(ValueError, match="784 values each"):
        transform_inputs(r, raw, np.zeros(100))


def test_factory_names_values_and_regression_loss():
    from chainrule import nn, optim
    from chainrule.train.factory import OPTIMIZERS, make_loss, make_optimizer, make_scheduler
    from chainrule.train.recipes import start_at_mean
    model = nn.Linear(3, 1)
    for name in OPTIMIZERS:
        assert make_optimizer(name, model.parameters(), 0.01).param_groups[0]["lr"] == 0.01
    with pytest.raises(UnknownNameError, match="did you mean 'adam'"):
        make_optimizer("adma", model.parameters(), 0.1)
    # values are checked by RunConfig (tests/train/test_config.py) and, as in torch, by
    # the optimizer itself
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        make_optimizer("sgd", model.parameters(), -0.1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert make_scheduler("none", opt, 10, 5) is None
    assert type(make_scheduler("onecycle", opt, 10, 5)).__name__ == "OneCycleLR"
    with pytest.raises(UnknownNameError, match="did you mean 'cosine'"):
        make_scheduler("cosin", opt, 10, 5)
    loss = make_loss("regression")
    out, y = cr.tensor([[1.0], [2.0]]), cr.tensor([1.0, 4.0])
    assert loss(out, y).item() == pytest.approx(2.0)  # (0 + 4) / 2, not broadcast to 2x2
    start_at_mean(model, np.array([[10.0], [14.0]]))
    assert model.bias.item() == 12.0
