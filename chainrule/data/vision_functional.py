"""Image kernels behind :mod:`chainrule.data.vision_transforms`
(``torchvision.transforms.functional`` names and tensor semantics).

Every public function takes a NumPy array of images ``(..., C, H, W)`` (float, or an
integer type such as uint8) and returns a new array of the same dtype; the leading
dimensions are carried along.  Integer images are processed in float32 as torchvision
does: geometric ops round back (``torch.round`` semantics), colour ops truncate
(``Tensor.to(uint8)`` semantics) after clamping to ``[0, 255]``; float images are
clamped to ``[0, 1]`` by the colour ops only.

>>> a = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
>>> resize(a, (2, 2)).tolist()
[[[2.5, 4.5], [10.5, 12.5]]]
"""

import numpy as np

__all__ = ["interpolation_mode", "resize", "crop", "center_crop", "resized_crop", "pad",
           "hflip", "vflip", "rotate", "rgb_to_grayscale", "adjust_brightness",
           "adjust_contrast", "adjust_saturation", "adjust_hue"]

_MODES = ("nearest", "nearest-exact", "bilinear")
_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect",
              "symmetric": "symmetric"}


def interpolation_mode(mode):
    """``'nearest'``, ``'nearest-exact'`` or ``'bilinear'`` from a string or a
    ``torchvision.transforms.InterpolationMode``-like object (its ``.value``)."""
    m = str(getattr(mode, "value", mode)).lower()
    if m not in _MODES:
        raise ValueError(f"interpolation {mode!r} is not supported; use one of {_MODES}")
    return m


def _work_dtype(dtype):
    return np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float32)


def _max_value(dtype):
    return 1.0 if dtype.kind == "f" else float(np.iinfo(dtype).max)


def _round_back(x, dtype):
    """Float result -> ``dtype`` (round, then clip for integer types)."""
    if dtype.kind == "f":
        return x.astype(dtype, copy=False)
    info = np.iinfo(dtype)
    return np.clip(np.round(x), info.min, info.max).astype(dtype)


def _check_hw(a, name):
    if a.ndim < 3:
        raise ValueError(f"{name}: expected images of shape (..., C, H, W), got {a.shape}")


# ----------------------------------------------------------------- resampling
def _linear_weights(out_size, in_size, dtype):
    """(out, in) matrix of ``interpolate(mode='bilinear', align_corners=False)`` on one axis."""
    t = dtype.type
    scale = t(in_size) / t(out_size)
    src = np.maximum(scale * (np.arange(out_size, dtype=dtype) + t(0.5)) - t(0.5), t(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    lam = np.clip(src - i0.astype(dtype), t(0), t(1))
    i1 = i0 + (i0 < in_size - 1)
    w = np.zeros((out_size, in_size), dtype)
    rows = np.arange(out_size)
    np.add.at(w, (rows, i0), t(1) - lam)
    np.add.at(w, (rows, i1), lam)
    return w


def _nearest_index(out_size, in_size, exact):
    """Source index of each output pixel, as torch computes it (float32 scale)."""
    scale = np.float32(in_size) / np.float32(out_size)
    if exact:  # 'nearest-exact': floor((dst + 0.5) * scale)
        src = np.floor((np.arange(out_size) + 0.5) * np.float64(scale))
    else:
        src = np.floor(np.arange(out_size, dtype=np.float32) * scale)
    return np.minimum(src.astype(np.int64), in_size - 1)


def resize(img, size, interpolation="bilinear"):
    """Resample to ``size = (h, w)`` like ``torch.nn.functional.interpolate``
    (``align_corners=False``, no antialiasing)."""
    _check_hw(img, "resize")
    mode = interpolation_mode(interpolation)
    oh, ow = int(size[0]), int(size[1])
    if oh <= 0 or ow <= 0:
        raise ValueError(f"resize: output size must be positive, got {(oh, ow)}")
    h, w = img.shape[-2:]
    if mode != "bilinear":
        exact = mode == "nearest-exact"
        iy, ix = _nearest_index(oh, h, exact), _nearest_index(ow, w, exact)
        return img[..., iy[:, None], ix[None, :]]
    wd = _work_dtype(img.dtype)
    a = img.astype(wd, copy=False)
    if oh != h:
        a = _linear_weights(oh, h, wd) @ a
    if ow != w:
        a = a @ _linear_weights(ow, w, wd).T
    return _round_back(a, img.dtype) if a is not img else img.copy()


# ----------------------------------------------------------------- crops and padding
def _parse_padding(padding):
    if isinstance(padding, (int, np.integer)):
        p = [int(padding)] * 4
    else:
        p = [int(v) for v in padding]
        if len(p) == 1:
            p = p * 4
        elif len(p) == 2:
            p = [p[0], p[1], p[0], p[1]]
        elif len(p) != 4:
            raise ValueError("Padding must be an int or a 1, 2, or 4 element sequence, "
                             f"not a {len(p)} element sequence")
    return p  # left, top, right, bottom


def _fill_value(fill, img, name):
    """``fill`` as an array broadcastable to ``img`` (one value or one per channel)."""
    f = np.asarray(0 if fill is None else fill, dtype=np.float64)
    if f.ndim == 0 or f.size == 1:
        return f.reshape(())
    if f.ndim != 1 or f.size != img.shape[-3]:
        raise ValueError(f"{name}: fill has {f.size} values for an image with "
                         f"{img.shape[-3]} channels")
    return f.reshape(-1, 1, 1)


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad the last two axes; ``padding`` is ``p``, ``(left/right, top/bottom)`` or
    ``(left, top, right, bottom)``; negative values crop (as torchvision on tensors).

    ``padding_mode``: ``constant`` (``fill``, a number or one value per channel),
    ``edge``, ``reflect`` (mirror without repeating the edge) or ``symmetric``.
    """
    _check_hw(img, "pad")
    if padding_mode not in _PAD_MODES:
        raise ValueError("Padding mode should be either constant, edge, reflect or "
                         f"symmetric, got {padding_mode!r}")
    left, top, right, bottom = _parse_padding(padding)
    if min(left, top, right, bottom) < 0:
        h, w = img.shape[-2:]
        img = img[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
        left, top, right, bottom = (max(v, 0) for v in (left, top, right, bottom))
    h, w = img.shape[-2:]
    if padding_mode == "constant":
        out = np.empty(img.shape[:-2] + (h + top + bottom, w + left + right), img.dtype)
        fv = _fill_value(fill, img, "pad")
        out[...] = _round_back(fv, img.dtype) if img.dtype.kind != "f" else fv
        out[..., top:top + h, left:left + w] = img
        return out
    widths = [(0, 0)] * (img.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(img, widths, mode=_PAD_MODES[padding_mode])


def crop(img, top, left, height, width):
    """``img[..., top:top+height, left:left+width]``; parts outside the image are 0."""
    _check_hw(img, "crop")
    h, w = img.shape[-2:]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                max(right - w, 0), max(bottom - h, 0)]
        return pad(img[..., max(top, 0):bottom, max(left, 0):right], ltrb, 0)
    return img[..., top:bottom, left:right]


def center_crop(img, output_size):
    """Crop the centre ``(h, w)``; a crop larger than the image is zero-padded."""
    _check_hw(img, "center_crop")
    ch, cw = output_size
    h, w = img.shape[-2:]
    if cw > w or ch > h:
        ltrb = [(cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0,
                (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0]
        img = pad(img, ltrb, 0)
        h, w = img.shape[-2:]
        if (cw, ch) == (w, h):
            return img
    return crop(img, int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0)), ch, cw)


def resized_crop(img, top, left, height, width, size, interpolation="bilinear"):
    """:func:`crop` then :func:`resize`."""
    return resize(crop(img, top, left, height, width), size, interpolation)


def crop_each(imgs, tops, lefts, height, width):
    """Crop sample ``n`` of ``imgs`` (N, ..., H, W) at ``(tops[n], lefts[n])``, one gather."""
    win = np.lib.stride_tricks.sliding_window_view(imgs, (height, width), axis=(-2, -1))
    n = np.arange(imgs.shape[0])
    idx = (n,) + (slice(None),) * (imgs.ndim - 3) + (np.asarray(tops), np.asarray(lefts))
    return win[idx]


def hflip(img):
    """Mirror left-right."""
    return img[..., ::-1]


def vflip(img):
    """Mirror top-bottom."""
    return img[..., ::-1, :]


# ----------------------------------------------------------------- rotation
def _rotation_matrix(angles, center):
    """torchvision's inverse affine matrix for a rotation by ``angles`` (degrees,
    counter-clockwise) about ``center`` (offset from the image centre): (N, 6)."""
    rot = np.radians(-np.asarray(angles, np.float64))
    cos, sin = np.cos(rot), np.sin(rot)
    m = np.stack([cos, sin, np.zeros_like(cos), -sin, cos, np.zeros_like(cos)], -1)
    cx, cy = center
    m[:, 2] += m[:, 0] * -cx + m[:, 1] * -cy + cx
    m[:, 5] += m[:, 3] * -cx + m[:, 4] * -cy + cy
    return m


def _expanded_size(m, w, h):
    """Output ``(w, h)`` that holds the whole rotated image (torchvision's rule, float32)."""
    f = np.float32
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], f)
    new = pts @ m.reshape(2, 3).astype(f).T
    half = np.array([0.5 * w, 0.5 * h], f)
    lo, hi = new.min(0) + half, new.max(0) + half
    tol = f(1e-4)  # truncate to 1e-4 so that ceil(15.0000001) stays 15
    size = np.ceil(np.trunc(hi / tol) * tol) - np.floor(np.trunc(lo / tol) * tol)
    return int(size[0]), int(size[1])


def _sample(imgs, sx, sy, mode, fill):
    """``grid_sample(padding_mode='zeros', align_corners=False)`` of (N, ..., H, W) at
    source pixel coordinates ``sx, sy`` (N, oh, ow), then torchvision's fill rule."""
    n, (h, w) = imgs.shape[0], imgs.shape[-2:]
    wd = sx.dtype
    a = np.moveaxis(imgs.reshape(n, -1, h, w), 1, -1).astype(wd, copy=False)  # N,H,W,K
    b = np.arange(n)[:, None, None]

    def tap(yi, xi):
        ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        return a[b, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)], ok.astype(wd)

    if mode == "bilinear":
        x0, y0 = np.floor(sx), np.floor(sy)
        fx, fy = sx - x0, sy - y0
        x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
        out, mask = 0, 0
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                v, ok = tap(y0 + dy, x0 + dx)
                wt = wy * wx * ok
                out = out + v * wt[..., None]
                mask = mask + wt
    else:
        out, mask = tap(np.rint(sy).astype(np.int64), np.rint(sx).astype(np.int64))
        out = out * mask[..., None]
    if fill is not None:
        f = _fill_value(fill, imgs, "rotate").reshape(-1).astype(wd)
        f = np.tile(f, a.shape[-1] // f.size) if f.size > 1 else f  # K = (..., C) flattened
        m = mask[..., None]
        if mode == "bilinear":  # torchvision blends the zero-padded sample once more
            out = out * m + (1 - m) * f
        else:
            out = np.where(m < 0.5, f, out)
    out = np.moveaxis(out, -1, 1).reshape(imgs.shape[:-2] + sx.shape[1:])
    return _round_back(out, imgs.dtype)


def rotate_each(imgs, angles, interpolation="nearest", expand=False, center=None, fill=None):
    """Rotate sample ``n`` of ``imgs`` (N, ..., H, W) by ``angles[n]`` degrees."""
    mode = interpolation_mode(interpolation)
    if mode == "nearest-exact":
        raise ValueError("rotate: interpolation must be 'nearest' or 'bilinear'")
    h, w = imgs.shape[-2:]
    c = (0.0, 0.0) if center is None else (center[0] - w * 0.5, center[1] - h * 0.5)
    m = _rotation_matrix(np.atleast_1d(angles), c)
    if expand:
        sizes = {_expanded_size(mi, w, h) for mi in m}
        if len(sizes) > 1:
            raise ValueError("rotate: expand=True gives differently sized images for "
                             "different angles; rotate them one by one")
        ow, oh = sizes.pop()
    else:
        ow, oh = w, h
    # torchvision's arithmetic: an affine grid in normalized coordinates, computed in
    # the work dtype, then grid_sample's unnormalization (matters for nearest ties)
    wd = _work_dtype(imgs.dtype)
    t = wd.type
    theta = (m.astype(wd).reshape(-1, 2, 3) / np.array([[0.5 * w], [0.5 * h]], wd))
    bx = (np.arange(ow, dtype=wd) + t(-ow * 0.5 + 0.5))[None, None, :]
    by = (np.arange(oh, dtype=wd) + t(-oh * 0.5 + 0.5))[None, :, None]
    th = theta[:, :, :, None, None]
    gx = bx * th[:, 0, 0] + by * th[:, 0, 1] + th[:, 0, 2]
    gy = bx * th[:, 1, 0] + by * th[:, 1, 1] + th[:, 1, 2]
    sx = ((gx + t(1)) * t(w) - t(1)) / t(2)
    sy = ((gy + t(1)) * t(h) - t(1)) / t(2)
    return _sample(imgs, sx, sy, mode, fill)


def rotate(img, angle, interpolation="nearest", expand=False, center=None, fill=None):
    """Rotate counter-clockwise by ``angle`` degrees about the centre (or ``center``,
    ``(x, y)`` in pixels); outside pixels are 0, or ``fill``."""
    _check_hw(img, "rotate")
    return rotate_each(img[None], [angle], interpolation, expand, center, fill)[0]


# ----------------------------------------------------------------- colour
def _check_channels(img, name, allowed=(1, 3)):
    _check_hw(img, name)
    if img.shape[-3] not in allowed:
        raise ValueError(f"{name}: expected {' or '.join(map(str, allowed))} channels, "
                         f"got an image of shape {img.shape}")


def _factor(f, img):
    """A factor (number, or per-sample array broadcastable to ``img``) in the work dtype."""
    return np.asarray(f, _work_dtype(img.dtype))


def _blend(img1, img2, ratio):
    r = _factor(ratio, img1)
    out = r * img1 + (1 - r) * img2
    out = np.clip(out, 0, _max_value(img1.dtype))
    return out.astype(img1.dtype)  # truncates for integer images, like Tensor.to(uint8)


def rgb_to_grayscale(img, num_output_channels=1):
    """ITU-R 601-2 luma ``0.2989 R + 0.587 G + 0.114 B`` (a grey image is kept)."""
    _check_channels(img, "rgb_to_grayscale")
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if img.shape[-3] == 3:
        wd = _work_dtype(img.dtype)
        r, g, b = (img[..., i, :, :].astype(wd, copy=False) for i in range(3))
        t = wd.type
        lum = (t(0.2989) * r + t(0.587) * g + t(0.114) * b).astype(img.dtype)[..., None, :, :]
    else:
        lum = img.copy()
    if num_output_channels == 3:
        return np.ascontiguousarray(np.broadcast_to(lum, lum.shape[:-3] + (3,) + lum.shape[-2:]))
    return lum


def adjust_brightness(img, brightness_factor):
    """``clamp(factor * img)``: 0 gives black, 1 the original."""
    _check_channels(img, "adjust_brightness")
    if np.any(np.asarray(brightness_factor) < 0):
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    return _blend(img, np.zeros((), img.dtype), brightness_factor)


def adjust_contrast(img, contrast_factor):
    """Blend with the mean grey level of each image: 0 gives a flat grey image."""
    _check_channels(img, "adjust_contrast")
    if np.any(np.asarray(contrast_factor) < 0):
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    wd = _work_dtype(img.dtype)
    grey = rgb_to_grayscale(img) if img.shape[-3] == 3 else img
    mean = grey.astype(wd).mean(axis=(-3, -2, -1), keepdims=True, dtype=wd)
    return _blend(img, mean, contrast_factor)


def adjust_saturation(img, saturation_factor):
    """Blend with the grey image: 0 gives grey, 1 the original, 2 doubles saturation."""
    _check_channels(img, "adjust_saturation")
    if np.any(np.asarray(saturation_factor) < 0):
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    if img.shape[-3] == 1:
        return img.copy()
    return _blend(img, rgb_to_grayscale(img), saturation_factor)


def _rgb2hsv(img):
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc, minc = img.max(-3), img.min(-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    crd = np.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / crd, (maxc - g) / crd, (maxc - b) / crd
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = np.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return h.astype(img.dtype), s, maxc


def _hsv2rgb(h, s, v):
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int32) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    table = [(v, q, p, p, t, v), (t, v, v, q, p, p), (p, p, t, v, v, q)]
    return np.stack([np.choose(i, ch) for ch in table], -3)


def adjust_hue(img, hue_factor):
    """Shift the hue by ``hue_factor`` in [-0.5, 0.5] (a fraction of the colour circle)."""
    _check_channels(img, "adjust_hue")
    hf = np.asarray(hue_factor, np.float64)
    if np.any((hf < -0.5) | (hf > 0.5)):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if img.shape[-3] == 1:
        return img.copy()
    dt = img.dtype
    x = img if dt.kind == "f" else img.astype(np.float32) / np.float32(_max_value(dt))
    h, s, v = _rgb2hsv(x)
    hf = hf.astype(x.dtype)
    h = np.mod(h + (hf[..., 0, :, :] if hf.ndim >= 3 else hf), 1.0).astype(x.dtype)
    out = _hsv2rgb(h, s, v).astype(x.dtype, copy=False)
    if dt.kind == "f":
        return out
    return (out * np.float32(_max_value(dt) + 1.0 - 1e-3)).astype(dt)
