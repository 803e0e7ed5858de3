"""Character-level language models on The Time Machine or Jay Chou lyrics (d2l ch. 9).

Trains a registered LM (``lstm-lm``, ``gru-lm``, ``rnn-lm``, ``wavenet-lm``...) with
perplexity per epoch, gradient clipping and truncated BPTT, stops once the training
perplexity reaches ``--target``, saves a checkpoint that ``chainrule generate`` reads
(the vocabulary is inside), and prints samples.

    CHAINRULE_DATA=/work/shared/data OPENBLAS_NUM_THREADS=1 python examples/char_lm.py \
        --model lstm-lm --corpus timemachine --epochs 60 --out /tmp/tm_lstm
    python -m chainrule generate /tmp/tm_lstm/model.ckpt --prefix "time traveller"
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import chainrule as cr  # noqa: E402
from chainrule import optim  # noqa: E402
from chainrule.models import get_model  # noqa: E402
from chainrule.text import LMDataLoader, load_corpus  # noqa: E402
from chainrule.text.generate import generate  # noqa: E402
from chainrule.train.checkpoint import save_checkpoint  # noqa: E402
from chainrule.train.lm import train_lm_epoch  # noqa: E402

PREFIXES = {"timemachine": ["time traveller", "traveller"], "jaychou": ["分开", "不分开"]}


def build(args, vocab_size):
    kw = {"vocab_size": vocab_size}
    if args.model.endswith("wavenet-lm"):
        kw.update(channels=args.hidden, num_blocks=args.layers)
    else:
        kw.update(hidden_size=args.hidden, num_layers=args.layers, embed_size=args.embed)
    return get_model(args.model, **kw), kw


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="lstm-lm")
    p.add_argument("--corpus", default="timemachine", choices=sorted(PREFIXES))
    p.add_argument("--max-tokens", type=int, default=-1,
                   help="keep the first N characters (10000: d2l-zh's Jay Chou setup)")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--embed", type=int, default=0, help="0: one-hot inputs (d2l)")
    p.add_argument("--optim", default="adam", choices=["adam", "sgd"])
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--num-steps", type=int, default=35)
    p.add_argument("--mode", default="sequential", choices=["random", "sequential"])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--target", type=float, default=0.0, help="stop at this training ppl")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)

    cr.manual_seed(args.seed)
    corpus, vocab = load_corpus(args.corpus, max_tokens=args.max_tokens)
    model, kwargs = build(args, len(vocab))
    opt = (optim.Adam(model.parameters(), lr=args.lr) if args.optim == "adam"
           else optim.SGD(model.parameters(), lr=args.lr))
    loader = LMDataLoader(corpus, args.batch_size, args.num_steps, mode=args.mode,
                          seed=args.seed)
    print(f"{args.corpus}: {len(corpus)} chars, vocab {len(vocab)}, {len(loader)} batches; "
          f"{sum(p.numel() for p in model.parameters())} parameters", flush=True)
    history, t_start = [], time.perf_counter()
    meta = {"model": args.model, "model_kwargs": kwargs, "dataset": args.corpus,
            "task": "language_model", "token": "char", "vocab": vocab.state_dict()}
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        ppl, tps = train_lm_epoch(model, loader, opt, clip=args.clip)
        row = {"epoch": epoch, "train_ppl": round(ppl, 4), "epoch_s": round(
            time.perf_counter() - t0, 2), "tok_s": round(tps), "wall_s": round(
            time.perf_counter() - t_start, 1)}
        history.append(row)
        print(json.dumps(row), flush=True)
        if args.out and (epoch % 5 == 0 or epoch == args.epochs or ppl <= args.target):
            os.makedirs(args.out, exist_ok=True)
            save_checkpoint(os.path.join(args.out, "model.ckpt"), model, epoch=epoch,
                            history=history, meta=meta)
        if ppl <= args.target:
            break
    wall = time.perf_counter() - t_start
    print(f"done: {len(history)} epochs, train ppl {history[-1]['train_ppl']}, "
          f"wall {wall / 60:.1f} min", flush=True)
    samples = {}
    for prefix in PREFIXES[args.corpus]:
        for how, kw in (("greedy", {"greedy": True}), ("T=0.8", {"temperature": 0.8})):
            text = generate(model, vocab, prefix, 100, seed=args.seed, **kw)
            samples[f"{prefix} ({how})"] = text
            print(f"[{how}] {text}", flush=True)
    if args.out:
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump({"history": history, "wall_s": wall, "samples": samples,
                       "args": vars(args)}, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
