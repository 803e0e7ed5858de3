"""Train zoo models at CPU size on fashion_mnist and print a results table (issue 4:
"every other zoo model trained at CPU size with its test accuracy and wall time").

    CHAINRULE_DATA=../shared/data python examples/fashion_mnist_zoo.py \
        --models vgg nin densenet --epochs 2

Each model uses the recipe's hyper-parameters for it (chainrule/train/recipes.py: SGD
momentum 0.9, weight decay 5e-4, cosine schedule, batch 128, a per-model lr), i.e.
`chainrule train MODEL --data fashion_mnist --epochs N`.  On the shared 2-core CPU an
epoch takes 4-18 minutes, so the default budget is short (2 epochs); d2l's numbers
(AlexNet 0.883, VGG 0.920, NiN 0.790, GoogLeNet 0.886, ResNet-18 0.893, DenseNet
0.885) come from 10 epochs on a GPU at 224x224 / 96x96.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify import _value, train_and_test  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["vgg", "nin", "densenet"])
    p.add_argument("--data", default="fashion_mnist")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value for every model, e.g. width=16")
    args = p.parse_args(argv)
    overrides = dict((k, _value(v)) for k, v in (s.split("=", 1) for s in args.set))
    rows = []
    for name in args.models:
        test, hist, secs = train_and_test(args.data, name, args.seed, False,
                                          **{"epochs": args.epochs, **overrides})
        print(f"RESULT {name} on {args.data}: test acc {test['acc']:.4f}, "
              f"{len(hist)} epochs in {secs:.1f}s", flush=True)
        rows.append(f"| {name} | {test['acc']:.4f} | {len(hist)} | {secs:.0f} s |")
    print("| model | test acc | epochs | wall time |\n|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
