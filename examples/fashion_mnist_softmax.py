"""softmax_regression on fashion_mnist: test accuracy >= 0.83 (the bar of issue 3).

    CHAINRULE_DATA=../shared/data python examples/fashion_mnist_softmax.py [--seeds 0 1 2] [--set epochs=5]

Hyper-parameters are the fashion_mnist recipe's (chainrule/train/recipes.py), the same
that `chainrule train softmax_regression --data fashion_mnist` uses.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--data", "fashion_mnist", "--model", "softmax_regression", "--bar", "0.83", *sys.argv[1:]]))
