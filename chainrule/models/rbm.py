"""Restricted Boltzmann machines (Hinton 2002, "Training products of experts by
minimizing contrastive divergence"; Tieleman 2008 for persistent CD; Hinton, Osindero &
Teh 2006 for the deep belief network).

* :class:`RBM` -- Bernoulli-Bernoulli, or Gaussian-Bernoulli (``visible='gaussian'``:
  unit-variance Gaussian visibles for standardised real inputs).  ``free_energy`` is
  differentiable; training is contrastive divergence: :meth:`RBM.cd_step` runs CD-k or
  persistent CD (PCD-k) and applies the SGD update (the CD gradient is not the gradient
  of a loss, so no autograd graph is built).  :meth:`RBM.gibbs` runs sampling chains;
  :meth:`RBM.pseudo_log_likelihood` is the stochastic one-bit-flip estimate scikit-learn's
  ``BernoulliRBM.score_samples`` uses (``D * log sigmoid(F(v~) - F(v))``).
* :class:`DBN` -- greedy layer-wise stack of RBMs whose weights initialise an MLP
  (:meth:`DBN.to_mlp`) for supervised fine-tuning.
"""
from chainrule import functional as F
from chainrule.core import creation as C
from chainrule.core.grad_mode import no_grad
from chainrule.nn import functional as NF
from chainrule.core.dtype import float32
from chainrule import nn
from chainrule.models.registry import register_model

__all__ = ["RBM", "DBN", "rbm", "mlp_like_dbn"]


class RBM(nn.Module):
    """An RBM with ``n_visible`` visible and ``n_hidden`` binary hidden units.

    Weights start as ``N(0, 0.01^2)`` (scikit-learn's and Hinton's practical guide's
    choice), biases at 0.  ``forward(v)`` gives ``P(h=1|v)``.
    """

    def __init__(self, n_visible=784, n_hidden=500, visible="bernoulli"):
        super().__init__()
        if visible not in ("bernoulli", "gaussian"):
            raise ValueError(f"RBM: visible must be 'bernoulli' or 'gaussian', got {visible!r}")
        if int(n_visible) < 1 or int(n_hidden) < 1:
            raise ValueError(f"RBM: n_visible and n_hidden must be positive, got "
                             f"{n_visible} and {n_hidden}")
        self.n_visible, self.n_hidden, self.visible = int(n_visible), int(n_hidden), visible
        self.weight = nn.Parameter(C.randn(self.n_hidden, self.n_visible) * 0.01)
        self.h_bias = nn.Parameter(C.zeros(self.n_hidden))
        self.v_bias = nn.Parameter(C.zeros(self.n_visible))
        self._chain = None  # the persistent chain's visible state (PCD)

    def _check(self, v):
        if v.ndim != 2 or v.shape[1] != self.n_visible:
            raise ValueError(f"RBM: expected (N, {self.n_visible}) visible vectors, got shape "
                             f"{tuple(v.shape)}")
        return v

    def forward(self, v):
        """``P(h = 1 | v)``."""
        return F.sigmoid(NF.linear(self._check(v), self.weight, self.h_bias))

    def hidden_probs(self, v):
        return self(v)

    def visible_mean(self, h):
        """``P(v = 1 | h)`` (Bernoulli) or ``E[v | h]`` (Gaussian)."""
        a = h @ self.weight + self.v_bias
        return F.sigmoid(a) if self.visible == "bernoulli" else a

    def sample_visible(self, h):
        m = self.visible_mean(h)
        if self.visible == "bernoulli":
            return (C.rand_like(m) < m).to(m.dtype)
        return m + C.randn_like(m)

    @staticmethod
    def _sample(p):
        return (C.rand_like(p) < p).to(p.dtype)

    def free_energy(self, v):
        """``F(v) = -b.v - sum_j softplus(c_j + W_j.v)`` for Bernoulli visibles,
        ``|v - b|^2 / 2 - sum_j softplus(c_j + W_j.v)`` for unit-variance Gaussian ones;
        one value per row, differentiable."""
        v = self._check(v)
        hid = NF.softplus(NF.linear(v, self.weight, self.h_bias)).sum(1)
        if self.visible == "bernoulli":
            return -(v @ self.v_bias) - hid
        return 0.5 * ((v - self.v_bias) ** 2).sum(1) - hid

    def gibbs(self, v, k=1):
        """``k`` steps of block Gibbs sampling ``v -> h -> v`` from ``v``; returns the
        last visible sample."""
        with no_grad():
            for _ in range(int(k)):
                v = self.sample_visible(self._sample(self(v)))
        return v

    def cd_step(self, v0, lr=0.1, k=1, persistent=False, recon_error=False):
        """One CD-k (or PCD-k) SGD update on the batch ``v0``.

        ``dW = lr / N * (h0^T v0 - hk^T vk)`` with ``h0 = P(h|v0)`` and ``hk = P(h|vk)``.
        CD-k starts the negative chain at ``v0``'s hidden sample; PCD continues it from
        the hidden sample the previous call left (zeros at first), as scikit-learn's
        ``BernoulliRBM`` does.  With ``recon_error`` returns the batch's mean squared
        error of the mean reconstruction ``E[v | h0]`` (one more matrix product)."""
        self._check(v0)
        with no_grad():
            h0 = self(v0)
            if persistent:
                if self._chain is None or self._chain.shape != h0.shape:
                    self._chain = C.zeros_like(h0)
                h = self._chain
            else:
                h = self._sample(h0)
            for i in range(int(k)):
                vk = self.sample_visible(h)
                hk = self(vk)
                h = self._sample(hk)
            if persistent:
                self._chain = h
            s = lr / v0.shape[0]
            self.weight.add_((h0.T @ v0 - hk.T @ vk) * s)
            self.h_bias.add_((h0.sum(0) - hk.sum(0)) * s)
            self.v_bias.add_((v0.sum(0) - vk.sum(0)) * s)
            if recon_error:
                return float(((self.visible_mean(h0) - v0) ** 2).mean())
            return None

    def pseudo_log_likelihood(self, v):
        """Per-row stochastic pseudo-log-likelihood (one random bit flipped per row,
        scaled by ``n_visible``), scikit-learn's estimator.  Bernoulli visibles only."""
        if self.visible != "bernoulli":
            raise ValueError("RBM.pseudo_log_likelihood: defined for Bernoulli visibles only")
        self._check(v)
        with no_grad():
            n = v.shape[0]
            j = C.randint(0, self.n_visible, (n,))
            flip = NF.one_hot(j, self.n_visible).to(v.dtype)
            v_flip = v + flip * (1.0 - 2.0 * v)
            return NF.logsigmoid(
                self.free_energy(v_flip) - self.free_energy(v)) * self.n_visible

    def sample(self, n, k=1000, seed_visible=None):
        """``n`` visible means after ``k`` Gibbs steps from random binary vectors (or from
        ``seed_visible``)."""
        v = seed_visible if seed_visible is not None else (
            C.rand(int(n), self.n_visible) < 0.5).to(float32)
        v = self.gibbs(v, k)
        with no_grad():
            return self.visible_mean(self._sample(self(v)))


class DBN(nn.Module):
    """A stack of Bernoulli RBMs ``sizes[0] - sizes[1] - ...`` trained greedily, each on
    the hidden probabilities of the one below (Hinton et al. 2006)."""

    def __init__(self, sizes=(784, 500, 500)):
        super().__init__()
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"DBN: sizes must be at least two positive widths, got {sizes}")
        self.sizes = sizes
        self.rbms = nn.ModuleList([RBM(a, b) for a, b in zip(sizes[:-1], sizes[1:])])

    def forward(self, v):
        for r in self.rbms:
            v = r(v)
        return v

    def pretrain(self, batches_fn, epochs=1, lr=0.1, k=1, persistent=False):
        """Greedy layer-wise training: ``batches_fn()`` yields visible batches (Tensors)
        for one epoch; layer ``l`` trains on layer ``l-1``'s hidden probabilities."""
        errs = []
        for li, r in enumerate(self.rbms):
            for _ in range(int(epochs)):
                e = []
                for v in batches_fn():
                    with no_grad():
                        for below in self.rbms[:li]:
                            v = below(v)
                    e.append(r.cd_step(v, lr, k, persistent, recon_error=True))
                errs.append((li, sum(e) / max(len(e), 1)))
        return errs

    def to_mlp(self, num_classes):
        """An MLP ``Sequential(Linear, Sigmoid, ..., Linear(sizes[-1], num_classes))`` whose
        hidden layers hold the RBMs' weights and hidden biases."""
        layers = []
        for r in self.rbms:
            lin = nn.Linear(r.n_visible, r.n_hidden)
            with no_grad():
                lin.weight.copy_(r.weight)
                lin.bias.copy_(r.h_bias)
            layers += [lin, nn.Sigmoid()]
        return nn.Sequential(nn.Flatten(), *layers, nn.Linear(self.sizes[-1], int(num_classes)))


@register_model("rbm", task="generative",
                description="restricted Boltzmann machine (CD-k / PCD), 500 hidden units")
def rbm(n_visible=784, n_hidden=500, visible="bernoulli"):
    return RBM(n_visible, n_hidden, visible)


def mlp_like_dbn(sizes, num_classes):
    """The MLP :meth:`DBN.to_mlp` builds, randomly initialised (the baseline)."""
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.Sigmoid()]
    return nn.Sequential(nn.Flatten(), *layers, nn.Linear(sizes[-1], int(num_classes)))

