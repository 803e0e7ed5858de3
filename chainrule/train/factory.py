"""Build optimizers, schedulers and losses from names (what the CLI and the
example scripts pass around), with friendly errors for bad names and values."""
from chainrule import nn, optim
from chainrule.optim import lr_scheduler as S
from chainrule.utils.errors import UnknownNameError, suggest

__all__ = ["OPTIMIZERS", "SCHEDULERS", "make_optimizer", "make_scheduler", "make_loss"]

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam",
              "radam")
SCHEDULERS = ("none", "step", "cosine", "onecycle", "plateau", "zaremba", "plateau4")


def _check_name(name, choices, what):
    if name not in choices:
        raise UnknownNameError(suggest(name, choices, what))


def make_optimizer(name, params, lr, momentum=0.0, weight_decay=0.0):
    """``sgd`` (with ``momentum``), ``adam``, ``adamw``, ``rmsprop`` (with ``momentum``),
    ``adagrad``, ``adadelta``, ``adamax``, ``nadam`` or ``radam`` over ``params``.  The values are checked by
    :class:`~chainrule.train.RunConfig` (and, as in torch, by the optimizer itself)."""
    _check_name(name, OPTIMIZERS, "optimizer")
    params = list(params)
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    cls = {"adam": optim.Adam, "adamw": optim.AdamW, "adagrad": optim.Adagrad,
           "adadelta": optim.Adadelta, "adamax": optim.Adamax, "nadam": optim.NAdam,
           "radam": optim.RAdam}[name]
    return cls(params, lr=lr, weight_decay=weight_decay)


def make_scheduler(name, optimizer, epochs, steps_per_epoch):
    """A scheduler over the whole run: ``step`` (x0.1 every third of the epochs),
    ``cosine`` (to 0 over ``epochs``), ``onecycle`` (per batch, peak at the given lr),
    ``plateau`` (x0.1 after 3 epochs without improvement), ``zaremba`` (x0.5 per epoch
    after epoch 4, Zaremba et al.'s PTB schedule), ``plateau4`` (/4 as soon as the
    validation loss stops improving, PyTorch's word_language_model) or ``none`` (None)."""
    _check_name(name, SCHEDULERS, "scheduler")
    if name == "none":
        return None
    if name == "step":
        return S.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "zaremba":
        return S.LambdaLR(optimizer, lambda e: 0.5 ** max(e + 1 - 4, 0))
    if name == "plateau4":
        return S.ReduceLROnPlateau(optimizer, mode="min", factor=0.25, patience=0)
    if name == "onecycle":
        max_lr = [g["lr"] for g in optimizer.param_groups]
        return S.OneCycleLR(optimizer, max_lr=max_lr, epochs=epochs,
                            steps_per_epoch=max(1, steps_per_epoch))
    return S.ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=3)


def make_loss(task, label_smoothing=0.0):
    """Cross-entropy for classification, mean squared error for regression (with
    ``(N, 1)`` outputs matched to ``(N,)`` targets instead of broadcast to ``(N, N)``)."""
    if task == "classification":
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label smoothing must be in [0, 1), got {label_smoothing}")
        return nn.CrossEntropyLoss(label_smoothing=label_smoothing)

    class RegressionMSELoss(nn.MSELoss):
        def forward(self, input, target):
            if input.shape != target.shape and input.numel() == target.numel():
                input = input.reshape(target.shape)
            return super().forward(input, target)
    return RegressionMSELoss()
