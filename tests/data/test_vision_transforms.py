"""Image transforms: deterministic ones against torch / hand-written references,
random ones for reproducibility, shapes and ranges.  (torchvision itself is compared
only when it happens to be installed.)"""
import colorsys

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
from chainrule import backend as B
from chainrule.core.tensor import _make
from chainrule.data import DataLoader
from chainrule.data import transforms as T
from chainrule.data import vision_functional as VF
from chainrule.data.datasets import ArrayDataset

RNG = np.random.default_rng(1234)
IMG = RNG.random((3, 13, 17)).astype(np.float32)          # CHW float in [0, 1)
IMG8 = (RNG.random((13, 17, 3)) * 256).astype(np.uint8)   # HWC uint8


def tensor(a):
    return _make(np.ascontiguousarray(a))


def arr(t):
    return np.asarray(t._data)


# ----------------------------------------------------------------- deterministic
@pytest.mark.parametrize("size", [(7, 9), (26, 40), (13, 5), (1, 1), (13, 17)])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "nearest-exact"])
def test_resize_matches_torch_interpolate(size, mode):
    for dt in (np.float32, np.float64):
        x = IMG.astype(dt)
        ref = TF.interpolate(torch.from_numpy(x)[None], size=size, mode=mode,
                             **({"align_corners": False} if mode == "bilinear" else {}))[0]
        got = arr(T.Resize(size, interpolation=mode)(tensor(x)))
        assert got.dtype == dt
        np.testing.assert_allclose(got, ref.numpy(), rtol=0, atol=1e-5 if dt == np.float32 else 1e-12)
    # uint8 HWC arrays: computed in float32, rounded back
    ref = TF.interpolate(torch.from_numpy(IMG8.transpose(2, 0, 1).astype(np.float32))[None],
                         size=size, mode=mode,
                         **({"align_corners": False} if mode == "bilinear" else {}))[0]
    got = T.Resize(size, interpolation=mode)(IMG8)
    assert got.dtype == np.uint8 and got.shape == size + (3,)
    assert np.abs(got.transpose(2, 0, 1).astype(int) - np.round(ref.numpy())).max() <= 1


def test_resize_int_matches_smaller_edge():
    assert T.Resize(8)(tensor(IMG)).shape == (3, 8, 10)  # 8 * 17 / 13 -> 10
    assert T.Resize(8)(IMG8.transpose(1, 0, 2)).shape == (10, 8, 3)
    assert T.Resize(8, max_size=9)(tensor(IMG)).shape == (3, 7, 9)
    with pytest.raises(ValueError, match="antialias"):
        T.Resize(8, antialias=True)


def test_center_crop_and_pad_references():
    got = arr(T.CenterCrop((5, 8))(tensor(IMG)))
    np.testing.assert_array_equal(got, IMG[:, 4:9, 4:12])  # round(8/2), round(9/2)=4 (banker's)
    big = arr(T.CenterCrop((15, 20))(tensor(IMG)))
    assert big.shape == (3, 15, 20)
    np.testing.assert_array_equal(big[:, 1:14, 1:18], IMG)
    assert big[:, 0].sum() == 0 and big[:, :, :1].sum() == 0 and big[:, :, 18:].sum() == 0
    t = torch.from_numpy(IMG)[None]
    for padding_mode, torch_mode in [("constant", "constant"), ("edge", "replicate"),
                                     ("reflect", "reflect")]:
        got = arr(T.Pad((1, 2, 3, 4), fill=0, padding_mode=padding_mode)(tensor(IMG)))
        ref = TF.pad(t, (1, 3, 2, 4), mode=torch_mode)[0].numpy()
        np.testing.assert_array_equal(got, ref)
    sym = VF.pad(np.array([[[1, 2, 3]]], np.uint8), [2, 0], padding_mode="symmetric")
    assert sym.tolist() == [[[2, 1, 1, 2, 3, 3, 2]]]
    filled = T.Pad(1, fill=(10, 20, 30))(IMG8)
    assert filled.shape == (15, 19, 3) and filled[0, 0].tolist() == [10, 20, 30]
    np.testing.assert_array_equal(filled[1:-1, 1:-1], IMG8)
    assert VF.pad(IMG, [-1, 2]).shape == (3, 17, 15)  # negative padding crops


def test_flips_with_p1_and_p0():
    t = tensor(IMG)
    np.testing.assert_array_equal(arr(T.RandomHorizontalFlip(1.0)(t)), IMG[..., ::-1])
    np.testing.assert_array_equal(arr(T.RandomVerticalFlip(1.0)(t)), IMG[:, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(IMG8), IMG8[:, ::-1])
    assert T.RandomHorizontalFlip(0.0)(t) is t


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_rotation_by_90_degrees(mode):
    sq = RNG.random((3, 9, 9)).astype(np.float32)
    for angle, k in [(90, 1), (-90, -1), (180, 2)]:
        got = VF.rotate(sq, angle, mode, fill=0)
        np.testing.assert_allclose(got, np.rot90(sq, k, axes=(1, 2)), atol=1e-5)
    rot = T.RandomRotation((90, 90), interpolation=mode)
    np.testing.assert_allclose(arr(rot(tensor(sq))), np.rot90(sq, 1, axes=(1, 2)), atol=1e-5)
    sq8 = (sq.transpose(1, 2, 0) * 255).astype(np.uint8)
    np.testing.assert_array_equal(rot(sq8), np.rot90(sq8, 1, axes=(0, 1)))
    ex = VF.rotate(IMG, 90, mode, expand=True)
    assert ex.shape == (3, 17, 13)
    np.testing.assert_allclose(ex, np.rot90(IMG, 1, axes=(1, 2)), atol=1e-5)


def test_rotation_matches_torch_grid_sample():
    # torchvision's rotation in pixel space == affine_grid/grid_sample with the
    # matrix rescaled to normalized coordinates
    x = IMG[None]
    h, w = x.shape[-2:]
    for angle in (17.0, -33.5):
        r = np.radians(-angle)
        theta = torch.tensor([[[np.cos(r), np.sin(r) * h / w, 0],
                               [-np.sin(r) * w / h, np.cos(r), 0]]], dtype=torch.float32)
        grid = TF.affine_grid(theta, (1, 3, h, w), align_corners=False)
        ref = TF.grid_sample(torch.from_numpy(x), grid, mode="bilinear",
                             padding_mode="zeros", align_corners=False)[0].numpy()
        got = VF.rotate(IMG, angle, "bilinear", fill=None)
        np.testing.assert_allclose(got, ref, atol=1e-5)
    # a fill colour covers what the rotation uncovers
    got = VF.rotate(IMG, 45, "nearest", fill=(0.25, 0.5, 0.75))
    assert got[:, 0, 0].tolist() == [0.25, 0.5, 0.75]


def _grey(x):
    return 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]


def test_color_jitter_fixed_factors_match_formulas():
    t = tensor(IMG)
    for f in (0.0, 0.5, 1.7):
        b = arr(T.ColorJitter(brightness=(f, f))(t))
        np.testing.assert_allclose(b, np.clip(f * IMG, 0, 1), atol=1e-6)
        c = arr(T.ColorJitter(contrast=(f, f))(t))
        m = _grey(IMG.astype(np.float64)).mean()
        np.testing.assert_allclose(c, np.clip(f * IMG + (1 - f) * m, 0, 1), atol=1e-5)
        s = arr(T.ColorJitter(saturation=(f, f))(t))
        np.testing.assert_allclose(s, np.clip(f * IMG + (1 - f) * _grey(IMG), 0, 1), atol=1e-5)
    # uint8: computed in float32, clamped, then truncated (Tensor.to(uint8))
    b8 = T.ColorJitter(brightness=(1.3, 1.3))(IMG8)
    np.testing.assert_array_equal(b8, np.clip(np.float32(1.3) * IMG8, 0, 255).astype(np.uint8))
    # hue against colorsys, pixel by pixel
    small = IMG[:, :3, :4].astype(np.float64)
    for hf in (-0.5, -0.2, 0.3):
        got = arr(T.ColorJitter(hue=(hf, hf))(tensor(small)))
        ref = np.empty_like(small)
        for i in range(3):
            for j in range(4):
                hh, ss, vv = colorsys.rgb_to_hsv(*small[:, i, j])
                ref[:, i, j] = colorsys.hsv_to_rgb((hh + hf) % 1.0, ss, vv)
        np.testing.assert_allclose(got, ref, atol=1e-6)
    g = arr(T.Grayscale(3)(t))
    np.testing.assert_allclose(g, np.broadcast_to(_grey(IMG), (3, 13, 17)), atol=1e-6)


def test_normalize_after_to_tensor_matches_formula():
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    got = arr(T.Compose([T.ToTensor(), T.Normalize(mean, std)])(IMG8))
    ref = (IMG8.transpose(2, 0, 1) / np.float32(255) - np.reshape(mean, (3, 1, 1))) \
        / np.reshape(std, (3, 1, 1))
    np.testing.assert_allclose(got, ref, atol=1e-5)


# ----------------------------------------------------------------- random ones
RANDOM = [T.RandomCrop(13, padding=4), T.RandomCrop(16, pad_if_needed=True,
                                                    padding_mode="reflect"),
          T.RandomResizedCrop((8, 10)), T.RandomHorizontalFlip(), T.RandomVerticalFlip(),
          T.RandomRotation(20), T.RandomRotation(20, interpolation="bilinear", fill=1),
          T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.RandomGrayscale(0.5)]


@pytest.mark.parametrize("t", RANDOM, ids=lambda t: type(t).__name__)
def test_random_transforms_reproducible_under_seed(t):
    batch = (RNG.random((6, 13, 17, 3)) * 256).astype(np.uint8)
    cr.manual_seed(7)
    a = [t(batch[i]) for i in range(6)] + [t.apply_batch(batch)]
    cr.manual_seed(7)
    b = [t(batch[i]) for i in range(6)] + [t.apply_batch(batch)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    # a checkpointed generator state replays the same draws
    state = B.get_rng_state()
    c = t.apply_batch(batch)
    B.set_rng_state(state)
    np.testing.assert_array_equal(t.apply_batch(batch), c)
    # a sample is a batch of one
    cr.manual_seed(3)
    one = t(batch[0])
    cr.manual_seed(3)
    np.testing.assert_array_equal(t.apply_batch(batch[:1])[0], one)
    assert one.dtype == np.uint8 and one.ndim == 3 and one.shape[-1] == 3
    # draws differ between samples and seeds (with overwhelming probability)
    many = np.stack([t.apply_batch(batch) for _ in range(4)])
    assert len({m.tobytes() for m in many}) > 1


def test_explicit_generator_and_float_ranges():
    x = tensor(RNG.random((4, 3, 16, 16)).astype(np.float32))
    for make in (lambda g: T.RandomResizedCrop(12, generator=g),
                 lambda g: T.ColorJitter(0.5, 0.5, 0.5, 0.2, generator=g),
                 lambda g: T.RandomRotation(30, interpolation="bilinear", generator=g)):
        a = make(np.random.default_rng(5)).apply_batch(x)
        cr.manual_seed(0)  # the global generator is not used
        b = make(np.random.default_rng(5)).apply_batch(x)
        np.testing.assert_array_equal(arr(a), arr(b))
        assert a.dtype == cr.float32 and arr(a).min() >= 0 and arr(a).max() <= 1
    assert T.RandomResizedCrop(12).apply_batch(x).shape == (4, 3, 12, 12)


def test_random_crop_returns_windows_of_padded_image():
    x = tensor(IMG)
    padded = VF.pad(IMG, 4)
    cr.manual_seed(0)
    t = T.RandomCrop((13, 17), padding=4)
    for _ in range(5):
        out = arr(t(x))
        hits = [(i, j) for i in range(9) for j in range(9)
                if np.array_equal(padded[:, i:i + 13, j:j + 17], out)]
        assert hits
    batch = np.stack([IMG] * 8)
    tops, lefts = np.arange(8) % 3, np.arange(8)[::-1] % 5
    got = VF.crop_each(VF.pad(batch, 4), tops, lefts, 13, 17)
    for k in range(8):
        np.testing.assert_array_equal(got[k], padded[:, tops[k]:tops[k] + 13,
                                                      lefts[k]:lefts[k] + 17])
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop(20)(x)


def test_random_resized_crop_params_follow_scale_and_ratio():
    t = T.RandomResizedCrop(8, scale=(0.25, 0.5), ratio=(0.5, 2.0))
    tops, lefts, hs, ws = t.get_params(np.random.default_rng(0), 500, 40, 60)
    area = hs * ws / (40 * 60)
    assert area.min() > 0.2 and area.max() < 0.55
    assert (ws / hs).min() > 0.45 and (ws / hs).max() < 2.2
    assert (tops >= 0).all() and (tops + hs <= 40).all() and (lefts + ws <= 60).all()
    # impossible requests fall back to the central crop of the clamped ratio
    t = T.RandomResizedCrop(8, scale=(5.0, 6.0), ratio=(1.0, 1.0))
    assert [int(v[0]) for v in t.get_params(np.random.default_rng(0), 1, 40, 60)] == \
        [0, 10, 40, 40]


def test_deterministic_batches_equal_samples_and_loader_fast_path():
    batch = (RNG.random((5, 13, 17, 3)) * 256).astype(np.uint8)
    for t in (T.Resize((9, 11)), T.CenterCrop(7), T.Pad(2, padding_mode="symmetric"),
              T.Grayscale(), T.RandomHorizontalFlip(1.0)):
        np.testing.assert_array_equal(t.apply_batch(batch), np.stack([t(b) for b in batch]))
        tb = tensor(batch.transpose(0, 3, 1, 2))
        np.testing.assert_array_equal(arr(t.apply_batch(tb)),
                                      np.stack([arr(t(tensor(b.transpose(2, 0, 1))))
                                                for b in batch]))
    pipeline = T.Compose([T.RandomCrop(13, padding=2), T.RandomHorizontalFlip(),
                          T.ColorJitter(0.2, 0.2), T.ToTensor(),
                          T.Normalize((0.5,) * 3, (0.25,) * 3)])
    assert pipeline.batchable and not T.RandomRotation(5, expand=True).batchable
    ds = ArrayDataset(batch, np.arange(5))
    ds.transform = pipeline
    cr.manual_seed(0)
    xb, yb = next(iter(DataLoader(ds, batch_size=5)))
    assert xb.shape == (5, 3, 13, 13) and xb.dtype == cr.float32 and yb.tolist() == list(range(5))
    x0, y0 = ds[0]
    assert x0.shape == (3, 13, 13) and y0 == 0


def test_input_kinds_and_errors():
    grey = IMG8[..., 0]
    assert T.RandomCrop(5)(grey).shape == (5, 5)
    assert T.Resize((4, 6)).apply_batch(np.stack([grey, grey])).shape == (2, 4, 6)
    assert T.Grayscale()(IMG8).shape == (13, 17, 1)
    five_d = tensor(RNG.random((2, 4, 3, 8, 8)).astype(np.float32))
    out = T.RandomHorizontalFlip(1.0)(five_d)
    assert out.shape == (2, 4, 3, 8, 8)
    with pytest.raises(TypeError, match="RandomCrop"):
        T.RandomCrop(3)([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="HxW or HxWxC"):
        T.CenterCrop(3)(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="fill has 2 values"):
        T.Pad(1, fill=(1, 2))(IMG8)
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="interpolation"):
        T.Resize(4, interpolation="bicubic")
    assert "RandomCrop(size=(13, 13)" in repr(T.RandomCrop(13))


def test_against_torchvision_when_installed():
    tv = pytest.importorskip("torchvision.transforms")
    tvf = pytest.importorskip("torchvision.transforms.functional")
    t = torch.from_numpy(IMG)
    np.testing.assert_allclose(arr(T.Resize((7, 30))(tensor(IMG))),
                               tvf.resize(t, [7, 30], antialias=False).numpy(), atol=1e-5)
    np.testing.assert_array_equal(arr(T.CenterCrop(9)(tensor(IMG))), tv.CenterCrop(9)(t).numpy())
    for angle in (30, 45.5):
        np.testing.assert_allclose(
            VF.rotate(IMG, angle, "bilinear", fill=[0.1, 0.2, 0.3]),
            tvf.rotate(t, angle, tv.InterpolationMode.BILINEAR, fill=[0.1, 0.2, 0.3]).numpy(),
            atol=1e-5)
    for fn, name in [(VF.adjust_contrast, "adjust_contrast"), (VF.adjust_hue, "adjust_hue")]:
        np.testing.assert_allclose(fn(IMG, 0.3), getattr(tvf, name)(t, 0.3).numpy(), atol=1e-5)
