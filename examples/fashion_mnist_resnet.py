"""A small ResNet on fashion_mnist: test acc >= 0.92 (issue 4).

    CHAINRULE_DATA=../shared/data python examples/fashion_mnist_resnet.py [--seeds 0 1 2] [--set epochs=5]

resnet_small (chainrule/models/resnet.py: CIFAR-style 3x3 stem, one basic block per
stage, 16-32-64 channels, 78k parameters) with the recipe's CNN defaults (SGD momentum
0.9, weight decay 5e-4, cosine schedule, batch 128), lr 0.1, 8 epochs (the CPU budget:
an epoch takes 3-5 min on the shared 2-core machine; 5 epochs gave 0.9166), no
augmentation (`--set augment=1` adds random crops and flips, which pay off only with
more epochs); same as
`chainrule train resnet_small --data fashion_mnist`.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--data", "fashion_mnist", "--model", "resnet_small", "--bar", "0.92", *sys.argv[1:]]))
