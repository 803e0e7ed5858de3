"""``chainrule.Size``: the type of ``Tensor.shape`` and ``Tensor.size()``, as ``torch.Size``.

A ``tuple`` of ints in every way that matters (it compares, hashes, unpacks and indexes
as one, so ``x.shape == (3, 4)`` holds), that prints as ``chainrule.Size([3, 4])`` the
way torch prints ``torch.Size([3, 4])``, keeps its type under slicing and ``+``, and has
torch's ``numel()``.
"""
import operator


class Size(tuple):
    """The shape of a tensor: ``Size([2, 3])`` or ``Size((2, 3))``; ``Size()`` is a 0-d
    shape."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        dims = []
        for i, d in enumerate(sizes):
            try:
                dims.append(d if type(d) is int else operator.index(d))
            except TypeError:
                raise TypeError(f"chainrule.Size() takes an iterable of 'int' (item {i} is "
                                f"{type(d).__name__!r})") from None
        return super().__new__(cls, dims)

    def numel(self):
        """The number of elements a tensor of this shape holds (1 for ``Size([])``)."""
        n = 1
        for d in self:
            n *= d
        return n

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __repr__(self):
        return f"chainrule.Size({list(self)!r})"

    __str__ = __repr__

    def __reduce__(self):  # pickles as a Size, not as the tuple it subclasses
        return (Size, (tuple(self),))
