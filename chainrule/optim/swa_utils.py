"""Weight averaging with ``torch.optim.swa_utils``'s API: stochastic weight averaging
(Izmailov et al. 2018) and exponential moving averages of the weights.

:class:`AveragedModel` keeps a copy of a model whose parameters are a running average
of the model's parameters, one :meth:`~AveragedModel.update_parameters` call per
update.  With ``n`` the number of models averaged so far, ``w_avg`` the average and
``w`` the model's current weights, the two standard averages are

* SWA (the default):  ``w_avg <- w_avg + (w - w_avg) / (n + 1)``, the plain mean of
  every weight vector passed in;
* EMA (``multi_avg_fn=get_ema_multi_avg_fn(decay)``):
  ``w_avg <- decay * w_avg + (1 - decay) * w``, which forgets old weights with a
  horizon of about ``1 / (1 - decay)`` updates.  GAN generators are often sampled
  from such an average (Yazici et al. 2019), because it smooths the oscillation of
  the adversarial game.

The first call copies the weights (``n = 0``).  Batch-norm statistics are not
averaged unless ``use_buffers=True``; the running mean and variance of the averaged
weights differ from the model's, so :func:`update_bn` recomputes them with one pass
over data.  :class:`SWALR` anneals each group's learning rate to a constant
``swa_lr`` for the averaging phase.

>>> import chainrule as cr
>>> from chainrule.optim.swa_utils import AveragedModel
>>> lin = cr.nn.Linear(1, 1, bias=False)
>>> avg = AveragedModel(lin)
>>> for w in (1.0, 2.0, 6.0):
...     with cr.no_grad():
...         _ = lin.weight.fill_(w)
...     avg.update_parameters(lin)
>>> float(avg.module.weight), int(avg.n_averaged)
(3.0, 3)
"""
import itertools
import math
from copy import deepcopy

from chainrule.core.creation import tensor
from chainrule.core.dtype import int64
from chainrule.core.grad_mode import no_grad
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.normalization import _BatchNorm
from chainrule.optim.scheduler_base import LRScheduler, _format_param

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         f"[0,1] range.")


def _is_float(t):
    return t.dtype.is_floating_point or getattr(t.dtype, "is_complex", False)


def get_ema_multi_avg_fn(decay=0.999):
    """In-place EMA over lists of tensors: ``w_avg <- w_avg + (1 - decay) (w - w_avg)``."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _):
        with no_grad():
            if _is_float(ema_param_list[0]):
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.lerp_(p_model, 1 - decay)
            else:
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn():
    """In-place running mean over lists of tensors: ``w_avg <- w_avg + (w - w_avg) / (n + 1)``."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = float(num_averaged)
        with no_grad():
            if _is_float(averaged_param_list[0]):
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    p_avg.lerp_(p_model, 1 / (n + 1))
            else:
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    p_avg.copy_(p_avg + (p_model - p_avg) / (n + 1))
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """One tensor's EMA: returns ``decay * ema_param + (1 - decay) * current_param``."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """One tensor's running mean: ``averaged + (current - averaged) / (num_averaged + 1)``."""
    def swa_update(averaged_param, current_param, num_averaged):
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """A deep copy of ``model`` whose weights are the running average (SWA by default,
    or the one ``avg_fn`` / ``multi_avg_fn`` computes) of the weights passed to
    :meth:`update_parameters`.  Calling it runs the copy.  Its ``state_dict`` holds the
    copy's entries under ``module.`` and the count ``n_averaged``, as in torch.

    Args:
        model (Module): the model to average.
        device: where to keep the copy (default: where the model is).
        avg_fn (callable): ``avg_fn(averaged, current, num_averaged) -> new averaged``,
            one tensor at a time.
        multi_avg_fn (callable): ``multi_avg_fn(averaged_list, current_list,
            num_averaged)`` updating the lists in place (e.g.
            :func:`get_ema_multi_avg_fn`).  At most one of the two may be given.
        use_buffers (bool): average the buffers too (batch-norm statistics) instead of
            copying the model's.
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None,
                 use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: only one of avg_fn and multi_avg_fn should be "
                             "provided")
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: expected a Module, got {type(model).__name__}")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _averaged(self, model):
        if self.use_buffers:
            return (list(itertools.chain(self.module.parameters(), self.module.buffers())),
                    list(itertools.chain(model.parameters(), model.buffers())))
        return list(self.module.parameters()), list(model.parameters())

    def update_parameters(self, model):
        """Fold ``model``'s current weights into the average (the first call copies them)."""
        mine, theirs = self._averaged(model)
        if len(mine) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} "
                             f"tensors to average, the averaged copy {len(mine)}; pass the "
                             f"model this AveragedModel was made from")
        with no_grad():
            pairs = [(a, m.detach().to(a.device)) for a, m in zip(mine, theirs)]
            n = int(self.n_averaged.item())
            if n == 0:
                for a, m in pairs:
                    a.copy_(m)
            elif self.avg_fn is not None:
                for a, m in pairs:
                    a.copy_(self.avg_fn(a.detach(), m, self.n_averaged.to(a.device)))
            else:
                groups = {}
                for a, m in pairs:  # one call per (device, dtype), as torch's foreach groups
                    groups.setdefault((str(a.device), a.dtype), []).append((a, m))
                fn = self.multi_avg_fn or get_swa_multi_avg_fn()
                for group in groups.values():
                    fn([a for a, _ in group], [m for _, m in group], self.n_averaged)
            if not self.use_buffers:  # keep the copy's buffers in step with the model's
                for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                    b_avg.copy_(b_model.detach().to(b_avg.device))
            self.n_averaged.add_(1)


def update_bn(loader, model, device=None):
    """Recompute the running statistics of every batch-norm layer of ``model`` with one
    pass over ``loader`` (batches, or ``(input, ...)`` tuples whose first item is fed):
    the statistics are reset, averaged cumulatively (``momentum=None``) over all
    batches, and each layer's momentum and the model's train/eval mode are restored."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    try:
        with no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None:
                    batch = batch.to(device)
                model(batch)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's learning rate from its value to ``swa_lr`` over
    ``anneal_epochs`` steps, then holds it (torch's ``SWALR``).  With ``t`` the
    fraction of the annealing done and ``alpha = (1 - cos(pi t)) / 2`` (``'cos'``) or
    ``alpha = t`` (``'linear'``)::

        lr_t = alpha * swa_lr + (1 - alpha) * lr_0
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must by one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" \
            else self._linear_anneal
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        # the current lr is alpha_prev * swa_lr + (1 - alpha_prev) * lr_0: recover lr_0,
        # then take the next point of the annealing (chainable, like torch's)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
