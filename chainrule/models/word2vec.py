"""word2vec (Mikolov et al. 2013): skip-gram and CBOW, each with negative sampling
(NS) or hierarchical softmax (HS) over a Huffman tree.

Every model holds two tables: ``in_embed`` (the word vectors, ``V x d``) and
``out_embed`` (context vectors for NS, ``V x d``; one vector per inner node of the
Huffman tree for HS, ``(V - 1) x d``).  ``forward`` is the autograd formulation
(d2l's ``skip_gram``: scores of input words against output rows, trained with
:func:`sgns_loss`); :meth:`Word2Vec.sgd_step` is the fused update gensim and
word2vec.c make - forward, gradient and SGD step on the raw arrays for a large
batch of examples, row updates by ``backend.kernels.embedding.add_rows`` (repeated
rows summed; scratch buffers reused between steps).
For skip-gram the fused step equals ``loss.sum().backward()`` followed by
``SGD(lr)`` (tested); for CBOW it follows word2vec.c: the hidden vector is the
mean of the context vectors and its error is added undivided to each of them.

Output rows and labels: NS scores the true word (label 1) and ``K`` noise words
(label 0); HS scores the inner nodes on the true word's Huffman path with label
``1 - code`` (word2vec.c's convention).
"""
import threading
import weakref

from chainrule import backend as B
from chainrule.backend.kernels.embedding import Workspace, add_rows, outer_rows, take_rows
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module
from chainrule.nn.modules.sparse import Embedding

__all__ = ["Word2Vec", "SkipGram", "CBOW", "sgns_loss"]

_WORKSPACES = weakref.WeakKeyDictionary()  # model -> its sgd_step's scratch buffers


def sgns_loss(scores, labels, mask):
    """d2l's masked sigmoid binary cross-entropy: per example, the mean over the
    valid positions (``mask`` 1) of ``BCE(scores, labels)``; shape ``(B,)``."""
    if tuple(scores.shape) != tuple(labels.shape) or tuple(mask.shape) != tuple(labels.shape):
        raise ValueError(f"sgns_loss: scores {tuple(scores.shape)}, labels "
                         f"{tuple(labels.shape)} and mask {tuple(mask.shape)} must match")
    l = F.binary_cross_entropy_with_logits(scores, labels, weight=mask, reduction="none")
    return l.sum(dim=1) / mask.sum(dim=1)


class Word2Vec(Module):
    """Base of :class:`SkipGram` and :class:`CBOW`.

    Args:
        vocab_size: number of words ``V``.
        embedding_dim: vector size ``d``.
        loss: ``'ns'`` (negative sampling: ``out_embed`` is ``V x d``) or ``'hs'``
            (hierarchical softmax: ``out_embed`` is ``(V - 1) x d``).
        init_scheme: ``'word2vec'`` (``in_embed`` uniform in ``+-0.5/d``, ``out_embed``
            zeros, as word2vec.c and gensim) or ``'xavier'`` (both Xavier-uniform,
            as d2l).
    """
    cbow = False

    def __init__(self, vocab_size, embedding_dim=100, loss="ns", init_scheme="word2vec"):
        super().__init__()
        if loss not in ("ns", "hs"):
            raise ValueError(f"{type(self).__name__}: loss must be 'ns' or 'hs', got {loss!r}")
        if vocab_size < 2 or embedding_dim < 1:
            raise ValueError(f"{type(self).__name__}: need vocab_size >= 2 and "
                             f"embedding_dim >= 1, got {vocab_size}, {embedding_dim}")
        self.vocab_size, self.embedding_dim, self.loss = vocab_size, embedding_dim, loss
        self.in_embed = Embedding(vocab_size, embedding_dim)
        self.out_embed = Embedding(vocab_size - (loss == "hs"), embedding_dim)
        self.reset_parameters(init_scheme)

    def reset_parameters(self, init_scheme="word2vec"):
        if init_scheme == "word2vec":
            d = self.embedding_dim
            init.uniform_(self.in_embed.weight, -0.5 / d, 0.5 / d)
            init.zeros_(self.out_embed.weight)
        elif init_scheme == "xavier":
            init.xavier_uniform_(self.in_embed.weight)
            init.xavier_uniform_(self.out_embed.weight)
        else:
            raise ValueError(f"{type(self).__name__}: init_scheme must be 'word2vec' or "
                             f"'xavier', got {init_scheme!r}")

    def extra_repr(self):
        return f"{self.vocab_size}, {self.embedding_dim}, loss={self.loss!r}"

    @property
    def vectors(self):
        """The word vectors (``in_embed``'s table) as a NumPy array."""
        return B.asnumpy(self.in_embed.weight.array)

    def _check_out(self, outputs):
        if outputs.ndim != 2:
            raise ValueError(f"{type(self).__name__}: outputs must be (B, L) row ids of "
                             f"out_embed, got shape {tuple(outputs.shape)}")

    # ---------------------------------------------------------- fused SGD step
    def sgd_step(self, inputs, outputs, labels, mask, lr, context_mask=None, row_cap=None):
        """One fused SGD step on a batch; returns the batch's summed loss.

        ``inputs``: (B,) input word ids (skip-gram) or (B, C) context ids with
        ``context_mask`` (CBOW).  ``outputs`` (B, L): rows of ``out_embed`` scored
        against the hidden vector, ``labels`` (B, L) 0/1 and ``mask`` (B, L) 0/1.
        Arrays are NumPy (or CuPy on a GPU model).

        ``row_cap``: a row used more than ``row_cap`` times in the batch gets its summed
        update scaled by ``row_cap / uses`` (at most ``row_cap`` updates' worth).  Summed
        updates of very frequent rows (the Huffman root, frequent words) make a large
        batch diverge where word2vec's one-pair-at-a-time SGD corrects itself; ``None``
        is the exact summed gradient step."""
        w_in = self.in_embed.weight.array
        xp = B.xp_of(w_in)
        if self.cbow:
            cm = context_mask.astype(w_in.dtype)
            cnt = cm.sum(1, keepdims=True)
            h = (w_in[inputs] * cm[:, :, None]).sum(1) / xp.maximum(cnt, 1)
        else:
            h = w_in[inputs]
        loss, dh = self._output_update(h, outputs, labels, mask, lr, row_cap)
        ws = self._workspace()
        if row_cap is not None:
            rows_in = inputs if not self.cbow else inputs[context_mask]
            uses_in = xp.bincount(rows_in.reshape(-1), minlength=w_in.shape[0])
            scale_in = xp.minimum(1.0, row_cap / xp.maximum(uses_in[inputs], 1))
            if not self.cbow:
                dh = dh * scale_in[:, None].astype(dh.dtype)
        if self.cbow:
            sel = context_mask.reshape(-1)
            rows = inputs.reshape(-1)[sel]
            vals = xp.broadcast_to(dh[:, None, :], inputs.shape + dh.shape[1:])
            if row_cap is not None:
                vals = vals * scale_in[:, :, None].astype(dh.dtype)
            add_rows(w_in, rows, vals.reshape(-1, w_in.shape[1])[sel], ws)
        else:
            add_rows(w_in, inputs, dh, ws)
        self.in_embed.weight._version[0] += 1
        return loss

    def _workspace(self):
        """This thread's scratch buffers for this model, reused across steps and kept
        outside the module (not copied, pickled or saved with it); one per thread, so
        threads stepping the model at once (``train_word2vec(workers=)``) do not share
        them."""
        per_thread = _WORKSPACES.get(self)
        if per_thread is None:
            per_thread = _WORKSPACES[self] = {}
        ws = per_thread.get(threading.get_ident())
        if ws is None:
            ws = per_thread[threading.get_ident()] = Workspace()
        return ws

    def _output_update(self, h, outputs, labels, mask, lr, row_cap):
        """The output side of the fused step for hidden vectors ``h`` (B, d): scores,
        loss, the SGD update of the ``outputs`` rows (capped by ``row_cap``) and
        ``dh`` = lr * (-dLoss/dh), computed before the rows move.  Returns
        ``(loss, dh)``."""
        w_out = self.out_embed.weight.array
        xp = B.xp_of(w_out)
        ws = self._workspace()
        u = take_rows(w_out, outputs, ws, "u")              # (B, L, d)
        s = xp.matmul(u, h[:, :, None])[:, :, 0]            # (B, L); matmul is faster
        sig = 1.0 / (1.0 + xp.exp(-xp.clip(s, -30, 30)))
        lab = labels.astype(w_out.dtype)
        m = mask.astype(w_out.dtype)
        p = xp.where(lab > 0, sig, 1 - sig)
        loss = float(-(xp.log(xp.maximum(p, 1e-30)) * m).sum())
        # float(lr): a NumPy float64 lr would make g (and every update) float64 (NEP 50)
        g = (lab - sig) * m * float(lr)                      # -dLoss/ds * lr
        dh = xp.matmul(g[:, None, :], u)[:, 0, :]           # (B, d)   than einsum here
        if row_cap is not None:
            uses = xp.bincount(outputs.reshape(-1), weights=m.reshape(-1),
                               minlength=w_out.shape[0])
            g = g * xp.minimum(1.0, row_cap / xp.maximum(uses[outputs], 1)).astype(g.dtype)
        # u is not needed any more: the output rows' updates g * h overwrite it
        du = outer_rows(g, h, out=u)                         # (B, L, d) = g * h
        add_rows(w_out, outputs.reshape(-1), du.reshape(-1, w_out.shape[1]), ws)
        self.out_embed.weight._version[0] += 1
        return loss, dh


class SkipGram(Word2Vec):
    """Skip-gram: an input word's vector scored against output rows.

    ``forward(center (B, 1) or (B,), outputs (B, L))`` returns scores ``(B, 1, L)``
    (d2l's ``skip_gram``; ``(B, L)`` for 1-D ``center``)."""

    def sgd_step_windows(self, contexts, context_mask, outputs, labels, mask, lr,
                         row_cap=None):
        """The fused step of :meth:`sgd_step` for examples that share their output rows
        by window: ``contexts`` (N, C) input word ids with ``context_mask`` (N, C),
        ``outputs``/``labels``/``mask`` (N, L).  Every valid context word ``j`` of window
        ``i`` is scored against all of window ``i``'s output rows - the same updates as
        :meth:`sgd_step` on the pairs ``(contexts[i, j], outputs[i])`` (tested), with
        ``row_cap`` counting uses per pair as there.

        This is skip-gram with negatives shared by the context words of one center
        (Ji et al. 2016, "Parallelizing Word2Vec in Shared and Distributed Memory"):
        with 5 pairs a window it gathers and scatters 6 output rows where the per-pair
        step moves 30, and its products are small matrix products per window::

            S  = H O^T           (N, C, L)  H = w_in[contexts], O = w_out[outputs]
            g  = (labels - sigmoid(S)) * context_mask * mask * lr
            dH = g O    -> w_in[contexts]  (computed before O moves)
            dO = g^T H  -> w_out[outputs]

        Returns the summed loss over valid (context, output) pairs."""
        w_in, w_out = self.in_embed.weight.array, self.out_embed.weight.array
        xp = B.xp_of(w_in)
        ws = self._workspace()
        n, c = contexts.shape
        dt = w_in.dtype
        cm = context_mask.astype(dt)
        m = mask.astype(dt)
        lab = labels.astype(dt)
        h = take_rows(w_in, contexts, ws, "h")                    # (N, C, d)
        o = take_rows(w_out, outputs, ws, "u")                    # (N, L, d)
        s = xp.matmul(h, o.transpose(0, 2, 1))                    # (N, C, L)
        sig = 1.0 / (1.0 + xp.exp(-xp.clip(s, -30, 30)))
        valid = cm[:, :, None] * m[:, None, :]                    # (N, C, L)
        p = xp.where(lab[:, None, :] > 0, sig, 1 - sig)
        loss = float(-(xp.log(xp.maximum(p, 1e-30)) * valid).sum())
        # float(lr): a NumPy float64 lr would make every update float64 (NEP 50)
        g = (lab[:, None, :] - sig) * valid * float(lr)           # -dLoss/dS * lr
        dh = xp.matmul(g, o)                                      # (N, C, d)
        if row_cap is not None:
            per_window = cm.sum(1)                                # pairs of each window
            uses = xp.bincount(outputs.reshape(-1), weights=(m * per_window[:, None])
                               .reshape(-1), minlength=w_out.shape[0])
            cap_out = xp.minimum(1.0, row_cap / xp.maximum(uses[outputs], 1)).astype(dt)
            g = g * cap_out[:, None, :]
        do = xp.matmul(g.transpose(0, 2, 1), h, out=o)            # (N, L, d); o is spent
        add_rows(w_out, outputs.reshape(-1), do.reshape(-1, w_out.shape[1]), ws)
        self.out_embed.weight._version[0] += 1
        sel = context_mask.reshape(-1).astype(bool)
        rows = contexts.reshape(-1)[sel]
        dh = dh.reshape(n * c, -1)[sel]
        if row_cap is not None:
            uses_in = xp.bincount(rows, minlength=w_in.shape[0])
            dh *= xp.minimum(1.0, row_cap / xp.maximum(uses_in[rows], 1)).astype(dt)[:, None]
        add_rows(w_in, rows, dh, ws)
        self.in_embed.weight._version[0] += 1
        return loss

    def forward(self, center, outputs):
        self._check_out(outputs)
        v = self.in_embed(center)
        u = self.out_embed(outputs)
        if center.ndim == 1:
            return (u @ v.unsqueeze(2)).squeeze(2)
        return v @ u.permute(0, 2, 1)


class CBOW(Word2Vec):
    """CBOW: the mean of the context words' vectors scored against output rows.

    ``forward(contexts (B, C), outputs (B, L), context_mask=None)`` returns scores
    ``(B, L)``; ``context_mask`` (B, C) marks the real context words."""
    cbow = True

    def forward(self, contexts, outputs, context_mask=None):
        self._check_out(outputs)
        if contexts.ndim != 2:
            raise ValueError(f"CBOW: contexts must be (B, C) ids, got shape "
                             f"{tuple(contexts.shape)}")
        v = self.in_embed(contexts)                           # (B, C, d)
        if context_mask is None:
            h = v.mean(dim=1)
        else:
            m = context_mask.to(v.dtype)
            h = (v * m.unsqueeze(2)).sum(dim=1) / m.sum(dim=1, keepdim=True).clamp(min=1)
        u = self.out_embed(outputs)
        return (u @ h.unsqueeze(2)).squeeze(2)
