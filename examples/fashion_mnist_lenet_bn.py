"""Modern LeNet (ReLU, max-pooling, batch norm) on fashion_mnist: test acc >= 0.89
(issue 4).

    CHAINRULE_DATA=../shared/data python examples/fashion_mnist_lenet_bn.py [--seeds 0 1 2] [--set epochs=5]

Hyper-parameters: the recipe's CNN defaults (SGD momentum 0.9, weight decay 5e-4, cosine
schedule, batch 128) with lr 0.1 and 10 epochs; same as
`chainrule train lenet_bn --data fashion_mnist`.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--data", "fashion_mnist", "--model", "lenet_bn", "--bar", "0.89", *sys.argv[1:]]))
