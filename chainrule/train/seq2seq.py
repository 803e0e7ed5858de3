"""d2l's ``train_seq2seq`` and closing cell, as functions over the library's pieces:
:class:`~chainrule.train.nmt.Seq2SeqTrainer` (teacher forcing, d2l's masked loss summed
over the batch, gradients clipped to norm 1) with Adam, and
:func:`~chainrule.train.nmt.translate` with d2l's BLEU.  Weights start Xavier-uniform
(Linear weights and GRU weight matrices), as in d2l.
"""
from chainrule.models.seq2seq import TransformerSeq2Seq, xavier_init_weights
from chainrule.optim import Adam
from chainrule.text.translation import bleu
from chainrule.train.nmt import Seq2SeqTrainer, translate

__all__ = ["xavier_init_weights", "train_seq2seq", "translate_and_score"]


class _Pairs:
    """Re-iterable view of d2l batches ``(X, X_valid_len, Y, Y_valid_len)`` as the
    trainer's ``((X, X_valid_len), (Y, Y_valid_len))``."""

    def __init__(self, loader):
        self.loader = loader

    def __iter__(self):
        for X, X_valid_len, Y, Y_valid_len in self.loader:
            yield (X, X_valid_len), (Y, Y_valid_len)

    def __len__(self):
        return len(self.loader)


def train_seq2seq(net, data_iter, lr, num_epochs, tgt_vocab, log_every=None, log=print):
    """Train ``net`` on d2l batches ``(X, X_valid_len, Y, Y_valid_len)``; returns the loss
    per target token of each epoch (d2l's plotted curve)."""
    if not isinstance(net, TransformerSeq2Seq):
        net.apply(xavier_init_weights)
    trainer = Seq2SeqTrainer(net, tgt_vocab.bos, Adam(net.parameters(), lr=lr),
                             clip_grad_norm=1.0)
    history = []
    for epoch in range(1, num_epochs + 1):
        row = trainer.fit(_Pairs(data_iter), epochs=epoch)[-1]
        history.append(row["train_loss"])
        if log_every and epoch % log_every == 0:
            log(f"epoch {epoch}/{num_epochs}  loss {row['train_loss']:.4f}  "
                f"{row['time']:.1f}s")
    return history


def translate_and_score(net, engs, fras, src_vocab, tgt_vocab, num_steps, beam=None):
    """d2l's closing cell: each English sentence translated (greedy, or beam search of
    width ``beam``) with its d2l BLEU (k=2) against the French reference."""
    rows = []
    for eng, fra in zip(engs, fras):
        pred = translate(net, eng, src_vocab, tgt_vocab, num_steps, beam)
        rows.append((eng, pred, bleu(pred.split(), fra.split(), k=2)))
    return rows
