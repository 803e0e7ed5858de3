"""Translation runs: ``chainrule train seq2seq|seq2seq-attention|transformer --data
fra-eng`` (d2l chapters 10.7, 11.4, 11.7); recipes and data in
:mod:`chainrule.train.nmt_recipes`.

* :class:`Seq2SeqTrainer`: the :class:`~chainrule.train.Trainer` with teacher forcing and
  d2l's loss (masked cross-entropy, mean over the steps, summed over the batch: what is
  differentiated and clipped), reported per target token (d2l's curve).
* :func:`translate` / :func:`score_held_out`: greedy or beam decoding, corpus BLEU.
"""
from chainrule.core.creation import tensor
from chainrule.functional.join import cat
from chainrule.models.seq2seq import MaskedSoftmaxCELoss, beam_search, predict_seq2seq
from chainrule.text.translation import corpus_bleu
from chainrule.train.trainer import Trainer

__all__ = ["Seq2SeqTrainer", "translate", "score_held_out", "pads_source"]


class Seq2SeqTrainer(Trainer):
    """:class:`Trainer` for the encoder-decoders of :mod:`chainrule.models.seq2seq`:
    batches ``((X, X_valid_len), (Y, Y_valid_len))``, teacher forcing (``<bos>`` then
    ``Y`` shifted right), d2l's summed masked loss; the history's ``loss`` is per target
    token.

    With ``num_steps``, batches cut shorter than ``num_steps`` (length-bucketed batches,
    :class:`~chainrule.text.batching.BucketBatchSampler`) are scaled by
    ``length / num_steps``, so the loss equals d2l's on the same pairs padded to
    ``num_steps`` (its mean runs over all ``num_steps`` positions, padding included).

    With ``bleu_pairs`` (``(source tokens, target tokens)`` pairs) and ``vocabs``
    (source, target), each validation pass also decodes those pairs greedily and logs
    their corpus BLEU as ``val_bleu`` (a column to monitor: higher is better)."""

    def __init__(self, model, bos, optimizer=None, scheduler=None, clip_grad_norm=None,
                 callbacks=(), num_steps=None, bleu_pairs=(), vocabs=None, pad_source=True,
                 **kwargs):
        super().__init__(model, MaskedSoftmaxCELoss(), optimizer, scheduler, (),
                         clip_grad_norm, callbacks, **kwargs)
        self.bos, self.num_steps = bos, num_steps
        self.bleu_pairs, self.vocabs = list(bleu_pairs), vocabs
        self.pad_source = pad_source
        self._modes["bleu"] = "max"

    def evaluate(self, loader, prefix=""):
        logs = super().evaluate(loader, prefix)
        if self.bleu_pairs and self.vocabs and prefix == "val_":
            was_training = self.model.training
            try:
                logs[prefix + "bleu"] = score_held_out(self.model, self.bleu_pairs,
                                                       *self.vocabs, self.num_steps,
                                                       pad_source=self.pad_source)
            finally:
                self.model.train(was_training)
        return logs

    def _to(self, x):
        return tuple(super(Seq2SeqTrainer, self)._to(t) for t in x)

    def compute(self, x, y):
        (X, X_len), (Y, Y_len) = x, y
        dec_input = cat([tensor([[self.bos]] * Y.shape[0]), Y[:, :-1]], 1)
        Y_hat, _ = self.model(X, dec_input, X_len)
        loss = self.loss_fn(Y_hat, Y, Y_len).sum()
        if self.num_steps and Y.shape[1] != self.num_steps:
            loss = loss * (Y.shape[1] / self.num_steps)
        return Y_hat, Y_len, loss

    def loss_record(self, value, y):
        tokens = int(y.sum().item())
        return value / max(tokens, 1), tokens


def translate(model, sentence, src_vocab, tgt_vocab, num_steps, beam=None, pad_source=True):
    """The translation of ``sentence`` (words separated by spaces): greedy, or beam
    search of width ``beam``.  ``pad_source=False`` for models trained on
    length-bucketed batches (see :func:`~chainrule.models.seq2seq.predict_seq2seq`)."""
    if beam:
        return beam_search(model, sentence, src_vocab, tgt_vocab, num_steps, beam_size=beam,
                           pad_source=pad_source)
    return predict_seq2seq(model, sentence, src_vocab, tgt_vocab, num_steps, pad_source)[0]


def pads_source(meta):
    """Whether a translation checkpoint's model decodes with its source padded to
    ``num_steps``: yes unless it was trained on length-bucketed batches."""
    return not bool((meta.get("train_args") or {}).get("bucket"))


def score_held_out(model, pairs, src_vocab, tgt_vocab, num_steps, beam=None, pad_source=True):
    """Corpus BLEU (x100) of ``model``'s translations of ``pairs``."""
    preds = [translate(model, " ".join(s), src_vocab, tgt_vocab, num_steps, beam,
                       pad_source).split()
             for s, _ in pairs]
    return corpus_bleu(preds, [list(t) for _, t in pairs])
