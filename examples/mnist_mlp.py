"""mlp on mnist: test accuracy >= 0.98 (the bar of issue 3).

    CHAINRULE_DATA=../shared/data python examples/mnist_mlp.py [--seeds 0 1 2] [--set epochs=5]

Hyper-parameters are the mnist recipe's (chainrule/train/recipes.py), the same
that `chainrule train mlp --data mnist` uses.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--data", "mnist", "--model", "mlp", "--bar", "0.98", *sys.argv[1:]]))
