"""``torchvision`` on chainrule: datasets, transforms, utils, models."""
