"""Training and scoring sequence-to-sequence models (d2l's ``train_seq2seq``).

Teacher forcing: the decoder reads ``<bos>`` followed by the target shifted right;
the loss is cross-entropy masked at padding (:class:`MaskedSoftmaxCELoss`),
summed over the batch; gradients are clipped to norm 1; Adam.  Weights start
Xavier-uniform (Linear weights and GRU weight matrices), as in d2l.
"""
import time

from chainrule.core.creation import tensor
from chainrule.functional.join import cat
from chainrule.models.seq2seq import (MaskedSoftmaxCELoss, TransformerSeq2Seq, beam_search,
                                      predict_seq2seq, xavier_init_weights)
from chainrule.nn.utils import clip_grad_norm_
from chainrule.optim import Adam
from chainrule.text.translation import bleu, corpus_bleu

__all__ = ["xavier_init_weights", "train_seq2seq", "translate_and_score", "evaluate_bleu"]


def train_seq2seq(net, data_iter, lr, num_epochs, tgt_vocab, log_every=None, log=print):
    """Train ``net`` on batches ``(X, X_valid_len, Y, Y_valid_len)``; returns the loss
    per token of each epoch (d2l's plotted curve)."""
    if not isinstance(net, TransformerSeq2Seq):
        net.apply(xavier_init_weights)
    optimizer = Adam(net.parameters(), lr=lr)
    loss_fn = MaskedSoftmaxCELoss()
    net.train()
    history, start = [], time.perf_counter()
    for epoch in range(num_epochs):
        total, tokens = 0.0, 0
        for X, X_valid_len, Y, Y_valid_len in data_iter:
            optimizer.zero_grad()
            bos = tensor([[tgt_vocab.bos]] * Y.shape[0])
            dec_input = cat([bos, Y[:, :-1]], 1)
            Y_hat, _ = net(X, dec_input, X_valid_len)
            loss = loss_fn(Y_hat, Y, Y_valid_len).sum()
            loss.backward()
            clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            total += float(loss.item())
            tokens += int(Y_valid_len.sum().item())
        history.append(total / tokens)
        if log_every and (epoch + 1) % log_every == 0:
            log(f"epoch {epoch + 1}/{num_epochs}  loss {history[-1]:.4f}  "
                f"{tokens * (epoch + 1) / (time.perf_counter() - start):.0f} tokens/s")
    return history


def translate_and_score(net, engs, fras, src_vocab, tgt_vocab, num_steps, beam=None):
    """d2l's closing cell: each English sentence translated (greedy, or beam search of
    width ``beam``) with its d2l BLEU (k=2) against the French reference."""
    rows = []
    for eng, fra in zip(engs, fras):
        if beam:
            pred = beam_search(net, eng, src_vocab, tgt_vocab, num_steps, beam_size=beam)
        else:
            pred, _ = predict_seq2seq(net, eng, src_vocab, tgt_vocab, num_steps)
        rows.append((eng, pred, bleu(pred.split(), fra.split(), k=2)))
    return rows


def evaluate_bleu(net, pairs, src_vocab, tgt_vocab, num_steps, beam=None):
    """Corpus BLEU (x100) of the translations of ``pairs`` (source, target token
    lists), greedy or beam search."""
    preds, refs = [], []
    for src, tgt in pairs:
        sentence = " ".join(src)
        if beam:
            pred = beam_search(net, sentence, src_vocab, tgt_vocab, num_steps, beam_size=beam)
        else:
            pred, _ = predict_seq2seq(net, sentence, src_vocab, tgt_vocab, num_steps)
        preds.append(pred.split())
        refs.append(list(tgt))
    return corpus_bleu(preds, refs)
