"""Language-model training: perplexity, gradient clipping and truncated BPTT.

* :func:`lm_loss`: mean token cross-entropy of ``model(X, state)`` logits.
* :func:`train_lm_epoch` / :func:`evaluate_lm`: plain loops (examples/ use them).
* :class:`LMTrainer`: the :class:`~chainrule.train.Trainer` with the hidden state
  handled as the batching mode requires -- reset for every batch with random
  sampling, carried across batches and detached (truncated BPTT) with sequential
  partitioning -- so callbacks, checkpoints, schedulers and the CLI work unchanged.

Perplexity is ``exp`` of the mean cross-entropy per target token, averaged over all
tokens of the epoch (not the mean of per-batch perplexities).
"""
import math
import time

import chainrule.nn.functional as F
from chainrule.core.grad_mode import no_grad
from chainrule.nn.utils import clip_grad_norm_
from chainrule.text.batching import detach_state
from chainrule.train.trainer import Trainer

__all__ = ["lm_loss", "train_lm_epoch", "evaluate_lm", "LMTrainer", "carries_state"]


def lm_loss(model, X, Y, state=None):
    """``(loss, logits, state)``: mean token cross-entropy of ``model(X, state)``.

    ``X``, ``Y`` are ``(N, T)`` token indices; logits ``(N, T, V)``.
    """
    logits, state = model(X, state)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1))
    return loss, logits, state


def carries_state(loader):
    """True when consecutive batches continue each other (sequential partitioning)."""
    return bool(getattr(loader, "carries_state", False))


def train_lm_epoch(model, loader, optimizer, clip=None, carry_state=None, log_every=0,
                   log=print):
    """One epoch; returns ``(perplexity, tokens_per_second)``.

    ``carry_state`` defaults to ``loader.carries_state``: keep the detached state
    across batches (sequential) or start every batch from zeros (random).
    """
    carry = carries_state(loader) if carry_state is None else carry_state
    model.train()
    state, total, count, t0 = None, 0.0, 0, time.perf_counter()
    for step, (X, Y) in enumerate(loader, 1):
        state = detach_state(state) if carry else None
        loss, _, state = lm_loss(model, X, Y, state)
        optimizer.zero_grad()
        loss.backward()
        if clip:
            clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        n = Y.numel()
        total += float(loss.item()) * n
        count += n
        if log_every and step % log_every == 0:
            log(f"  step {step}/{len(loader)}  ppl {math.exp(total / count):.2f}  "
                f"{count / (time.perf_counter() - t0):.0f} tok/s")
    return math.exp(total / count), count / (time.perf_counter() - t0)


def evaluate_lm(model, loader, carry_state=None):
    """Perplexity of ``model`` over ``loader`` (eval mode, no gradients)."""
    carry = carries_state(loader) if carry_state is None else carry_state
    was = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    try:
        with no_grad():
            for X, Y in loader:
                loss, _, state = lm_loss(model, X, Y, state if carry else None)
                total += float(loss.item()) * Y.numel()
                count += Y.numel()
    finally:
        model.train(was)
    return math.exp(total / count)


class LMTrainer(Trainer):
    """:class:`Trainer` for models called as ``logits, state = model(X, state)``.

    Use with :class:`~chainrule.text.LMDataLoader` batches ``(X, Y)`` of shape
    ``(N, T)``; the loss is the mean token cross-entropy, ``metrics=('ppl',)`` gives
    perplexity per epoch.  ``carry_state=None`` follows ``loader.carries_state``.
    """

    def __init__(self, model, optimizer=None, scheduler=None, metrics=("ppl",),
                 clip_grad_norm=None, callbacks=(), carry_state=None, **kwargs):
        super().__init__(model, _flat_ce, optimizer, scheduler, metrics, clip_grad_norm,
                         callbacks, **kwargs)
        self.carry_state, self._state, self._carry = carry_state, None, False

    def begin_pass(self, loader, training):
        self._state = None
        self._carry = carries_state(loader) if self.carry_state is None else self.carry_state

    def compute(self, x, y):
        state = detach_state(self._state) if self._carry else None
        logits, state = self.forward(x, state)
        self._state = state
        out = logits.reshape(-1, logits.shape[-1])
        y = y.reshape(-1)
        return out, y, self.loss_fn(out, y)


def _flat_ce(out, y):
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
