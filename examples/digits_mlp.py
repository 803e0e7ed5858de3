"""mlp on digits: test accuracy >= 0.97 (the bar of issue 3).

    CHAINRULE_DATA=../shared/data python examples/digits_mlp.py [--seeds 0 1 2] [--set epochs=5]

Hyper-parameters are the digits recipe's (chainrule/train/recipes.py), the same
that `chainrule train mlp --data digits` uses.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--data", "digits", "--model", "mlp", "--bar", "0.97", *sys.argv[1:]]))
