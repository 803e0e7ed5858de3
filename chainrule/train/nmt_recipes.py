"""Translation recipes: d2l's settings for each translation model and the fra-eng data
of a run (see :mod:`chainrule.train.nmt` for the trainer and decoding).

:data:`NMT_RECIPES`: the first 600 training pairs, batch 64, 10 steps, Adam 0.005,
clipping at 1; 300 / 250 / 200 epochs (``examples/translate_fra_eng.py``).
:func:`prepare_nmt_data`: the pairs of ``fra.txt`` less the held-out test split
(:func:`~chainrule.text.translation.split_pairs`, seed 0), the first ``max_examples``
of them, d2l's vocabularies and a loader of ``((X, X_valid_len), (Y, Y_valid_len))``.
"""
import dataclasses

import numpy as np

from chainrule.data.dataset import TensorDataset
from chainrule.data.loader import DataLoader
from chainrule.text.batching import BucketBatchSampler
from chainrule.text.sequence import sequences_to_indices
from chainrule.text.translation import build_vocabs, load_pairs, split_pairs

__all__ = ["NMT_DATA", "NMT_RECIPES", "DEFAULT_NMT_MODEL", "NMTData", "is_nmt_data",
           "get_nmt_recipe", "prepare_nmt_data", "held_out_pairs", "validation_split"]

NMT_DATA = ("fra-eng",)
_D2L = dict(batch_size=64, num_steps=10, optimizer="adam", lr=0.005, clip_grad_norm=1.0,
            scheduler="none", max_examples=600, dropout=0.1, num_layers=2, val_fraction=0.0)
# d2l's models: 32 hidden units, 2 layers, dropout 0.1 (the Transformer: ffn 64, 4 heads)
NMT_RECIPES = {
    "seq2seq": dict(_D2L, epochs=300, embed_size=32, hidden_size=32),
    "seq2seq-attention": dict(_D2L, epochs=250, embed_size=32, hidden_size=32),
    "transformer": dict(_D2L, epochs=200, hidden_size=32, ffn_hidden_size=64, num_heads=4),
}
DEFAULT_NMT_MODEL = "transformer"


def is_nmt_data(name):
    """True for a translation corpus (``fra-eng``; case, ``-`` and ``_`` ignored)."""
    return isinstance(name, str) and name.lower().replace("_", "-") in NMT_DATA


def get_nmt_recipe(model):
    """d2l's settings for ``model`` (those of the Transformer for a model without its own)."""
    return dict(NMT_RECIPES.get(model, NMT_RECIPES[DEFAULT_NMT_MODEL]))


@dataclasses.dataclass
class NMTData:
    name: str
    src_vocab: object
    tgt_vocab: object
    train_loader: object
    num_pairs: int          # training pairs used
    val_loader: object = None
    test_loader: object = None
    val_pairs: list = dataclasses.field(default_factory=list)


def held_out_pairs(root=None):
    """The held-out test pairs of ``fra.txt`` (5% of the pairs with at most 10 tokens a
    side, seed 0), as ``(source tokens, target tokens)``."""
    return split_pairs(*load_pairs(root))[1]


VAL_SEED = 1  # the validation split's seed (the test split's is 0)


def validation_split(pairs, fraction, seed=VAL_SEED):
    """``(train, val)``: a seeded ``fraction`` of ``pairs`` (the training pairs, test
    split already removed) held out for validation, in corpus order; the rest trains.
    The split depends only on the pairs and ``fraction``, never on the run's seed."""
    if not fraction:
        return list(pairs), []
    rng = np.random.default_rng(seed)
    held = set(rng.permutation(len(pairs))[:int(round(fraction * len(pairs)))].tolist())
    return ([p for i, p in enumerate(pairs) if i not in held],
            [p for i, p in enumerate(pairs) if i in held])


def prepare_nmt_data(batch_size, num_steps, max_examples=600, src_vocab=None,
                     tgt_vocab=None, root=None, bucket=False, val_fraction=0.0):
    """Training batches from the first ``max_examples`` (-1: all) pairs that are not in
    the held-out test split; vocabularies built from them (d2l's ``min_freq=2``) unless
    given (a resumed run keeps its own).  ``bucket``: batches of pairs of similar length,
    each cut to its longest pair (:class:`~chainrule.text.batching.BucketBatchSampler`).
    ``val_fraction``: that part of the non-test pairs (:func:`validation_split`, taken
    before ``max_examples`` cuts the rest) is held out as ``val_loader`` (its pairs in
    ``val_pairs``), for choosing epochs and checkpoints without looking at the test
    split."""
    train, _ = split_pairs(*load_pairs(root))
    train, val = validation_split(train, val_fraction)
    if max_examples is not None and max_examples >= 0:
        train = train[:max_examples]
    if not train:
        raise RuntimeError("no training pairs in fra-eng/fra.txt (tab-separated "
                           "'english<TAB>french' lines expected)")
    source, target = [s for s, _ in train], [t for _, t in train]
    if src_vocab is None:
        src_vocab, tgt_vocab = build_vocabs(source, target)
    # shuffled by chainrule's generator: seeded by the run, restored on resume
    loader = _loader(train, src_vocab, tgt_vocab, num_steps, batch_size, bucket, True)
    val_loader = _loader(val, src_vocab, tgt_vocab, num_steps, batch_size, bucket,
                         False) if val else None
    data = NMTData("fra-eng", src_vocab, tgt_vocab, loader, len(train), val_loader)
    data.val_pairs = val
    return data


def _loader(pairs, src_vocab, tgt_vocab, num_steps, batch_size, bucket, shuffle):
    X, X_len = sequences_to_indices([s for s, _ in pairs], src_vocab, num_steps)
    Y, Y_len = sequences_to_indices([t for _, t in pairs], tgt_vocab, num_steps)
    dataset = _PairsDataset(X, X_len, Y, Y_len)
    if bucket:
        dataset.trim = True
        lengths = np.maximum(X_len.numpy(), Y_len.numpy())
        return DataLoader(dataset, batch_sampler=BucketBatchSampler(
            lengths, batch_size, shuffle=shuffle))
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)


class _PairsDataset(TensorDataset):
    """Samples ``((X, X_valid_len), (Y, Y_valid_len))``: what :class:`Seq2SeqTrainer`
    takes as ``(input, target)``."""

    def __getitem__(self, i):
        x, xl, y, yl = super().__getitem__(i)
        return (x, xl), (y, yl)

    trim = False  # cut each batch to its longest source and target

    def get_batch(self, indices):
        x, xl, y, yl = super().get_batch(indices)
        if self.trim:
            x, y = x[:, :max(int(xl.max().item()), 1)], y[:, :max(int(yl.max().item()), 1)]
        return (x, xl), (y, yl)
