"""Convolutions: ``conv1d``, ``conv2d``, ``conv_transpose1d``, ``conv_transpose2d``.

Semantics, argument names and weight layouts are torch's: a convolution's
weight is ``(out_channels, in_channels/groups, *kernel)``, a transposed
convolution's ``(in_channels, out_channels/groups, *kernel)``.

Three Functions (2-D; 1-D runs as 2-D with a unit height) carry every
derivative, each backward being another of the three, so gradients of any
order work:

* ``Conv2d(x, w[, b])``            ``y = conv(x, w) + b``
* ``ConvTranspose2d(z, w[, b])``   ``conv^T(z, w) + b``, the adjoint of conv in x
* ``Conv2dGradWeight(x, gy)``      ``d<gy, conv(x, w)>/dw``, bilinear in (x, gy)

The array kernels (im2col GEMMs over cache-sized blocks shared out to a few
threads, Winograd for 3x3 kernels, a channels-last internal layout) live in
the backend (``chainrule/backend/kernels/``: ``conv.py``, ``conv_transpose.py``,
``winograd.py``), reached by name through ``kernels_of(x)``.

>>> import chainrule as cr
>>> x = cr.ones(1, 1, 4, 4)
>>> conv2d(x, cr.ones(2, 1, 3, 3), padding=1)[0, 0].tolist()[0]
[4.0, 6.0, 6.0, 4.0]
"""
import numbers

from chainrule import backend as B
from chainrule.core import dtype as D
from chainrule.core.function import Function
from chainrule.core.tensor import Tensor
from chainrule.functional.autocast import autocast_op
from chainrule.functional.shape import broadcast_to, reshape

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


# ---------------------------------------------------------------- Functions
class ChannelSum(Function):
    """``gy.sum((0, 2, 3))``, the bias gradient, fast for channels-last ``gy``."""
    save_inputs = False

    def forward(self, gy):
        return B.kernels_of(gy).channel_sum(gy)

    def backward(self, g):  # broadcast back over N, H, W
        c = self._in_meta[0][0][1]
        return broadcast_to(reshape(g, (1, c, 1, 1)), self._in_meta[0][0])


class Conv2d(Function):
    """``y = conv(x, w) (+ b)`` with geometry ``g`` (a ``chainrule.backend.Geom``)."""

    def __init__(self, g):
        self.g = g

    def forward(self, x, w, b=None):
        return B.kernels_of(x).conv_forward(x, w, self.g, b)

    def backward(self, gy):  # gx = conv^T(gy, w), gw = sum gy (x) patches(x), gb = sum gy
        x, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        gx = ConvTranspose2d(self.g)(gy, w) if need[0] else None
        gw = Conv2dGradWeight(self.g)(x, gy) if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, (ChannelSum()(gy) if need[2] else None)


class ConvTranspose2d(Function):
    """``conv^T(z, w) (+ b)``: the adjoint in ``x`` of ``Conv2d(g)``; ``z`` has
    the spatial size ``g.out`` and the result ``g.size``."""

    def __init__(self, g):
        self.g = g

    def forward(self, z, w, b=None):
        return B.kernels_of(z).conv_input_grad(z, w, self.g, b)

    def backward(self, gy):  # gz = conv(gy, w), gw = GradWeight(gy, z), gb = sum gy
        z, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        gz = Conv2d(self.g)(gy, w) if need[0] else None
        gw = Conv2dGradWeight(self.g)(gy, z) if need[1] else None
        if len(need) == 2:
            return gz, gw
        return gz, gw, (ChannelSum()(gy) if need[2] else None)


class Conv2dGradWeight(Function):
    """The weight gradient of ``Conv2d(g)``, as a differentiable op of (x, gy)."""

    def __init__(self, g):
        self.g = g

    def forward(self, x, gy):
        return B.kernels_of(x).conv_weight_grad(x, gy, self.g)

    def backward(self, ggw):  # bilinear: gx = conv^T(gy, ggw), ggy = conv(x, ggw)
        x, gy = self.inputs
        need = self.needs_input_grad
        gx = ConvTranspose2d(self.g)(gy, ggw) if need[0] else None
        ggy = Conv2d(self.g)(x, ggw) if need[1] else None
        return gx, ggy


# ---------------------------------------------------------------- argument checks
def _tuple(v, nd, op, what):
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return (int(v),) * nd
    try:
        t = tuple(int(a) for a in v)
    except TypeError:
        raise TypeError(f"{op}: {what} must be an int or a tuple of {nd} ints, "
                        f"got {v!r}") from None
    if len(t) != nd:
        raise RuntimeError(f"{op}: expected {what} to be a single integer value or a list "
                           f"of {nd} values to match the convolution dimensions, but got "
                           f"{what}={list(t)}")
    return t


def _shape(t):
    return tuple(t.shape)


def _dims_text(nd):
    return "L" if nd == 1 else "H, W"


def _check_tensors(op, input, weight, bias, nd):
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: input and weight must be Tensors, got "
                        f"{type(input).__name__} and {type(weight).__name__}")
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{op}: expected a {nd + 2}-D weight, got {_shape(weight)}")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) "
                           f"input, got {_shape(input)}")
    dts = [input._data.dtype, weight._data.dtype]
    if bias is not None:
        if not isinstance(bias, Tensor):
            raise TypeError(f"{op}: bias must be a Tensor or None, got {type(bias).__name__}")
        dts.append(bias._data.dtype)
    if len(set(dts)) > 1:
        raise RuntimeError(f"{op}: expected input, weight and bias to have the same dtype, "
                           f"got {[str(D.from_np_dtype(d)) for d in dts]}; cast them first")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got "
                           f"{D.from_np_dtype(input._data.dtype)}")


def _check_groups(op, groups, channels, what, wshape):
    if not isinstance(groups, numbers.Integral) or groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got groups={groups}")
    if channels % groups:
        raise RuntimeError(f"{op}: given groups={groups}, expected {what} of weight "
                           f"{wshape} to be divisible by {groups}")


def _check_positive(op, stride, dilation, padding=None):
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported, got {stride}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, got {dilation}")
    if padding is not None and any(p < 0 for p in padding):
        raise RuntimeError(f"{op}: negative padding is not supported, got {padding}")


def _batched(input, nd):
    """Add the batch dim to an unbatched input; returns (input, was_unbatched)."""
    if input.ndim == nd + 1:
        return reshape(input, (1,) + _shape(input)), True
    return input, False


def _to_2d(x, w, nd):
    """1-D convolutions run as 2-D ones with a unit height."""
    if nd == 2:
        return x, w
    return (reshape(x, x.shape[:2] + (1,) + x.shape[2:]),
            reshape(w, w.shape[:2] + (1,) + w.shape[2:]))


def _from_2d(y, nd, unbatched):
    if nd == 1:
        y = reshape(y, y.shape[:2] + y.shape[3:])
    if unbatched:
        y = reshape(y, y.shape[1:])
    return y


def _pads(padding, kernel, stride, dilation, nd, op):
    """Resolve int/tuple/'same'/'valid' padding to ((before, after), ...) pairs."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding != "same":
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of "
                             f"['valid', 'same']")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided "
                             f"convolutions")
        # torch puts the odd extra element after (bottom/right)
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                     for k, d in zip(kernel, dilation))
    p = _tuple(padding, nd, op, "padding")
    if any(a < 0 for a in p):
        raise RuntimeError(f"{op}: negative padding is not supported, got {p}")
    return tuple((a, a) for a in p)


# ---------------------------------------------------------------- convolution
def _conv(op, nd, input, weight, bias, stride, padding, dilation, groups):
    _check_tensors(op, input, weight, bias, nd)
    ws, xs = _shape(weight), _shape(input)
    _check_groups(op, groups, ws[0], "dim 0 (out_channels)", ws)
    cin = ws[1] * groups
    x, unbatched = _batched(input, nd)
    if x.shape[1] != cin:
        g = f" with groups={groups}" if groups != 1 else ""
        want = ("(N, " if not unbatched else "(") + f"{cin}, {_dims_text(nd)})"
        raise RuntimeError(f"{op}: expected input {want} for weight {ws}{g}, got {xs}")
    kernel = ws[2:]
    stride = _tuple(stride, nd, op, "stride")
    dilation = _tuple(dilation, nd, op, "dilation")
    _check_positive(op, stride, dilation)
    pads = _pads(padding, kernel, stride, dilation, nd, op)
    size = x.shape[2:]
    for n, (a, b), k, d in zip(size, pads, kernel, dilation):
        if n + a + b < d * (k - 1) + 1:
            raise RuntimeError(
                f"{op}: input {xs} padded to {tuple(m + a + b for m, (a, b) in zip(size, pads))}"
                f" is smaller than the kernel {tuple(kernel)} (dilated: "
                f"{tuple(dd * (kk - 1) + 1 for kk, dd in zip(kernel, dilation))})")
    if bias is not None and _shape(bias) != (ws[0],):
        raise RuntimeError(f"{op}: expected bias of shape ({ws[0]},) for weight {ws}, "
                           f"got {_shape(bias)}")
    x, w = _to_2d(x, weight, nd)
    if nd == 1:
        size, kernel, stride, dilation = (1,) + size, (1,) + kernel, (1,) + stride, \
            (1,) + dilation
        pads = ((0, 0),) + pads
    g = B.Geom(size, kernel, stride, dilation, pads, groups)
    fn = Conv2d(g)
    y = fn(x, w) if bias is None else fn(x, w, bias)
    return _from_2d(y, nd, unbatched)


@autocast_op("conv2d")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, like torch) over ``(N, C, H, W)``.

    Args:
        input: ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_out, C_in/groups, kH, kW)``.
        bias: optional ``(C_out,)``.
        stride, dilation: int or (sH, sW).
        padding: int, (pH, pW), ``'valid'`` (none) or ``'same'`` (output size =
            input size; stride 1 only, an odd total goes bottom/right).
        groups: split channels into groups convolved separately
            (``groups == C_in`` is a depthwise convolution).

    Shape: ``H_out = floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1``, same for W.

    >>> import chainrule as cr
    >>> conv2d(cr.randn(8, 3, 32, 32), cr.randn(16, 3, 5, 5), stride=2).shape
    chainrule.Size([8, 16, 14, 14])
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


@autocast_op("conv1d")
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over ``(N, C_in, L)`` (or unbatched ``(C_in, L)``) with
    weight ``(C_out, C_in/groups, k)``; arguments as :func:`conv2d`.

    >>> import chainrule as cr
    >>> conv1d(cr.randn(4, 2, 10), cr.randn(3, 2, 3), padding="same").shape
    chainrule.Size([4, 3, 10])
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


# ---------------------------------------------------------------- transposed
def _conv_t(op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    _check_tensors(op, input, weight, bias, nd)
    ws, xs = _shape(weight), _shape(input)
    _check_groups(op, groups, ws[0], "dim 0 (in_channels)", ws)
    cout = ws[1] * groups
    x, unbatched = _batched(input, nd)
    if x.shape[1] != ws[0]:
        want = ("(N, " if not unbatched else "(") + f"{ws[0]}, {_dims_text(nd)})"
        raise RuntimeError(f"{op}: expected input {want} for weight {ws} "
                           f"(in_channels, out_channels/groups, ...), got {xs}")
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of ints, got {padding!r}")
    kernel = ws[2:]
    stride = _tuple(stride, nd, op, "stride")
    dilation = _tuple(dilation, nd, op, "dilation")
    pad = _tuple(padding, nd, op, "padding")
    opad = _tuple(output_padding, nd, op, "output_padding")
    _check_positive(op, stride, dilation, pad)
    for o, s, d in zip(opad, stride, dilation):
        if o < 0 or (o >= s and o >= d):
            raise RuntimeError(f"{op}: output padding must be smaller than either stride or "
                               f"dilation, but got output_padding={opad}, stride={stride}, "
                               f"dilation={dilation}")
    size_in = x.shape[2:]
    out = tuple((n - 1) * s - 2 * p + d * (k - 1) + o + 1 for n, s, p, d, k, o in
                zip(size_in, stride, pad, dilation, kernel, opad))
    if any(n <= 0 for n in out):
        raise RuntimeError(f"{op}: input {xs} with weight {ws}, stride {stride}, padding {pad}"
                           f" and dilation {dilation} gives a non-positive output size {out}")
    if bias is not None and _shape(bias) != (cout,):
        raise RuntimeError(f"{op}: expected bias of shape ({cout},) for weight {ws} with "
                           f"groups={groups}, got {_shape(bias)}")
    x, w = _to_2d(x, weight, nd)
    pads = tuple((p, p) for p in pad)
    if nd == 1:
        out, size_in, kernel = (1,) + out, (1,) + size_in, (1,) + kernel
        stride, dilation, pads = (1,) + stride, (1,) + dilation, ((0, 0),) + pads
    g = B.Geom(out, kernel, stride, dilation, pads, groups, out=size_in)
    fn = ConvTranspose2d(g)
    y = fn(x, w) if bias is None else fn(x, w, bias)
    return _from_2d(y, nd, unbatched)


@autocast_op("conv_transpose2d")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """2-D transposed convolution (the gradient of :func:`conv2d` w.r.t. its
    input; sometimes called "deconvolution").

    Args:
        input: ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_in, C_out/groups, kH, kW)``.
        bias: optional ``(C_out,)``.
        output_padding: extra rows/columns added to one side of the output
            (must be smaller than stride or dilation) to pick among the input
            sizes a strided convolution maps to the same output size.

    Shape: ``H_out = (H - 1) sH - 2 pH + dH (kH - 1) + output_padding + 1``.

    >>> import chainrule as cr
    >>> conv_transpose2d(cr.randn(2, 4, 7, 7), cr.randn(4, 3, 4, 4), stride=2,
    ...                  padding=1).shape
    chainrule.Size([2, 3, 14, 14])
    """
    return _conv_t("conv_transpose2d", 2, input, weight, bias, stride, padding,
                   output_padding, groups, dilation)


@autocast_op("conv_transpose1d")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """1-D transposed convolution: ``(N, C_in, L)`` with weight
    ``(C_in, C_out/groups, k)``; arguments as :func:`conv_transpose2d`.

    >>> import chainrule as cr
    >>> conv_transpose1d(cr.randn(2, 4, 5), cr.randn(4, 1, 3), stride=2).shape
    chainrule.Size([2, 1, 11])
    """
    return _conv_t("conv_transpose1d", 1, input, weight, bias, stride, padding,
                   output_padding, groups, dilation)
