"""Recurrent language models: ``rnn-lm``, ``gru-lm``, ``lstm-lm`` and their deep and
bidirectional variants, at character or word level.

``RNNLM`` is an embedding (or d2l's one-hot encoding, ``embed_size=0``), a recurrent
layer (``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``, fused) and a ``Linear`` over the
vocabulary.  Inputs are token indices ``(N, T)`` (batch first, as
:class:`~chainrule.text.LMDataLoader` yields them); outputs are logits
``(N, T, vocab_size)`` and the final hidden state::

    logits, state = model(X, state)      # state=None: zeros

Truncated BPTT with sequential batches: keep ``state`` and pass
``chainrule.text.detach_state(state)`` to the next batch; with random sampling
start from ``None`` (or ``model.begin_state(N)``) every batch.

A *bidirectional* RNN reads the whole window in both directions, so its plain output at
step ``t`` has seen the very token it should predict.  The ``*-bilm`` entries therefore
predict the target ``Y[t] = X[t+1]`` from the forward state after ``X[..t]`` and the
backward state of ``X[t+2..]`` (zeros past the window's end): a "fill in the blank"
model that sees both sides of the target but never the target itself.  It trains with
the same ``(X, Y)`` batches and scores text (a pseudo-likelihood: its perplexity is not
comparable with a left-to-right LM's), but it cannot generate left to right:
:func:`chainrule.text.generate` refuses it (``model.causal`` is False).  Train it with
random sampling (``--batch-mode random``): a carried backward state would come from the
previous window.

>>> import chainrule as cr
>>> m = RNNLM(vocab_size=28, hidden_size=16, cell="lstm", embed_size=8)
>>> logits, (h, c) = m(cr.zeros(2, 5, dtype=cr.int64))
>>> logits.shape, h.shape
(chainrule.Size([2, 5, 28]), chainrule.Size([1, 2, 16]))
"""
import math

from chainrule import nn
from chainrule.core.creation import zeros
from chainrule.functional.activation import one_hot
from chainrule.functional.join import cat
from chainrule.models.registry import register_model

__all__ = ["RNNLM", "perplexity", "rnn_lm", "gru_lm", "lstm_lm"]

_CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RNNLM(nn.Module):
    """Embedding (or one-hot) -> RNN/GRU/LSTM -> Linear over the vocabulary.

    Args:
        vocab_size: number of tokens.
        hidden_size: recurrent units per layer (and direction).
        num_layers: stacked recurrent layers (``> 1``: a deep RNN).
        cell: ``'rnn'`` (tanh), ``'gru'`` or ``'lstm'``.
        embed_size: embedding width; ``0`` feeds one-hot vectors (d2l's char models).
        dropout: dropout on the embeddings, between layers and before the decoder.
        tie_weights: share the decoder weight with the embedding (Press & Wolf 2017;
            needs ``embed_size == hidden_size`` and a unidirectional model).
        bidirectional: fill-in-the-blank scorer from both sides (not a left-to-right LM;
            see the module doc).
        init_range: if set, every parameter is drawn from U(-r, r) (Zaremba et al.).
        nonlinearity: ``'tanh'`` or ``'relu'`` for ``cell='rnn'``.

    Shape: ``(N, T)`` int64 -> logits ``(N, T, vocab_size)``, state as the recurrent
    layer's (``(h, c)`` for LSTM, each ``(num_layers * dirs, N, hidden_size)``).
    """

    def __init__(self, vocab_size, hidden_size=256, num_layers=1, cell="lstm", embed_size=0,
                 dropout=0.0, tie_weights=False, bidirectional=False, init_range=None,
                 nonlinearity="tanh"):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"RNNLM: cell must be one of {sorted(_CELLS)}, got {cell!r}")
        if tie_weights and (embed_size != hidden_size or bidirectional):
            raise ValueError(f"RNNLM: tie_weights needs embed_size == hidden_size and a "
                             f"unidirectional model, got embed_size={embed_size}, "
                             f"hidden_size={hidden_size}, bidirectional={bidirectional}")
        self.vocab_size, self.hidden_size, self.num_layers = vocab_size, hidden_size, num_layers
        self.cell, self.embed_size, self.bidirectional = cell, embed_size, bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.embedding = nn.Embedding(vocab_size, embed_size) if embed_size else None
        self.drop = nn.Dropout(dropout)
        kw = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.rnn = _CELLS[cell](embed_size or vocab_size, hidden_size, num_layers,
                                dropout=dropout if num_layers > 1 else 0.0,
                                bidirectional=bidirectional, **kw)
        self.decoder = nn.Linear(hidden_size * self.num_directions, vocab_size)
        self.init_range = init_range
        if init_range is not None:
            for p in self.parameters():
                nn.init.uniform_(p, -init_range, init_range)
        if tie_weights:
            self.decoder.weight = self.embedding.weight

    def begin_state(self, batch_size=1, device=None):
        """Zero initial state for ``batch_size`` sequences (``(h, c)`` for LSTM)."""
        shape = (self.num_layers * self.num_directions, batch_size, self.hidden_size)
        h = zeros(*shape, device=device)
        return (h, zeros(*shape, device=device)) if self.cell == "lstm" else h

    def forward(self, x, state=None):
        if x.ndim != 2:
            raise ValueError(f"RNNLM: expected token indices (N, T), got shape {tuple(x.shape)}")
        xt = x.transpose(0, 1)                      # (T, N): the fused layer's layout
        if self.embedding is not None:
            emb = self.drop(self.embedding(xt))
        else:
            emb = one_hot(xt, self.vocab_size).float()
        out, state = self.rnn(emb, state)
        if self.bidirectional:
            out = self._hide_target(out)
        # transpose the small (T, N, H) output, not the (T, N, V) logits: the decoder's
        # GEMMs then run on contiguous arrays
        logits = self.decoder(self.drop(out.transpose(0, 1)))   # (N, T, V)
        return logits, state

    def _hide_target(self, out):
        """``[fwd[t], bwd[t + 2]]``: both sides of the target ``X[t+1]``, not the target."""
        H = self.hidden_size
        fwd, bwd = out[:, :, :H], out[:, :, H:]
        pad = zeros(min(2, out.shape[0]), out.shape[1], H, dtype=out.dtype, device=out.device)
        return cat([fwd, cat([bwd[2:], pad], 0)], 2)

    @property
    def causal(self):
        """True when the output at ``t`` depends on inputs ``<= t`` only."""
        return not self.bidirectional

    def extra_repr(self):
        return f"cell={self.cell!r}, vocab_size={self.vocab_size}"


def perplexity(mean_nll):
    """Perplexity ``exp(mean token cross-entropy)`` (nats); overflow gives ``inf``."""
    try:
        return math.exp(float(mean_nll))
    except OverflowError:
        return float("inf")


_DEFAULTS = {"hidden_size": 256, "num_layers": 1, "embed_size": 0}
_DOC = ("Args: vocab_size, hidden_size, num_layers, embed_size (0: one-hot), dropout, "
        "tie_weights, init_range.")


def _builder(cell, num_layers_default=1, bidirectional=False):
    def build(vocab_size=28, hidden_size=256, num_layers=num_layers_default, embed_size=0,
              dropout=0.0, tie_weights=False, init_range=None, nonlinearity="tanh"):
        return RNNLM(vocab_size, hidden_size, num_layers, cell, embed_size, dropout,
                     tie_weights, bidirectional, init_range, nonlinearity)
    return build


def _register(name, cell, description, num_layers=1, bidirectional=False):
    fn = _builder(cell, num_layers, bidirectional)
    fn.__name__ = name.replace("-", "_")
    fn.__doc__ = description + "\n\n" + _DOC
    register_model(name, task="language_model", description=description,
                   defaults=dict(_DEFAULTS, num_layers=num_layers))(fn)
    return fn


rnn_lm = _register("rnn-lm", "rnn", "Character/word language model: embedding -> tanh RNN "
                   "-> Linear over the vocabulary.")
gru_lm = _register("gru-lm", "gru", "Language model: embedding -> GRU -> Linear over the "
                   "vocabulary.")
lstm_lm = _register("lstm-lm", "lstm", "Language model: embedding -> LSTM -> Linear over the "
                    "vocabulary.")
_register("deep-rnn-lm", "rnn", "Deep (2-layer) tanh RNN language model.", num_layers=2)
_register("deep-gru-lm", "gru", "Deep (2-layer) GRU language model.", num_layers=2)
_register("deep-lstm-lm", "lstm", "Deep (2-layer) LSTM language model (Zaremba et al. with "
          "embed_size=hidden_size=200).", num_layers=2)
for _c in ("rnn", "gru", "lstm"):
    _register(f"{_c}-bilm", _c,
              f"Bidirectional {_c.upper()} fill-in-the-blank scorer (both sides of each "
              "target; cannot generate).", bidirectional=True)
