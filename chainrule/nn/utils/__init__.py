"""``chainrule.nn.utils``: gradient clipping and parameter/vector conversion."""
from chainrule.nn.utils.clip_grad import (  # noqa: F401
    clip_grad_norm_, clip_grad_norm, clip_grad_value_, get_total_norm, clip_grads_with_norm_)
from chainrule.nn.utils.convert_parameters import (  # noqa: F401
    parameters_to_vector, vector_to_parameters)

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_", "parameters_to_vector", "vector_to_parameters"]
from chainrule.nn.utils import rnn  # noqa: F401,E402
