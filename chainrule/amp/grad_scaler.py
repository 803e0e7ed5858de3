"""``GradScaler``: dynamic loss scaling for float16 training, torch's algorithm.

float16 gradients underflow to zero below ~6e-8; multiplying the loss by a large
scale before ``backward`` keeps them representable.  ``step`` unscales the gradients
(in their own dtype, float32 for float32 parameters) and skips the optimizer step when
any of them is inf or NaN; ``update`` then halves the scale (``backoff_factor``), or
doubles it (``growth_factor``) after ``growth_interval`` steps in a row without one.

>>> import chainrule as cr
>>> w = cr.nn.Parameter(cr.ones(2))
>>> opt = cr.optim.SGD([w], lr=0.1)
>>> scaler = cr.amp.GradScaler("cpu", init_scale=4.0)
>>> scaler.scale((w * w).sum()).backward()
>>> w.grad
tensor([8., 8.])
>>> scaler.step(opt); scaler.update()
>>> w
Parameter containing:
tensor([0.8000, 0.8000], requires_grad=True)
"""
import warnings
from enum import Enum

from chainrule.backend import cuda_available
from chainrule.core import dtype as D
from chainrule.core.creation import full
from chainrule.core.grad_mode import no_grad
from chainrule.core.tensor import Tensor
from chainrule.functional import isfinite

__all__ = ["GradScaler", "OptState"]


class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state():
    return {"stage": OptState.READY, "found_inf_per_device": {}}


class GradScaler:
    """``GradScaler(device="cuda", init_scale=2.0**16, growth_factor=2.0,
    backoff_factor=0.5, growth_interval=2000, enabled=True)``, torch.amp.GradScaler.

    The recipe (clip after ``unscale_``, so the threshold applies to true gradients)::

        with chainrule.autocast("cpu", dtype=chainrule.float16):
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        chainrule.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        scaler.step(optimizer)      # skipped when a gradient is inf/NaN
        scaler.update()
    """

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        self._device = str(device)
        self._enabled = bool(enabled)
        if self._enabled and self._device.startswith("cuda") and not cuda_available():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                          "Disabling.")
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise ValueError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise ValueError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None                 # 0-d float32 tensor, made on first scale()
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None        # consecutive steps without inf/NaN
            self._per_optimizer_states = {}

    # ------------------------------------------------------------------ scaling
    def _lazy_init_scale_growth_tracker(self, device):
        self._scale = full((), self._init_scale, dtype=D.float32, device=device)
        self._growth_tracker = int(self._init_growth_tracker)

    def scale(self, outputs):
        """``outputs`` (a Tensor, or lists/tuples of them) multiplied by the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init_scale_growth_tracker(outputs.device)
            return outputs * self._scale.to(device=outputs.device)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if hasattr(outputs, "__iter__"):
            return map(self.scale, outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _check_scale_growth_tracker(self, funcname):
        fix = ("This may indicate your script did not use scaler.scale(loss or outputs) "
               "earlier in the iteration.")
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _state(self, optimizer):
        return self._per_optimizer_states.setdefault(id(optimizer),
                                                     _refresh_per_optimizer_state())

    def _unscale_grads_(self, optimizer, inv_scale, allow_fp16):
        """Multiply every gradient by ``inv_scale``; return {device: found_inf (0. or 1.)}
        (torch's _amp_foreach_non_finite_check_and_unscale_: the check is on the scaled
        gradients, and the gradients are unscaled either way)."""
        found = {}
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    g = param.grad
                    if g is None:
                        continue
                    if not allow_fp16 and g.dtype == D.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    dev = str(g.device)
                    bad = not bool(isfinite(g).all().item())
                    found[dev] = max(found.get(dev, 0.0), 1.0 if bad else 0.0)
                    g.mul_(inv_scale.to(device=g.device, dtype=g.dtype))
        if not found:
            found[str(self._scale.device)] = 0.0
        return found

    def unscale_(self, optimizer):
        """Divide ``optimizer``'s gradients by the scale (in place), once per step."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._state(optimizer)
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since "
                               "the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # torch: self._scale.double().reciprocal().float()
        inv_scale = (1.0 / self._scale.double()).float()
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, False)
        state["stage"] = OptState.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale (unless ``unscale_`` was called) and ``optimizer.step()``, skipped when
        a gradient is inf or NaN; returns what ``optimizer.step`` returned, or None."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._check_scale_growth_tracker("step")
        state = self._state(optimizer)
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if not state["found_inf_per_device"]:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = None
        if not sum(state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None):
        """Back the scale off if this iteration found inf/NaN, grow it after
        ``growth_interval`` clean steps, or set it to ``new_scale`` (float or 0-d Tensor)."""
        if not self._enabled:
            return
        scale, tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1 or new_scale.requires_grad:
                    raise AssertionError("new_scale should be a float or a 1-element "
                                         "torch.FloatTensor with requires_grad=False.")
                self._scale.copy_(new_scale.reshape(()))
            else:
                self._scale.fill_(new_scale)
        else:
            found_infs = [f for s in self._per_optimizer_states.values()
                          for f in s["found_inf_per_device"].values()]
            if not found_infs:
                raise AssertionError("No inf checks were recorded prior to update.")
            # torch._amp_update_scale_, in float32 like torch's scale tensor
            with no_grad():
                if sum(found_infs):
                    self._scale.mul_(self._backoff_factor)
                    self._growth_tracker = 0
                else:
                    successful = tracker + 1
                    if successful == self._growth_interval:
                        grown = self._scale * self._growth_factor
                        if bool(isfinite(grown).item()):
                            self._scale.copy_(grown)
                        self._growth_tracker = 0
                    else:
                        self._growth_tracker = successful
        self._per_optimizer_states = {}

    # ------------------------------------------------------------------ queries
    def get_scale(self):
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.item())

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """``{"scale", "growth_factor", "backoff_factor", "growth_interval",
        "_growth_tracker"}`` (empty when disabled), torch's keys."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker = int(state_dict["_growth_tracker"])

    def __repr__(self):
        return (f"GradScaler(device={self._device!r}, scale={self.get_scale()}, "
                f"enabled={self._enabled})")
