"""Which ops autocast, and to what: torch's autocast op lists, applied by one decorator.

Each op that autocasts is defined as ``@autocast_op("name")`` in its family file; the
policy comes from the tables below (torch's CUDA lists, ``aten/src/ATen/autocast_mode.cpp``,
used for both device types: chainrule's lower dtype is float16 on both, and float16
needs the float32 list -- see docs/amp.md for how this differs from torch's CPU lists).

Inside an autocast region an op's floating-point Tensor arguments (positional,
keyword, or in a list/tuple) on the region's device type are cast on the way in:

* ``LOWER``  -- to the region's dtype (float16), float64 left alone: the GEMM ops;
* ``FP32``   -- to float32 (float64 left alone): precision-sensitive ops;
* ``PROMOTE`` -- to the widest floating dtype among them: ops that need one dtype;
* ``NORM``   -- computed in float32, the output cast back to the input's dtype
  (batch norm: cuDNN's mixed batch norm keeps float32 statistics, float16 in and out);
* ``BANNED`` -- raise under CUDA autocast (torch: binary_cross_entropy is unsafe to
  autocast), float32 under CPU autocast (torch's CPU list).

The casts are differentiable (the ``Cast`` op), so gradients come back to each
parameter in its own dtype.  While an autocast op runs, autocast is off, so the ops it
calls (addmm's mm and add) run in the dtypes it chose, as torch's redispatch does.
When autocast is off the decorator costs one flag check.
"""
import functools

from chainrule import backend as B
from chainrule.core import autocast_state as _ac
from chainrule.core import dtype as D
from chainrule.core import grad_mode as _gm
from chainrule.core.ops import ops as _ops
from chainrule.core.tensor import Tensor

__all__ = ["autocast_op", "POLICIES", "LOWER", "FP32", "PROMOTE", "NORM", "BANNED"]

LOWER, FP32, PROMOTE, NORM, BANNED = "lower_precision_fp", "fp32", "promote", "norm", "banned"

POLICIES = {}
for _names, _policy in (
    # torch: "CUDA Ops that can autocast to float16"
    ("matmul mm mv bmm addmm addmv baddbmm einsum linear conv1d conv2d conv_transpose1d "
     "conv_transpose2d prelu gru_cell lstm_cell rnn_tanh_cell rnn_relu_cell "
     "recurrent_layer", LOWER),
    # torch: "CUDA Ops that can autocast to float32"
    ("acos asin cosh exp expm1 log log10 log2 log1p reciprocal rsqrt sinh tan pow "
     "softplus layer_norm group_norm rms_norm norm cosine_similarity poisson_nll_loss "
     "cosine_embedding_loss nll_loss hinge_embedding_loss kl_div l1_loss smooth_l1_loss "
     "huber_loss mse_loss margin_ranking_loss multilabel_margin_loss soft_margin_loss "
     "triplet_margin_loss multi_margin_loss binary_cross_entropy_with_logits pdist cdist "
     "logsumexp prod softmax log_softmax softmin cumprod cumsum sum cross_entropy "
     "normalize ctc_loss", FP32),
    # torch: "CUDA Ops that promote to the widest input type"
    ("addcdiv addcmul atan2 bilinear cross dot tensordot index_put scatter_add", PROMOTE),
    ("batch_norm", NORM),
    ("binary_cross_entropy", BANNED),
):
    POLICIES.update(dict.fromkeys(_names.split(), _policy))

_F32 = D.float32.np
_F64 = D.float64.np


def _device_type(a):
    return "cuda" if B.is_device_array(a) else "cpu"


def _walk(a):
    if isinstance(a, Tensor):
        yield a
    elif isinstance(a, (list, tuple)):
        for b in a:
            yield from _walk(b)
    elif isinstance(a, dict):        # recurrent_layer's weights
        for b in a.values():
            yield from _walk(b)


def _tensors(args, kwargs):
    for a in args:
        yield from _walk(a)
    for a in kwargs.values():
        yield from _walk(a)


def _cast_one(t, npd, lower):
    """``t`` as ``npd`` (differentiably); casts of leaf parameters to the lower dtype
    are cached for the region, like torch's weight cache."""
    if not (lower and _ac._State.cache_enabled and t.requires_grad and t.grad_fn is None
            and t._base is None):
        return _ops.cast(t, npd)
    key = (id(t), _gm._State.enabled)   # a cast made under no_grad has no graph
    hit = _ac._State.cache.get(key)
    if hit is not None and hit[0] is t and hit[1] == t._version[0] and hit[2].dtype.np == npd:
        return hit[2]
    out = _ops.cast(t, npd)
    _ac._State.cache[key] = (t, t._version[0], out)
    return out


def _map(x, fn):
    if isinstance(x, Tensor):
        return fn(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_map(b, fn) for b in x)
    if isinstance(x, dict):
        return {k: _map(v, fn) for k, v in x.items()}
    return x


def _cast_args(name, policy, args, kwargs):
    """The arguments cast for ``policy``, the dtype to cast the output back to (NORM),
    or None when the op's tensors are not on an autocasting device type."""
    first = next(_tensors(args, kwargs), None)
    if first is None:
        return None
    dev = _device_type(first._data)
    if not _ac._State.enabled[dev]:
        return None
    back = None
    if policy == LOWER:
        target, lower = _ac._State.dtype[dev].np, True
    elif policy == PROMOTE:
        fl = [t._data.dtype for t in _tensors(args, kwargs) if t._data.dtype.kind == "f"]
        if not fl:
            return None
        target, lower = max(fl, key=lambda d: d.itemsize), False
    else:
        if policy == BANNED and dev == "cuda":
            raise RuntimeError(
                f"{name}: torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are "
                f"unsafe to autocast. Many models use a sigmoid layer right before the "
                f"binary cross entropy layer; combine the two with "
                f"binary_cross_entropy_with_logits or BCEWithLogitsLoss, which are safe to "
                f"autocast")
        if policy == NORM and first._data.dtype.kind == "f" and first._data.dtype != _F64:
            back = first._data.dtype
        target, lower = _F32, False

    def one(t):
        d = t._data.dtype
        if d.kind != "f" or d == target or (d == _F64 and policy != PROMOTE):
            return t
        return _cast_one(t, target, lower)

    args = tuple(_map(a, one) for a in args)
    kwargs = {k: _map(v, one) for k, v in kwargs.items()}
    return args, kwargs, back


def autocast_op(name):
    """Decorate the op ``name`` (a key of :data:`POLICIES`) to autocast."""
    policy = POLICIES[name]

    def deco(fn):
        @functools.wraps(fn)
        def op(*args, **kwargs):
            if not _ac._State.active:
                return fn(*args, **kwargs)
            cast = _cast_args(name, policy, args, kwargs)
            prev = _ac.suspend()
            try:
                if cast is None:
                    return fn(*args, **kwargs)
                out = fn(*cast[0], **cast[1])
                if cast[2] is not None and isinstance(out, Tensor):
                    out = _ops.cast(out, cast[2])
                return out
            finally:
                _ac.resume(prev)
        op.autocast_policy = policy
        return op
    return deco
