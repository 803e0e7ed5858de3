"""Linear models: linear regression and softmax regression (one ``Linear`` layer).

Both flatten their input, so they take images as well as feature rows, and use
d2l's initialization: weights drawn from N(0, 0.01^2), biases zero.
"""
from chainrule import nn
from chainrule.models.registry import register_model

__all__ = ["LinearRegression", "SoftmaxRegression", "linear_regression",
           "softmax_regression"]


class _FlattenLinear(nn.Module):
    def __init__(self, in_features, out_features, sigma=0.01):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(in_features, out_features)
        self.sigma = sigma
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.normal_(self.linear.weight, 0.0, self.sigma)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x):
        return self.linear(self.flatten(x))


class LinearRegression(_FlattenLinear):
    """``y = x W^T + b`` on flattened inputs; ``out_features`` real outputs.

    >>> import chainrule as cr
    >>> LinearRegression(3)(cr.ones(5, 3)).shape
    chainrule.Size([5, 1])
    """

    def __init__(self, in_features, out_features=1, sigma=0.01):
        super().__init__(in_features, out_features, sigma)


class SoftmaxRegression(_FlattenLinear):
    """Class logits ``x W^T + b`` of flattened inputs (softmax lives in the loss).

    >>> import chainrule as cr
    >>> SoftmaxRegression(64, 10)(cr.ones(2, 1, 8, 8)).shape
    chainrule.Size([2, 10])
    """

    def __init__(self, in_features, num_classes, sigma=0.01):
        super().__init__(in_features, num_classes, sigma)


@register_model("linear_regression", task="regression")
def linear_regression(in_features=2, out_features=1, sigma=0.01):
    """Linear regression: one Linear layer, N(0, 0.01) weights (d2l)."""
    return LinearRegression(in_features, out_features, sigma)


@register_model("softmax_regression", task="classification")
def softmax_regression(in_features=784, num_classes=10, sigma=0.01):
    """Softmax regression: flatten + one Linear layer giving class logits (d2l)."""
    return SoftmaxRegression(in_features, num_classes, sigma)
