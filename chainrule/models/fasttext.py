"""fastText (Bojanowski et al. 2017): skip-gram with negative sampling where a word's
input vector is the mean of its own vector and its character n-grams' (3-6 characters
of ``<word>``, hashed into ``bucket`` rows), so unseen and misspelled words get
vectors from their n-grams.

The input table ``in_embed`` has ``V + bucket`` rows (words, then buckets).  Training
reuses the word2vec fused step with the subword rows as the "context" of CBOW: the
hidden vector is the rows' mean and each row gets the hidden error undivided, as
fastText's skip-gram does.  Subword ids come from
:func:`chainrule.text.word2vec.subword_table` (the text floor), given to the model.
"""
from chainrule import backend as B
from chainrule.backend.kernels.embedding import add_rows
from chainrule.models.word2vec import CBOW, Word2Vec
from chainrule.nn import init
from chainrule.nn.modules.sparse import Embedding

__all__ = ["FastText"]


class FastText(Word2Vec):
    """``FastText(vocab_size, embedding_dim, bucket)``; ``forward`` is
    :class:`~chainrule.models.word2vec.CBOW`'s over subword rows."""
    cbow = True

    def __init__(self, vocab_size, embedding_dim=100, bucket=2_000_000, loss="ns"):
        self.bucket = bucket
        super().__init__(vocab_size, embedding_dim, loss)
        self.in_embed = Embedding(vocab_size + bucket, embedding_dim)
        init.uniform_(self.in_embed.weight, -1.0 / embedding_dim, 1.0 / embedding_dim)

    def extra_repr(self):
        return super().extra_repr() + f", bucket={self.bucket}"

    def forward(self, subwords, outputs, subword_mask=None):
        return CBOW.forward(self, subwords, outputs, subword_mask)

    def sgd_step_words(self, words, sub_ids, sub_mask, outputs, labels, mask, lr,
                       row_cap=None):
        """The fused step of :meth:`sgd_step` with the input rows given per *word*:
        example ``b``'s input rows are ``sub_ids[words[b]]`` (masked by ``sub_mask``).
        The same update as ``sgd_step(sub_ids[words], ..., sub_mask[words])`` (tested),
        but a word's hidden vector (the mean of its rows) is computed once per distinct
        word of the batch, and the examples' errors are summed per word before they are
        added to its rows: in skip-gram a word is the input of ``2b`` pairs per
        occurrence, so this gathers and scatters several times fewer rows."""
        w_in = self.in_embed.weight.array
        xp = B.xp_of(w_in)
        uniq, inv = xp.unique(words, return_inverse=True)
        inv = inv.reshape(-1)
        ids, sm = sub_ids[uniq], sub_mask[uniq]                     # (U, C)
        cm = sm.astype(w_in.dtype)
        h_u = (w_in[ids] * cm[:, :, None]).sum(1) / xp.maximum(cm.sum(1, keepdims=True), 1)
        loss, dh = self._output_update(h_u[inv], outputs, labels, mask, lr, row_cap)
        dh_u = xp.zeros(h_u.shape, dh.dtype)
        add_rows(dh_u, inv, dh)                                     # summed per word
        vals = xp.broadcast_to(dh_u[:, None, :], ids.shape + dh_u.shape[1:])
        if row_cap is not None:  # a row's uses: its words' pair counts (as in sgd_step)
            per_word = xp.bincount(inv, minlength=uniq.size).astype(w_in.dtype)
            uses_in = xp.bincount(ids[sm], weights=xp.broadcast_to(
                per_word[:, None], ids.shape)[sm], minlength=w_in.shape[0])
            scale = xp.minimum(1.0, row_cap / xp.maximum(uses_in[ids], 1))
            vals = vals * scale[:, :, None].astype(dh.dtype)
        add_rows(w_in, ids[sm], vals[sm], self._workspace())
        self.in_embed.weight._version[0] += 1
        return loss

    def word_vectors(self, ids, mask):
        """Mean of the rows ``ids`` (masked) per word: (N, M) -> (N, d) NumPy."""
        w = B.asnumpy(self.in_embed.weight.array)
        m = mask.astype(w.dtype)
        return (w[ids] * m[:, :, None]).sum(1) / m.sum(1, keepdims=True)
