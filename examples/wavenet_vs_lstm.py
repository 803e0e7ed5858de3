"""Compare a WaveNet LM and an LSTM LM trained by ``char_lm.py`` on The Time Machine:
perplexity over the whole book with full context for both, and training speed measured
interleaved in one process (so both see the same machine load).

    python examples/wavenet_vs_lstm.py /tmp/tm_wavenet/model.ckpt /tmp/tm_lstm8/model.ckpt

Perplexity: the LSTM reads the book as 32 sequential rows carrying its state; the
WaveNet scores each position with its whole receptive field as context (windows of
``2 * R`` tokens, only the last ``R`` positions scored).
"""
import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
from chainrule import optim  # noqa: E402
from chainrule.cli.common import model_from_checkpoint  # noqa: E402
from chainrule.text import LMDataLoader, load_corpus  # noqa: E402
from chainrule.train.lm import evaluate_lm, lm_loss  # noqa: E402


def wavenet_ppl(model, corpus, rows=32):
    R = model.receptive_field
    starts = np.arange(0, len(corpus) - 2 * R - 1, R)
    nll, n = 0.0, 0
    with cr.no_grad():
        for i in range(0, len(starts), rows):
            idx = starts[i:i + rows, None] + np.arange(2 * R)
            logits, _ = model(cr.tensor(corpus[idx]))
            z = logits[:, R:].reshape(-1, logits.shape[-1])
            y = cr.tensor(corpus[idx + 1][:, R:].reshape(-1))
            nll += float(F.cross_entropy(z, y, reduction="sum").item())
            n += y.numel()
    return math.exp(nll / n)


def step_time(model, loader, reps):
    opt = optim.Adam(model.parameters(), lr=1e-4)
    it, t, tokens = iter(loader), 0.0, 0
    for _ in range(reps):
        X, Y = next(it)
        t0 = time.perf_counter()
        loss, _, _ = lm_loss(model, X, Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        t += time.perf_counter() - t0
        tokens += Y.numel()
    return tokens / t


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("wavenet")
    p.add_argument("lstm")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    corpus, _ = load_corpus("timemachine")
    wn, wck = model_from_checkpoint(args.wavenet)
    ls, lck = model_from_checkpoint(args.lstm)
    ppl_w = wavenet_ppl(wn, corpus)
    ppl_l = evaluate_lm(ls, LMDataLoader(corpus, 32, 35, mode="sequential",
                                         shuffle_offset=False))
    wl = LMDataLoader(corpus, 32, 128, seed=0)
    ll = LMDataLoader(corpus, 32, 35, mode="sequential", seed=0)
    speed = {"wavenet": [], "lstm": []}
    wn.train()
    ls.train()
    for _ in range(args.rounds):
        speed["wavenet"].append(step_time(wn, wl, 5))
        speed["lstm"].append(step_time(ls, ll, 15))
    for name, ck, ppl in (("wavenet-lm", wck, ppl_w), ("lstm-lm", lck, ppl_l)):
        key = "wavenet" if name.startswith("wave") else "lstm"
        h = ck["history"]
        print(f"{name}: {ck['epoch']} epochs, last train ppl {h[-1]['train_ppl']:.3f}, "
              f"full-context ppl over the book {ppl:.3f}, training "
              f"{np.median(speed[key]):.0f} tokens/s (median of {args.rounds}), "
              f"{sum(p.numel() for p in (wn if key == 'wavenet' else ls).parameters())} "
              "parameters")


if __name__ == "__main__":
    main()
