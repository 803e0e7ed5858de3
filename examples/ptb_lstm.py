"""Penn Treebank word-level LSTM, Zaremba et al. 2014 "small" configuration.

2 layers x 200 units, embedding 200, no dropout, init U(-0.1, 0.1), SGD lr 1 halved
every epoch after epoch 4, clip the gradient norm at 5, batch 20, 20 unrolled steps,
13 epochs, hidden state carried across batches (truncated BPTT).  The paper reports
test perplexity 114.5 (valid 120.7).

Zaremba's loss is the batch mean *summed* over the 20 time steps; ours is the mean over
all tokens, i.e. 1/20 of it.  SGD with lr 1 and clip 5 on the summed loss is exactly
SGD with lr 20 and clip 5/20 = 0.25 on the mean loss, which is what this script runs
(``--lr`` and ``--clip`` are given on Zaremba's scale).

    CHAINRULE_DATA=/work/shared/data OPENBLAS_NUM_THREADS=1 python examples/ptb_lstm.py \
        --out /tmp/ptb_small
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
from chainrule.train.checkpoint import save_checkpoint  # noqa: E402
from chainrule.train.lm import evaluate_lm, train_lm_epoch  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=13)
    p.add_argument("--hidden", type=int, default=200)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--lr", type=float, default=1.0, help="on Zaremba's time-summed loss")
    p.add_argument("--decay", type=float, default=0.5)
    p.add_argument("--decay-after", type=int, default=4)
    p.add_argument("--clip", type=float, default=5.0, help="on Zaremba's time-summed loss")
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--num-steps", type=int, default=20)
    p.add_argument("--max-batches", type=int, default=0, help="time this many batches and stop")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for model.ckpt and results.json")
    p.add_argument("--corpus", default="ptb", choices=["ptb", "wikitext-2"],
                   help="the same configuration on WikiText-2 (33,278 types)")
    args = p.parse_args(argv)

    cr.manual_seed(args.seed)
    train, vocab = load_corpus(args.corpus, split="train")
    valid, _ = load_corpus(args.corpus, split="valid", vocab=vocab)
    test, _ = load_corpus(args.corpus, split="test", vocab=vocab)
    V = len(vocab)
    kwargs = dict(vocab_size=V, hidden_size=args.hidden, num_layers=args.layers,
                  embed_size=args.hidden, init_range=0.1)
    model = get_model("lstm-lm", **kwargs)
    scale = args.num_steps        # mean-over-tokens loss -> Zaremba's time-summed loss
    opt = optim.SGD(model.parameters(), lr=args.lr * scale)
    mk = lambda c, b, s: LMDataLoader(c, b, s, mode="sequential", shuffle_offset=False)  # noqa
    train_loader = mk(train, args.batch_size, args.num_steps)
    valid_loader, test_loader = mk(valid, 10, 35), mk(test, 10, 35)
    print(f"{args.corpus}: vocab {V}, train {len(train)} tokens, {len(train_loader)} batches/epoch",
          flush=True)
    if args.max_batches:
        train_loader._len = args.max_batches
    history, t_start = [], time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        lr = args.lr * scale * args.decay ** max(epoch - args.decay_after, 0)
        for g in opt.param_groups:
            g["lr"] = lr
        t0 = time.perf_counter()
        ppl, tps = train_lm_epoch(model, train_loader, opt, clip=args.clip / scale,
                                  log_every=500 if not args.max_batches else 0)
        t_train = time.perf_counter() - t0
        if args.max_batches:
            full = len(mk(train, args.batch_size, args.num_steps))
            print(f"{args.max_batches} batches in {t_train:.1f}s -> "
                  f"{t_train / args.max_batches * full:.0f} s/epoch ({tps:.0f} tok/s)")
            return
        val = evaluate_lm(model, valid_loader)
        row = {"epoch": epoch, "lr": lr, "train_ppl": ppl, "val_ppl": val,
               "epoch_s": round(time.perf_counter() - t0, 1), "tok_s": round(tps)}
        history.append(row)
        print(json.dumps(row), flush=True)
    test_ppl = evaluate_lm(model, test_loader)
    wall = time.perf_counter() - t_start
    print(f"test perplexity {test_ppl:.2f}  wall {wall / 60:.1f} min", flush=True)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        save_checkpoint(os.path.join(args.out, "model.ckpt"), model, epoch=args.epochs,
                        history=history, meta={"model": "lstm-lm", "model_kwargs": kwargs,
                                               "dataset": args.corpus.replace("-", ""), "task": "language_model",
                                               "vocab": vocab.state_dict()})
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump({"history": history, "test_ppl": test_ppl, "wall_s": wall,
                       "args": vars(args)}, f, indent=1)


if __name__ == "__main__":
    main()
