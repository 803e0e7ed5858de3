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

    def word_vectors(self, ids, mask):
        """Mean of the rows ``ids`` (masked) per word: (N, M) -> (N, d) NumPy."""
        w = B.asnumpy(self.in_embed.weight.array)
        m = mask.astype(w.dtype)
        return (w[ids] * m[:, :, None]).sum(1) / m.sum(1, keepdims=True)
