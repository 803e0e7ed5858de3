"""``torchvision`` on chainrule: ``datasets`` (MNIST, FashionMNIST, CIFAR10),
``transforms`` (chainrule.data.transforms), ``utils`` (make_grid, save_image) and
``models`` (the zoo chainrule has, untrained)."""
__version__ = "0.0.0+chainrule"
