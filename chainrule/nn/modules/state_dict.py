"""Loading a ``state_dict`` into a Module: key matching, shape checks and
in-place copies, with torch's error messages."""
import itertools
from collections import OrderedDict, namedtuple

import numpy as np

from chainrule import backend as B
from chainrule.core.tensor import Tensor, from_array
from chainrule.nn.parameter import Parameter

EXTRA_STATE_KEY_SUFFIX = "_extra_state"


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def load_local(module, state_dict, prefix, assign, missing, unexpected, errors,
               has_extra_state=False):
    """Load ``module``'s own parameters and persistent buffers (not its
    children's) from ``state_dict``; record missing/unexpected keys and errors.
    ``has_extra_state``: the module's class overrides ``set_extra_state``."""
    persistent = {k: v for k, v in module._buffers.items()
                  if k not in module._non_persistent_buffers_set}
    local = {k: v for k, v in itertools.chain(module._parameters.items(),
                                              persistent.items()) if v is not None}
    for name, param in local.items():
        key = prefix + name
        if key not in state_dict:
            missing.append(key)
            continue
        err = _copy_into(module, name, param, state_dict[key], key, assign)
        if err:
            errors.append(err)
    extra_key = prefix + EXTRA_STATE_KEY_SUFFIX
    if has_extra_state:
        if extra_key in state_dict:
            module.set_extra_state(state_dict[extra_key])
        else:
            missing.append(extra_key)
    elif extra_key in state_dict:
        unexpected.append(extra_key)
    for key in state_dict:
        if key.startswith(prefix) and key != extra_key:
            parts = key[len(prefix):].split(".", 1)
            if len(parts) > 1:
                if parts[0] not in module._modules:
                    unexpected.append(key)
            elif parts[0] not in local:
                unexpected.append(key)


def load_state_dict(module, state_dict, strict=True, assign=False):
    """The body of ``Module.load_state_dict`` (see there)."""
    if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    missing, unexpected, errors = [], [], []

    def load(m, local, prefix=""):
        meta = {"assign_to_params_buffers": True} if assign else {}
        m._load_from_state_dict(local, prefix, meta, True, missing, unexpected, errors)
        for name, child in m._modules.items():
            if child is not None:
                cp = prefix + name + "."
                load(child, {k: v for k, v in local.items() if k.startswith(cp)}, cp)

    load(module, OrderedDict(state_dict))
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                ", ".join(f'"{k}"' for k in unexpected)))
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                ", ".join(f'"{k}"' for k in missing)))
    if errors:
        raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
            type(module).__name__, "\n\t".join(errors)))
    return IncompatibleKeys(missing, unexpected)


def _copy_into(module, name, param, value, key, assign):
    """Copy checkpoint ``value`` into ``param``; an error message or None."""
    if isinstance(value, Tensor):
        src = value.array
    elif isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        src = np.asarray(value)
    else:
        return (f'While copying the parameter named "{key}", expected Tensor or '
                f'array-like object from checkpoint but received {type(value)}')
    if param.ndim == 0 and src.ndim == 1 and src.shape[0] == 1:
        src = src.reshape(())
    if tuple(src.shape) != tuple(param.shape):
        return (f"size mismatch for {key}: copying a param with shape {tuple(src.shape)} "
                f"from checkpoint, the shape in current model is {tuple(param.shape)}.")
    try:
        if B.device_of(src) != param.device:
            src = B.to_device(src, param.device)
        xp = B.xp_of(param.array)
        if assign:
            arr = xp.asarray(src)
            if isinstance(param, Parameter):
                setattr(module, name, Parameter(from_array(arr), param.requires_grad))
            else:
                module._buffers[name] = from_array(arr)
        else:
            param.array[...] = xp.asarray(src).astype(param.array.dtype, copy=False)
            param._version[0] += 1
    except Exception as ex:  # noqa: BLE001 - reported like torch does
        return (f'While copying the parameter named "{key}", whose dimensions in the model '
                f'are {tuple(param.shape)} and whose dimensions in the checkpoint are '
                f'{tuple(src.shape)}, an exception occurred : {ex.args}.')
    return None
