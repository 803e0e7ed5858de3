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
from chainrule.core.creation import *  # noqa: F401,F403
from chainrule.core.grad_mode import (  # noqa: F401
    no_grad, enable_grad, set_grad_enabled, is_grad_enabled)
from chainrule.functional import *  # noqa: F401,F403
from chainrule import autograd  # noqa: F401,E402

__version__ = "0.1.0"


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()

from chainrule.utils.serialization import save, load  # noqa: F401,E402
from chainrule import nn, optim  # noqa: F401,E402  (torch.nn / torch.optim style access)
from chainrule import data, text  # noqa: F401,E402  (text registers its corpora as datasets)
from chainrule.backend.cpu import set_num_threads, get_num_threads  # noqa: F401,E402
from chainrule.backend.cpu import tune_from_env as _tune_from_env  # noqa: E402

# Importing chainrule changes nothing outside it; CHAINRULE_CPU_TUNE=1 opts in to
# the CPU tuning (allocator, BLAS threads) at import, see chainrule.backend.cpu.
_tune_from_env()
