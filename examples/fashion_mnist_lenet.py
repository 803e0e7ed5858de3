"""d2l's LeNet (sigmoid, average pooling) on fashion_mnist: test acc >= 0.78 (issue 4;
d2l-zh prints 0.779).

    CHAINRULE_DATA=../shared/data python examples/fashion_mnist_lenet.py [--seeds 0 1 2] [--set epochs=5]

d2l's setup (the fashion_mnist recipe's entry for lenet in chainrule/train/recipes.py):
plain SGD, lr 0.9, batch 256, 10 epochs, Xavier init; same as
`chainrule train lenet --data fashion_mnist`.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--data", "fashion_mnist", "--model", "lenet", "--bar", "0.78", *sys.argv[1:]]))
