"""English -> French translation as d2l teaches it (chapters 10.7, 11.4, 11.7): the RNN
encoder-decoder, the Bahdanau attention decoder and the Transformer, trained on the
first 600 pairs of fra-eng with d2l's settings, then d2l's four sentences translated
(greedy and beam search) with d2l's BLEU.

    CHAINRULE_DATA=../shared/data python examples/translate_fra_eng.py --model seq2seq
    ... --model seq2seq-attention | transformer   [--epochs N] [--heatmap att.png]
"""
import argparse
import time

import chainrule as cr
from chainrule.models.seq2seq import (EncoderDecoder, Seq2SeqAttentionDecoder, Seq2SeqDecoder,
                                      Seq2SeqEncoder, TransformerSeq2Seq, predict_seq2seq)
from chainrule.text.translation import load_data_nmt
from chainrule.train.plots import save_heatmaps
from chainrule.train.seq2seq import train_seq2seq, translate_and_score

# d2l's settings (PyTorch edition): batch 64, 10 steps, Adam 0.005, 600 examples
SETTINGS = {
    "seq2seq": dict(epochs=300, lr=0.005),
    "seq2seq-attention": dict(epochs=250, lr=0.005),
    "transformer": dict(epochs=200, lr=0.005),
}
ENGS = ["go .", "i lost .", "he's calm .", "i'm home ."]
FRAS = ["va !", "j'ai perdu .", "il est calme .", "je suis chez moi ."]


def build(name, src, tgt):
    if name == "transformer":   # num_hiddens 32, 2 blocks, ffn 64, 4 heads, dropout 0.1
        return TransformerSeq2Seq(src, tgt, 32, 64, 4, 2, dropout=0.1)
    decoder = Seq2SeqDecoder if name == "seq2seq" else Seq2SeqAttentionDecoder
    return EncoderDecoder(Seq2SeqEncoder(src, 32, 32, 2, 0.1), decoder(tgt, 32, 32, 2, 0.1))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="seq2seq", choices=sorted(SETTINGS))
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heatmap", help="save the attention weights of 'i'm home .' (PNG)")
    a = p.parse_args()
    cr.manual_seed(a.seed)
    s = SETTINGS[a.model]
    epochs = a.epochs or s["epochs"]
    loader, src_vocab, tgt_vocab = load_data_nmt(64, 10, seed=a.seed)
    net = build(a.model, len(src_vocab), len(tgt_vocab))
    t0 = time.perf_counter()
    hist = train_seq2seq(net, loader, s["lr"], epochs, tgt_vocab, log_every=max(1, epochs // 5))
    print(f"{a.model}: {epochs} epochs in {time.perf_counter() - t0:.1f}s, "
          f"final loss {hist[-1]:.4f}")
    for beam in (None, 4):
        label = "greedy" if beam is None else f"beam {beam}"
        for eng, pred, score in translate_and_score(net, ENGS, FRAS, src_vocab, tgt_vocab, 10,
                                                    beam=beam):
            print(f"  [{label}] {eng} => {pred}, bleu {score:.3f}")
    if a.heatmap and a.model == "seq2seq-attention":
        _, steps = predict_seq2seq(net, ENGS[-1], src_vocab, tgt_vocab, 10)
        w = cr.cat([step[0] for step in steps], 0)          # one (1, 1, keys) per step
        keys = len(ENGS[-1].split()) + 1                      # the source and its <eos>
        save_heatmaps(w.reshape(1, 1, -1, w.shape[-1])[..., :keys], a.heatmap,
                      "Key positions", "Query positions")
        print(f"wrote {a.heatmap}")


if __name__ == "__main__":
    main()
