"""Language-model recipes: one per text corpus (The Time Machine and Jay Chou lyrics at
character level, Penn Treebank and WikiText-2 at word level).

A recipe names the corpus, its token unit and the hyper-parameters that train a good
model on it; :func:`prepare_lm_data` builds the :class:`~chainrule.text.LMDataLoader`
of each split and the vocabulary.  ``chainrule train MODEL --data CORPUS`` uses them
for every ``language_model`` model of the registry.
"""
import dataclasses

from chainrule.text.batching import LMDataLoader
from chainrule.text.corpora import get_corpus_class

__all__ = ["LMRecipe", "LMData", "LM_RECIPES", "get_lm_recipe", "is_lm_data",
           "prepare_lm_data"]

# d2l ch. 9 character models: one-hot inputs, hidden 256, 35 steps, batch 32, sequential
# partitioning, clip 1; d2l trains on the first 10,000 characters with SGD lr 1 for 500
# epochs (train perplexity ~1.05 for LSTM and GRU, docs/results.md)
_CHAR = dict(model="lstm-lm", hidden_size=256, num_layers=1, embed_size=0, dropout=0.0,
             batch_size=32, num_steps=35, optimizer="sgd", lr=1.0, clip_grad_norm=1.0,
             epochs=500, batch_mode="sequential", scheduler="none")


@dataclasses.dataclass
class LMRecipe:
    """How to train a language model on one corpus.

    Attributes:
        corpus: :func:`~chainrule.text.load_corpus` name.
        token: ``'char'`` or ``'word'``.
        defaults: model, model size and training hyper-parameters.
        max_tokens: keep the first N tokens of the training text (-1: all).
        splits: the corpus' splits besides ``train`` (validated and tested on).
    """
    corpus: str
    token: str
    defaults: dict
    max_tokens: int = -1
    splits: tuple = ()
    task: str = "language_model"
    primary: str = "ppl"
    primary_mode: str = "min"
    metrics: tuple = ("ppl",)


LM_RECIPES = {
    "timemachine": lambda: LMRecipe("timemachine", "char", dict(_CHAR), max_tokens=10000),
    # d2l-zh: the first 10,000 characters, 1,027 character types (+ <unk>); Adam
    "jaychou": lambda: LMRecipe("jaychou", "char", dict(
        _CHAR, model="gru-lm", optimizer="adam", lr=0.005, epochs=150), max_tokens=10000),
    # Zaremba et al. 2014 "small": 2x200 LSTM, SGD lr 1 halved after epoch 4, clip 5 --
    # on a loss summed over the 20 steps; on our per-token mean that is lr 20, clip 0.25
    "ptb": lambda: LMRecipe("ptb", "word", dict(
        model="deep-lstm-lm", hidden_size=200, num_layers=2, embed_size=200, dropout=0.0,
        init_range=0.1, batch_size=20, num_steps=20, optimizer="sgd", lr=20.0,
        clip_grad_norm=0.25, epochs=13, batch_mode="sequential", scheduler="zaremba"),
        splits=("valid", "test")),
    # PyTorch's word_language_model defaults (2x200 LSTM, lr 20, clip 0.25, dropout 0.2)
    "wikitext2": lambda: LMRecipe("wikitext2", "word", dict(
        model="deep-lstm-lm", hidden_size=200, num_layers=2, embed_size=200, dropout=0.2,
        init_range=0.1, batch_size=20, num_steps=35, optimizer="sgd", lr=20.0,
        clip_grad_norm=0.25, epochs=6, batch_mode="sequential", scheduler="plateau4"),
        splits=("valid", "test")),
}


def is_lm_data(name):
    """True when ``name`` is a language-model corpus with a recipe."""
    try:
        return get_corpus_class(name).name in LM_RECIPES
    except KeyError:
        return False


def get_lm_recipe(name):
    return LM_RECIPES[get_corpus_class(name).name]()


@dataclasses.dataclass
class LMData:
    """Loaders and vocabulary of one corpus (``val_loader``/``test_loader`` may be None)."""
    name: str
    recipe: LMRecipe
    vocab: object
    train_loader: object
    val_loader: object
    test_loader: object


def prepare_lm_data(name, batch_size, num_steps, mode="sequential", max_tokens=None,
                    seed=0, eval_batch_size=10):
    """Build the loaders of corpus ``name``: training batches in ``mode`` (random
    sampling or sequential partitioning), validation/test batches sequential (state
    carried) with ``eval_batch_size`` rows, all with the training vocabulary."""
    recipe = get_lm_recipe(name)
    cls = get_corpus_class(name)
    mt = recipe.max_tokens if max_tokens is None else max_tokens
    train = cls(split="train", token=recipe.token, max_tokens=mt)
    vocab = train.vocab
    loader = LMDataLoader(train.corpus, batch_size, num_steps, mode=mode, seed=seed)

    def split(s):
        if s not in recipe.splits:
            return None
        c = cls(split=s, token=recipe.token, vocab=vocab)
        return LMDataLoader(c.corpus, min(eval_batch_size, max(1, len(c.corpus) // 40)),
                            35 if num_steps < 35 else num_steps, mode="sequential",
                            shuffle_offset=False)
    return LMData(cls.name, recipe, vocab, loader, split("valid"), split("test"))
