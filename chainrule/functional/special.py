"""Gamma-function family: ``lgamma``, ``digamma``, ``polygamma`` (torch's names).

Each derivative is the next function of the family, so every order of derivative
exists::

    d lgamma(x)        = digamma(x)
    d digamma(x)       = polygamma(1, x)
    d polygamma(n, x)  = polygamma(n + 1, x)

The kernels are in ``chainrule/backend/kernels/special.py`` (SciPy's on the CPU when
installed).
"""
import numbers

from chainrule import backend as B
from chainrule.functional.elementwise import _Unary

__all__ = ["lgamma", "digamma", "polygamma"]


class Lgamma(_Unary):
    def forward(self, x):
        return B.kernels_of(x).lgamma(self.prep(x))

    def backward(self, gy):  # d log|Gamma(x)| = psi(x)
        return gy * digamma(self.inputs[0])


class Polygamma(_Unary):
    """``psi^(n)(x)``; n = 0 is digamma."""

    def __init__(self, n):
        self.n = n

    def forward(self, x):
        x = self.prep(x)
        k = B.kernels_of(x)
        return k.digamma(x) if self.n == 0 else k.polygamma(self.n, x)

    def backward(self, gy):  # d psi^(n) = psi^(n+1)
        return gy * Polygamma(self.n + 1)(self.inputs[0])


def lgamma(input):
    """``log|Gamma(input)|``."""
    return Lgamma()(input)


def digamma(input):
    """``d/dx lgamma(x)`` (-inf at 0, NaN at the negative integers, like torch)."""
    return Polygamma(0)(input)


def polygamma(n, input):
    """The ``n``-th derivative of digamma."""
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
        raise RuntimeError(f"polygamma: n must be a non-negative integer, got {n!r}")
    return Polygamma(int(n))(input)
