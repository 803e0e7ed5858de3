"""Sequence to sequence (d2l chapters 10-11): the RNN encoder-decoder, the Bahdanau
attention decoder and the Transformer, with teacher forcing, a loss masked at
padding, greedy decoding and beam search.

Shapes are d2l's: token batches ``(batch, steps)`` int64 and valid lengths
``(batch,)``; decoders return logits ``(batch, steps, vocab)``.

>>> import chainrule as cr
>>> net = EncoderDecoder(Seq2SeqEncoder(10, 8, 16, 2), Seq2SeqDecoder(10, 8, 16, 2))
>>> X = cr.zeros(4, 7, dtype=cr.int64)
>>> net(X, X, cr.tensor([7, 7, 7, 7]))[0].shape
chainrule.Size([4, 7, 10])
"""
import math

import numpy as np

from chainrule.core.creation import arange, ones_like, tensor, zeros
from chainrule.core.grad_mode import no_grad
from chainrule.functional.join import cat
from chainrule.functional.loss import cross_entropy
from chainrule.models.attention import AdditiveAttention, PositionalEncoding
from chainrule.models.registry import register_model
from chainrule.nn import GRU, Embedding, Linear, Module, Transformer, init

__all__ = ["Seq2SeqEncoder", "Seq2SeqDecoder", "Seq2SeqAttentionDecoder",
           "TransformerSeq2Seq", "EncoderDecoder", "sequence_mask", "MaskedSoftmaxCELoss",
           "predict_seq2seq", "beam_search", "xavier_init_weights", "seq2seq",
           "seq2seq_attention", "transformer"]


class Seq2SeqEncoder(Module):
    """Embedding + multi-layer GRU; returns ``(outputs (T, B, H), state (L, B, H))``."""

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0.0):
        super().__init__()
        self.embedding = Embedding(vocab_size, embed_size)
        self.rnn = GRU(embed_size, num_hiddens, num_layers, dropout=dropout)

    def forward(self, X, *args):
        return self.rnn(self.embedding(X).permute(1, 0, 2))


class Seq2SeqDecoder(Module):
    """GRU decoder that sees the encoder's last top-layer state at every step."""

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0.0):
        super().__init__()
        self.embedding = Embedding(vocab_size, embed_size)
        self.rnn = GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
        self.dense = Linear(num_hiddens, vocab_size)

    def init_state(self, enc_outputs, *args):
        return enc_outputs[1]

    def forward(self, X, state):
        X = self.embedding(X).permute(1, 0, 2)
        context = state[-1].unsqueeze(0).expand(X.shape[0], *state.shape[1:])
        output, state = self.rnn(cat([X, context], 2), state)
        return self.dense(output).permute(1, 0, 2), state


class Seq2SeqAttentionDecoder(Module):
    """Bahdanau et al. (2014): at each step, additive attention of the previous
    top-layer state over the encoder outputs gives the context fed with the token."""

    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0.0):
        super().__init__()
        self.attention = AdditiveAttention(num_hiddens, dropout)
        self.embedding = Embedding(vocab_size, embed_size)
        self.rnn = GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
        self.dense = Linear(num_hiddens, vocab_size)
        self.attention_weights = []

    def init_state(self, enc_outputs, enc_valid_lens):
        outputs, hidden_state = enc_outputs
        return outputs.permute(1, 0, 2), hidden_state, enc_valid_lens

    def forward(self, X, state):
        enc_outputs, hidden_state, enc_valid_lens = state
        X = self.embedding(X).permute(1, 0, 2)
        outputs, self.attention_weights = [], []
        for x in X:
            query = hidden_state[-1].unsqueeze(1)
            context = self.attention(query, enc_outputs, enc_outputs, enc_valid_lens)
            x = cat([context, x.unsqueeze(1)], -1)
            out, hidden_state = self.rnn(x.permute(1, 0, 2), hidden_state)
            outputs.append(out)
            self.attention_weights.append(self.attention.attention_weights)
        outputs = self.dense(cat(outputs, 0))
        return outputs.permute(1, 0, 2), (enc_outputs, hidden_state, enc_valid_lens)


def _padding_mask(valid_lens, steps):
    """(B, steps) bool, True at padding positions (``>= valid_len``)."""
    return arange(steps).reshape(1, steps) >= valid_lens.reshape(-1, 1)


class TransformerSeq2Seq(Module):
    """The Transformer for translation: scaled embeddings plus sinusoidal positions,
    :class:`chainrule.nn.Transformer` (post-norm, batch first) and a vocabulary
    projection.  ``init_state``/``forward`` follow the d2l decoder protocol; the
    decoder re-reads the whole target prefix at each step (no key/value cache)."""

    def __init__(self, src_vocab, tgt_vocab, num_hiddens, ffn_num_hiddens, num_heads,
                 num_layers, dropout=0.0, max_len=1000):
        super().__init__()
        self.num_hiddens = num_hiddens
        self.src_embedding = Embedding(src_vocab, num_hiddens)
        self.tgt_embedding = Embedding(tgt_vocab, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout, max_len)
        self.transformer = Transformer(num_hiddens, num_heads, num_layers, num_layers,
                                       ffn_num_hiddens, dropout, batch_first=True)
        self.dense = Linear(num_hiddens, tgt_vocab)

    def _embed(self, emb, X):
        return self.pos_encoding(emb(X) * math.sqrt(self.num_hiddens))

    def encode(self, X, valid_lens):
        pad = _padding_mask(valid_lens, X.shape[1])
        return self.transformer.encoder(self._embed(self.src_embedding, X),
                                        src_key_padding_mask=pad), pad

    def decode(self, Y, memory, memory_pad):
        causal = Transformer.generate_square_subsequent_mask(Y.shape[1], dtype=memory.dtype)
        out = self.transformer.decoder(self._embed(self.tgt_embedding, Y), memory,
                                       tgt_mask=causal, memory_key_padding_mask=memory_pad)
        return self.dense(out)

    def forward(self, enc_X, dec_X, enc_valid_lens):
        memory, pad = self.encode(enc_X, enc_valid_lens)
        return self.decode(dec_X, memory, pad), None


class EncoderDecoder(Module):
    """d2l's encoder-decoder: ``decoder(dec_X, decoder.init_state(encoder(enc_X)))``."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, enc_X, dec_X, *args):
        state = self.decoder.init_state(self.encoder(enc_X, *args), *args)
        return self.decoder(dec_X, state)


def sequence_mask(X, valid_len, value=0.0):
    """d2l's ``sequence_mask``: entries at positions ``>= valid_len`` set to ``value``."""
    return X.masked_fill(_padding_mask(valid_len, X.shape[1]), value)


class MaskedSoftmaxCELoss(Module):
    """Cross-entropy per target token, zero at padding, averaged over the steps of
    each sequence (d2l): ``(batch,)`` losses."""

    def forward(self, pred, label, valid_len):
        weights = sequence_mask(ones_like(label, dtype=pred.dtype), valid_len)
        loss = cross_entropy(pred.permute(0, 2, 1), label, reduction="none")
        return (loss * weights).mean(dim=1)


# ---------------------------------------------------------------- decoding
def _step_logits(net, state, dec_X):
    """One decoding step for either protocol: (logits (B, 1, V) of the last
    position, new state)."""
    if isinstance(net, TransformerSeq2Seq):
        memory, pad, prefix = state
        prefix = dec_X if prefix is None else cat([prefix, dec_X], 1)
        return net.decode(prefix, memory, pad)[:, -1:], (memory, pad, prefix)
    return net.decoder(dec_X, state)


def _init_state(net, enc_X, enc_valid_len):
    if isinstance(net, TransformerSeq2Seq):
        memory, pad = net.encode(enc_X, enc_valid_len)
        return memory, pad, None
    return net.decoder.init_state(net.encoder(enc_X, enc_valid_len), enc_valid_len)


def _encode_source(src_sentence, src_vocab, num_steps, pad_source=True):
    """The source as a batch of one: its tokens and ``<eos>``, cut to ``num_steps``,
    padded to ``num_steps`` (d2l) or, with ``pad_source=False``, not padded."""
    tokens = src_vocab[src_sentence.lower().split(" ")] + [src_vocab.eos]
    valid = min(len(tokens), num_steps)
    tokens = (tokens + [src_vocab.pad] * num_steps)[:num_steps if pad_source else valid]
    return tensor([tokens]), tensor([valid])


def predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps, pad_source=True):
    """Greedy decoding of one sentence: ``(target tokens joined by spaces,
    attention weights per step where the decoder records them)``.

    ``pad_source``: pad the source to ``num_steps`` as d2l does in training and
    prediction.  d2l's RNN encoder does not mask padding (its final state, which
    starts the decoder, comes after the pads), so a model trained on length-bucketed
    batches, which carry little padding, must be given its source unpadded
    (``pad_source=False``); the Transformer masks padding and gives the same
    translation either way."""
    net.eval()
    with no_grad():
        enc_X, enc_len = _encode_source(src_sentence, src_vocab, num_steps, pad_source)
        state = _init_state(net, enc_X, enc_len)
        dec_X = tensor([[tgt_vocab.bos]])
        out, weights = [], []
        for _ in range(num_steps):
            logits, state = _step_logits(net, state, dec_X)
            dec_X = logits.argmax(dim=2)
            pred = int(dec_X.item())
            weights.append(getattr(net.decoder, "attention_weights", None)
                           if hasattr(net, "decoder") else None)
            if pred == tgt_vocab.eos:
                break
            out.append(pred)
    return " ".join(tgt_vocab.to_tokens(out)), weights


def beam_search(net, src_sentence, src_vocab, tgt_vocab, num_steps, beam_size=4, alpha=0.75,
                pad_source=True):
    """Beam search: keep the ``beam_size`` best prefixes by summed log probability;
    finished hypotheses (``<eos>``) are ranked by ``log P / L^alpha`` (d2l's length
    penalty).  Returns the best translation.  ``pad_source``: as
    :func:`predict_seq2seq`."""
    net.eval()
    with no_grad():
        enc_X, enc_len = _encode_source(src_sentence, src_vocab, num_steps, pad_source)
        beams = [([], 0.0, _init_state(net, enc_X, enc_len), tgt_vocab.bos)]
        done = []
        for _ in range(num_steps):
            cand = []
            for tokens, score, state, last in beams:
                logits, new_state = _step_logits(net, state, tensor([[last]]))
                logp = logits.reshape(-1).log_softmax(0).numpy()
                for tok in np.argsort(-logp)[:beam_size]:
                    cand.append((tokens + [int(tok)], score + float(logp[tok]), new_state))
            cand.sort(key=lambda c: c[1], reverse=True)
            beams = []
            for tokens, score, state in cand[:beam_size]:
                if tokens[-1] == tgt_vocab.eos:
                    done.append((tokens[:-1], score))
                else:
                    beams.append((tokens, score, state, tokens[-1]))
            if not beams:
                break
        done += [(t, s) for t, s, _, _ in beams]
        best = max(done, key=lambda d: d[1] / max(len(d[0]) + 1, 1) ** alpha)
    return " ".join(tgt_vocab.to_tokens(best[0]))


# ---------------------------------------------------------------- registry builders
def xavier_init_weights(m):
    """d2l's initialisation: Xavier-uniform Linear weights and GRU weight matrices."""
    if type(m) is Linear:
        init.xavier_uniform_(m.weight)
    if type(m) is GRU:
        for name, p in m.named_parameters():
            if "weight" in name:
                init.xavier_uniform_(p)


def _rnn_seq2seq(decoder, src_vocab_size, tgt_vocab_size, embed_size, hidden_size,
                 num_layers, dropout):
    net = EncoderDecoder(
        Seq2SeqEncoder(src_vocab_size, embed_size, hidden_size, num_layers, dropout),
        decoder(tgt_vocab_size, embed_size, hidden_size, num_layers, dropout))
    net.apply(xavier_init_weights)
    if isinstance(net.decoder, Seq2SeqAttentionDecoder):
        with no_grad():  # give the attention's lazy layers their shapes (weights load)
            h = zeros(1, 1, hidden_size)
            net.decoder.attention(h, h, h)
    return net


@register_model("seq2seq", task="translation", description="d2l's RNN encoder-decoder "
                "(GRU encoder, GRU decoder fed the last encoder state), Xavier init")
def seq2seq(src_vocab_size, tgt_vocab_size, embed_size=32, hidden_size=32, num_layers=2,
            dropout=0.1):
    return _rnn_seq2seq(Seq2SeqDecoder, src_vocab_size, tgt_vocab_size, embed_size,
                        hidden_size, num_layers, dropout)


@register_model("seq2seq-attention", task="translation", description="GRU encoder-decoder "
                "with Bahdanau (additive) attention, d2l 11.4, Xavier init")
def seq2seq_attention(src_vocab_size, tgt_vocab_size, embed_size=32, hidden_size=32,
                      num_layers=2, dropout=0.1):
    return _rnn_seq2seq(Seq2SeqAttentionDecoder, src_vocab_size, tgt_vocab_size, embed_size,
                        hidden_size, num_layers, dropout)


@register_model("transformer", task="translation", description="the Transformer for "
                "translation (nn.Transformer, post-norm, sinusoidal positions), d2l 11.7")
def transformer(src_vocab_size, tgt_vocab_size, hidden_size=32, ffn_hidden_size=64,
                num_heads=4, num_layers=2, dropout=0.1):
    return TransformerSeq2Seq(src_vocab_size, tgt_vocab_size, hidden_size, ffn_hidden_size,
                              num_heads, num_layers, dropout)
