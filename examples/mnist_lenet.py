"""LeNet-5 on MNIST: test acc >= 0.99 (issue 4; LeCun et al. 1998 report 0.95% error).

The modern form (lenet_bn: ReLU, max-pooling, batch norm).  The original sigmoid form
trains with `python examples/classify.py --data mnist --model lenet --bar 0.99`.

    CHAINRULE_DATA=../shared/data python examples/mnist_lenet.py [--seeds 0 1 2] [--set epochs=5]

Hyper-parameters: the mnist recipe's CNN defaults (SGD momentum 0.9, weight decay
5e-4, cosine schedule, batch 128) with lr 0.1 and 10 epochs; same as
`chainrule train lenet_bn --data mnist`.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--data", "mnist", "--model", "lenet_bn", "--bar", "0.99", *sys.argv[1:]]))
