"""GloVe (Pennington et al. 2014): weighted least squares on log co-occurrence counts.

    J = sum_ij f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,   f(x) = min(1, (x / x_max)^alpha)

``forward(i, j, x)`` returns each pair's ``0.5 * f(x) * diff^2`` (glove.c's cost) for
autograd; :meth:`GloVe.adagrad_step` is glove.c's fused AdaGrad update on a batch of
nonzero entries (squared-gradient sums start at 1, the step size is inside the
accumulated gradient, as glove.c).  The word vectors are ``w + w~`` (the paper's
choice, glove.c's ``-model 2``).
"""
from chainrule import backend as B
from chainrule.backend.kernels.embedding import add_rows
from chainrule.nn import init
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.sparse import Embedding

__all__ = ["GloVe"]


class GloVe(Module):
    """Word and context vectors ``w``, ``w~`` and biases ``b``, ``b~`` (``Embedding``s
    ``wi``, ``wj``, ``bi``, ``bj``), initialised uniform in ``+-0.5/d`` as glove.c."""

    def __init__(self, vocab_size, embedding_dim=100, x_max=100.0, alpha=0.75):
        super().__init__()
        if vocab_size < 1 or embedding_dim < 1 or x_max <= 0:
            raise ValueError(f"GloVe: need vocab_size, embedding_dim >= 1 and x_max > 0, got "
                             f"{vocab_size}, {embedding_dim}, {x_max}")
        self.vocab_size, self.embedding_dim = vocab_size, embedding_dim
        self.x_max, self.alpha = x_max, alpha
        self.wi = Embedding(vocab_size, embedding_dim)
        self.wj = Embedding(vocab_size, embedding_dim)
        self.bi = Embedding(vocab_size, 1)
        self.bj = Embedding(vocab_size, 1)
        for e in (self.wi, self.wj, self.bi, self.bj):
            init.uniform_(e.weight, -0.5 / embedding_dim, 0.5 / embedding_dim)
        self._gradsq = None

    def extra_repr(self):
        return f"{self.vocab_size}, {self.embedding_dim}, x_max={self.x_max}, alpha={self.alpha}"

    def weight_fn(self, x):
        """f(x) = min(1, (x / x_max)^alpha) on an array or tensor."""
        return ((x / self.x_max) ** self.alpha).clamp(max=1.0) if hasattr(x, "clamp") else \
            B.xp_of(x).minimum(1.0, (x / self.x_max) ** self.alpha)

    def forward(self, i, j, x):
        if tuple(i.shape) != tuple(j.shape) or tuple(i.shape) != tuple(x.shape):
            raise ValueError(f"GloVe: i {tuple(i.shape)}, j {tuple(j.shape)} and x "
                             f"{tuple(x.shape)} must have the same shape")
        diff = ((self.wi(i) * self.wj(j)).sum(dim=-1) + self.bi(i).squeeze(-1)
                + self.bj(j).squeeze(-1) - x.log())
        return 0.5 * self.weight_fn(x) * diff * diff

    @property
    def vectors(self):
        """``w + w~`` as a NumPy array."""
        return B.asnumpy(self.wi.weight.array + self.wj.weight.array)

    def adagrad_step(self, i, j, x, lr=0.05):
        """glove.c's AdaGrad step on arrays ``i, j`` (int) and ``x`` (counts > 0);
        returns the batch's summed cost."""
        tabs = [self.wi.weight.array, self.wj.weight.array, self.bi.weight.array,
                self.bj.weight.array]
        xp = B.xp_of(tabs[0])
        if self._gradsq is None:
            self._gradsq = [xp.ones_like(t) for t in tabs]
        wi, wj, bi, bj = tabs
        gi, gj, gbi, gbj = self._gradsq
        x = x.astype(wi.dtype)
        a, b = wi[i], wj[j]
        diff = xp.einsum("bd,bd->b", a, b) + bi[i, 0] + bj[j, 0] - xp.log(x)
        fdiff = self.weight_fn(x) * diff
        cost = float(0.5 * (fdiff * diff).sum())
        fdiff = fdiff * lr
        t1 = fdiff[:, None] * b                                  # grad of w_i (times lr)
        t2 = fdiff[:, None] * a
        add_rows(wi, i, -t1 / xp.sqrt(gi[i]))
        add_rows(wj, j, -t2 / xp.sqrt(gj[j]))
        add_rows(bi, i, -(fdiff / xp.sqrt(gbi[i, 0]))[:, None])
        add_rows(bj, j, -(fdiff / xp.sqrt(gbj[j, 0]))[:, None])
        add_rows(gi, i, t1 * t1)
        add_rows(gj, j, t2 * t2)
        add_rows(gbi, i, (fdiff * fdiff)[:, None])
        add_rows(gbj, j, (fdiff * fdiff)[:, None])
        for e in (self.wi, self.wj, self.bi, self.bj):
            e.weight._version[0] += 1
        return cost
