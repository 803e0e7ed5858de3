"""chainrule: a deep-learning framework on NumPy with PyTorch's API.

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""
from chainrule.backend import manual_seed, Device as device  # noqa: F401
from chainrule.core.dtype import (  # noqa: F401
    dtype, float16, float32, float64, int8, uint8, int16, int32, int64, bool_ as bool,
    get_default_dtype, set_default_dtype, result_type as _np_result_type)
from chainrule.core.dtype import float16 as half, float64 as double  # noqa: F401
from chainrule.core.dtype import float32 as float, int64 as long  # noqa: F401
from chainrule.core.tensor import Tensor  # noqa: F401
from chainrule.core.size import Size  # noqa: F401  (torch.Size)
from chainrule.core.creation import *  # noqa: F401,F403
from chainrule.core.grad_mode import (  # noqa: F401
    no_grad, enable_grad, set_grad_enabled, is_grad_enabled)
# The ops torch has as torch.<name> (F-only ops such as gelu live in chainrule.nn.functional;
# tests/test_namespace.py checks both lists against torch's).
from chainrule.functional import (  # noqa: F401
    abs, acos, adaptive_avg_pool1d, add, addcdiv, addcmul, addmm, addmv, all, allclose,
    alpha_dropout, amax, amin, any, argmax, argmin, argsort, argwhere, asin, atan,
    atan2, avg_pool1d, baddbmm, bilinear, bitwise_and, bitwise_not, bitwise_or,
    bitwise_xor, bmm, broadcast_to, cat, ceil, celu, chunk, clamp, clip, clone, concat,
    concatenate, conv1d, conv2d, conv_transpose1d, conv_transpose2d, cos, cosh,
    cosine_similarity, count_nonzero, cumprod, cumsum, diag, diag_embed, diagonal, div,
    dot, dropout, einsum, eq, equal, erf, exp, exp2, expm1, feature_alpha_dropout,
    flatten, flip, fliplr, select, flipud, floor, floor_divide, fmod, frac, gather, ge, ger,
    group_norm, gru_cell, gt, hardshrink, hstack, index_add, index_copy, index_fill,
    index_put, index_select, inner, isclose, isfinite, isinf, isnan, layer_norm, le,
    lerp, log, log10, log1p, log2, log_softmax, logical_and, logical_not, logical_or,
    logical_xor, logsumexp, lt, masked_fill, masked_select, matmul, max, max_pool1d,
    max_pool2d, maximum, mean, median, meshgrid, min, minimum, mm, moveaxis, movedim, mul, mv,
    nansum, narrow, ne, neg, nonzero, norm, outer, pairwise_distance, permute, pow,
    prelu, prod, reciprocal, relu, remainder, repeat_interleave, reshape, return_types, rms_norm,
    rnn_relu_cell, rnn_tanh_cell, roll, round, rsqrt, scatter, scatter_add, selu,
    sigmoid, sign, sin, sinh, softmax, sort, split, sqrt, square, squeeze, stack, std,
    sub, sum, swapaxes, swapdims, t, take, take_along_dim, tan, tanh, tensordot,
    threshold, tile, topk, transpose, tril, triu, trunc, unbind, unflatten, unsqueeze,
    var, vdot, vstack, where)
from chainrule.functional import (  # noqa: F401  (torch.* names of nn.functional variants)
    celu_, channel_shuffle, max_pool1d_with_indices, native_channel_shuffle, pdist,
    pixel_shuffle, pixel_unshuffle, relu_, rrelu, rrelu_, selu_, threshold_)
from chainrule.functional.loss_ctc import ctc_loss  # noqa: F401,E402
from chainrule.functional import digamma, lgamma, polygamma  # noqa: F401,E402
from chainrule.functional import (  # noqa: F401,E402  (chainrule/functional/more_ops.py)
    acosh, asinh, atanh, erfc, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,
    arctanh, absolute, greater, greater_equal, less, less_equal, not_equal, multiply,
    divide, subtract, negative, true_divide, positive, fix, clamp_min, clamp_max,
    rad2deg, deg2rad, logaddexp, logaddexp2, hypot, xlogy, logit, sinc, signbit,
    heaviside, nan_to_num, nanmean, diff, trace, kron, cross, cdist, rot90, var_mean,
    std_mean, atleast_1d, atleast_2d, atleast_3d, column_stack, row_stack, dstack,
    hsplit, vsplit, dsplit, tensor_split, block_diag, diagflat, cartesian_prod,
    tril_indices, triu_indices, broadcast_tensors, broadcast_shapes, is_floating_point,
    is_complex, is_nonzero, is_same_size, is_signed)
from chainrule import autograd  # noqa: F401,E402

__version__ = "0.1.0"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()

from chainrule.utils.serialization import save, load  # noqa: F401,E402
from chainrule import nn, optim  # noqa: F401,E402  (torch.nn / torch.optim style access)
from chainrule import cuda  # noqa: F401,E402  (torch.cuda's queries)
from chainrule import distributions  # noqa: F401,E402
from chainrule import data, text  # noqa: F401,E402  (text registers its corpora as datasets)
from chainrule.compile import compile  # noqa: F401,E402  (torch.compile)
from chainrule import onnx  # noqa: F401,E402  (torch.onnx.export; docs/onnx.md)
from chainrule import amp  # noqa: F401,E402  (torch.amp: autocast, GradScaler; docs/amp.md)
from chainrule.amp import cpu, autocast, GradScaler  # noqa: F401,E402  (torch.cpu, torch.autocast)
from chainrule.amp.autocast_mode import (  # noqa: F401,E402  (torch.* autocast queries)
    is_autocast_enabled, get_autocast_dtype, set_autocast_enabled, set_autocast_dtype,
    is_autocast_cache_enabled, set_autocast_cache_enabled, clear_autocast_cache,
    autocast_increment_nesting, autocast_decrement_nesting, is_autocast_cpu_enabled,
    get_autocast_cpu_dtype, get_autocast_gpu_dtype, set_autocast_cpu_enabled,
    set_autocast_gpu_dtype, set_autocast_cpu_dtype)
cuda.amp = amp.cuda_amp  # torch.cuda.amp (deprecated forms); importable by name too:
import sys as _sys  # noqa: E402
_sys.modules.setdefault("chainrule.cuda.amp", amp.cuda_amp)
_sys.modules.setdefault("chainrule.cpu", cpu)
_sys.modules.setdefault("chainrule.cpu.amp", amp.cpu_amp)
from chainrule.backend.cpu import set_num_threads, get_num_threads  # noqa: F401,E402
from chainrule.backend.cpu import tune_from_env as _tune_from_env  # noqa: E402

# Importing chainrule changes nothing outside it; CHAINRULE_CPU_TUNE=1 opts in to
# the CPU tuning (allocator, BLAS threads) at import, see chainrule.backend.cpu.
_tune_from_env()
