"""GloVe (Pennington et al. 2014): weighted least squares on log co-occurrence counts.

    J = sum_ij f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,   f(x) = min(1, (x / x_max)^alpha)

``forward(i, j, x)`` returns each pair's ``0.5 * f(x) * diff^2`` (glove.c's cost) for
autograd; :meth:`GloVe.adagrad_step` is the fused AdaGrad update on a batch of nonzero
entries.  The word vectors are ``w + w~`` (the paper's choice, glove.c's ``-model 2``).

AdaGrad on a batch, not entry by entry.  glove.c updates one entry at a time (from
several threads, Hogwild), so a frequent word's later updates see its earlier ones and
its squared-gradient sum grows between them.  A batch here sums each row's gradients
over the batch's entries first, then takes one AdaGrad step per touched row::

    g_r = sum over the batch's entries e that use row r of d cost_e / d row_r
    G_r += g_r^2,    row_r -= lr * g_r / (sqrt(G_r) + 1e-10)

which is exactly ``torch.optim.Adagrad(lr=lr)`` on the summed cost with sparse gradients
(accumulators start at 0), so each coordinate moves at most ``lr`` per step.  The
obvious fusion of glove.c's rule - each entry's update computed from the same stale
state and the updates summed - is not stable: a row like "the" gets thousands of
full-size updates at once, and on PTB (10 epochs, batches of 100,000) WordSim-353
Spearman fell from 0.11 after the first epoch to -0.003, while this rule rose to 0.18
(docs/embeddings.md).
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
        """One AdaGrad step (see the module docstring) on the summed cost of a batch of
        nonzero entries: arrays ``i, j`` (int row and column ids) and ``x`` (their counts,
        > 0).  Returns the batch's summed cost before the step."""
        tabs = [self.wi.weight.array, self.wj.weight.array, self.bi.weight.array,
                self.bj.weight.array]
        xp = B.xp_of(tabs[0])
        if self._gradsq is None:
            self._gradsq = [xp.zeros_like(t) for t in tabs]
        wi, wj, bi, bj = tabs
        x = x.astype(wi.dtype)
        a, b = wi[i], wj[j]
        diff = xp.einsum("bd,bd->b", a, b) + bi[i, 0] + bj[j, 0] - xp.log(x)
        fdiff = self.weight_fn(x) * diff                      # d cost_e / d diff_e
        cost = float(0.5 * (fdiff * diff).sum())
        # d diff / d w_i = w~_j, d diff / d w~_j = w_i, d diff / d b = 1: each side's vector
        # and bias gradients are summed per row together (one unique, one scatter per side)
        d = wi.shape[1]
        gi, gj, gbi, gbj = self._gradsq
        for vec, bias, vacc, bacc, rows, other in ((wi, bi, gi, gbi, i, b), (wj, bj, gj, gbj, j, a)):
            used, slot = xp.unique(rows, return_inverse=True)
            g = xp.zeros((used.size, d + 1), wi.dtype)
            dvec = xp.concatenate((other, xp.ones_like(other[:, :1])), 1)   # [w~_j | 1]
            add_rows(g, slot, fdiff[:, None] * dvec)
            for tab, acc, gt in ((vec, vacc, g[:, :d]), (bias, bacc, g[:, d:])):
                total = acc[used] + gt * gt                  # G_r += g_r^2
                acc[used] = total
                tab[used] -= lr * gt / (xp.sqrt(total) + 1e-10)
        for e in (self.wi, self.wj, self.bi, self.bj):
            e.weight._version[0] += 1
        return cost
