"""``unfold`` (im2col) and ``fold`` (col2im), torch.nn.functional's sliding-block ops.

``unfold`` copies every ``kH x kW`` block of a padded ``(N, C, H, W)`` input
into a column: ``(N, C*kH*kW, L)`` with ``L`` the number of blocks.  ``fold``
is its adjoint: it sums the columns back into place (overlapping blocks add
up).  Each is the other's backward, so derivatives of any order work.
Unfold is one strided-view copy; fold is ``kH*kW`` strided adds.

>>> import chainrule as cr
>>> x = cr.arange(16.).reshape(1, 1, 4, 4)
>>> unfold(x, 2, stride=2)[0, :, 0].tolist()
[0.0, 1.0, 4.0, 5.0]
>>> fold(unfold(x, 2), (4, 4), 2)[0, 0, 1].tolist()  # row 1 = [4, 5, 6, 7] times 2, 4, 4, 2 blocks
[8.0, 20.0, 24.0, 14.0]
"""
import numbers

from chainrule import backend as B
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor
from chainrule.functional.shape import reshape

__all__ = ["unfold", "fold"]


class _Blocks:
    """Sliding-block geometry over an image of spatial ``size``."""
    __slots__ = ("size", "kernel", "dilation", "padding", "stride", "out")

    def __init__(self, size, kernel, dilation, padding, stride):
        self.size, self.kernel, self.dilation = size, kernel, dilation
        self.padding, self.stride = padding, stride
        self.out = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, d, p, s in
                         zip(size, kernel, dilation, padding, stride))

    def view(self, padded):
        """``(N, C, kH, kW, oH, oW)`` strided view of a padded ``(N, C, Hp, Wp)`` array."""
        xp = B.xp_of(padded)
        (kh, kw), (dh, dw), (sh, sw) = self.kernel, self.dilation, self.stride
        s_n, s_c, s_h, s_w = padded.strides
        shape = padded.shape[:2] + (kh, kw) + self.out
        strides = (s_n, s_c, dh * s_h, dw * s_w, sh * s_h, sw * s_w)
        return xp.lib.stride_tricks.as_strided(padded, shape=shape, strides=strides)


class Unfold(Function):
    save_inputs = False

    def __init__(self, blocks):
        self.b = blocks

    def forward(self, x):
        xp = B.xp_of(x)
        n, c = x.shape[:2]
        (ph, pw) = self.b.padding
        if ph or pw:
            x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        (kh, kw), (oh, ow) = self.b.kernel, self.b.out
        return self.b.view(x).reshape(n, c * kh * kw, oh * ow)

    def backward(self, gy):  # the adjoint of gathering blocks is summing them back
        return Fold(self.b)(gy)


class Fold(Function):
    save_inputs = False

    def __init__(self, blocks):
        self.b = blocks

    def forward(self, col):
        xp = B.xp_of(col)
        (kh, kw), (dh, dw), (sh, sw) = self.b.kernel, self.b.dilation, self.b.stride
        (ph, pw), (h, w), (oh, ow) = self.b.padding, self.b.size, self.b.out
        n, c = col.shape[0], col.shape[1] // (kh * kw)
        out = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=col.dtype)
        cols = col.reshape(n, c, kh, kw, oh, ow)
        for i in range(kh):
            for j in range(kw):
                out[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                    j * dw:j * dw + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
        return xp.ascontiguousarray(out[:, :, ph:ph + h, pw:pw + w])

    def backward(self, gy):  # the adjoint of summing blocks back is gathering them
        return Unfold(self.b)(gy)


def _pair(v, op, what):
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return (int(v), int(v))
    t = tuple(int(a) for a in v)
    if len(t) != 2:
        raise RuntimeError(f"{op}: {what} must be an int or a pair of ints, got {v!r}")
    return t


def _blocks(op, size, kernel_size, dilation, padding, stride):
    k = _pair(kernel_size, op, "kernel_size")
    d = _pair(dilation, op, "dilation")
    p = _pair(padding, op, "padding")
    s = _pair(stride, op, "stride")
    if min(k) <= 0 or min(d) <= 0 or min(s) <= 0 or min(p) < 0:
        raise RuntimeError(f"{op}: kernel_size, dilation and stride must be positive and "
                           f"padding non-negative, got kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}")
    b = _Blocks(tuple(size), k, d, p, s)
    if min(b.out) <= 0:
        raise RuntimeError(f"{op}: no {k} block with dilation {d} fits the input of spatial "
                           f"size {tuple(size)} padded by {p}")
    return b


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks: ``(N, C, H, W) -> (N, C*kH*kW, L)`` (or unbatched
    ``(C, H, W) -> (C*kH*kW, L)``); a block's values are ordered (c, i, j) and
    blocks row-major over the output grid, as in torch."""
    if not isinstance(input, Tensor):
        raise TypeError(f"unfold: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"unfold: only 3-D (unbatched) or 4-D (batched) inputs are "
                           f"supported, got {tuple(input.shape)}")
    x = input if input.ndim == 4 else reshape(input, (1,) + tuple(input.shape))
    b = _blocks("unfold", x.shape[2:], kernel_size, dilation, padding, stride)
    y = Unfold(b)(x)
    return y if input.ndim == 4 else reshape(y, y.shape[1:])


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding blocks back into an image: ``(N, C*kH*kW, L) -> (N, C, H, W)``
    with ``(H, W) = output_size`` (or unbatched ``(C*kH*kW, L) -> (C, H, W)``);
    the adjoint of :func:`unfold`."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fold: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"fold: only 2-D (unbatched) or 3-D (batched) inputs are "
                           f"supported, got {tuple(input.shape)}")
    x = input if input.ndim == 3 else reshape(input, (1,) + tuple(input.shape))
    size = _pair(output_size, "fold", "output_size")
    b = _blocks("fold", size, kernel_size, dilation, padding, stride)
    kk = b.kernel[0] * b.kernel[1]
    if x.shape[1] % kk:
        raise RuntimeError(f"fold: expected size of input's dim 1 ({x.shape[1]}) to be "
                           f"divisible by the product of kernel_size {b.kernel} ({kk}); "
                           f"got input {tuple(input.shape)}")
    if x.shape[2] != b.out[0] * b.out[1]:
        raise RuntimeError(f"fold: output_size={size}, kernel_size={b.kernel}, "
                           f"dilation={b.dilation}, padding={b.padding}, stride={b.stride} "
                           f"give {b.out[0]} x {b.out[1]} = {b.out[0] * b.out[1]} blocks, but "
                           f"the input {tuple(input.shape)} has {x.shape[2]} (its last dim)")
    y = Fold(b)(x)
    return y if input.ndim == 3 else reshape(y, y.shape[1:])
