"""Text pipeline: tokenizers, :class:`Vocab`, corpus statistics, language-model corpora
(The Time Machine, Jay Chou lyrics, Penn Treebank, WikiText-2) and batching.

>>> from chainrule.text import Vocab, tokenize, LMDataLoader
>>> tokens = tokenize(["the time machine", "by h g wells"], "char")
>>> vocab = Vocab(tokens)
>>> corpus = vocab.encode([t for line in tokens for t in line])
>>> X, Y = next(iter(LMDataLoader(corpus, batch_size=2, num_steps=4, seed=0)))
>>> X.shape, Y.shape
(chainrule.Size([2, 4]), chainrule.Size([2, 4]))

See docs/text.md.
"""
from chainrule.text.tokenize import (CharTokenizer, ChineseCharTokenizer, WhitespaceTokenizer,
                                     WordTokenizer, char_tokenize, chinese_char_tokenize,
                                     clean_time_machine, get_tokenizer, tokenize,
                                     whitespace_tokenize, word_tokenize)
from chainrule.text.stats import (corpus_stats, count_corpus, ngram_counts, ngrams,
                                  zipf_fit, zipf_plot)
from chainrule.text.vocab import SPECIAL_TOKENS, Vocab
from chainrule.text.sequence import (build_array, indices_to_tokens, pad_or_truncate,
                                     sequences_to_indices, truncate_pad)
from chainrule.text.batching import (LMDataLoader, batchify, detach_state, get_batch,
                                     num_batches, seq_data_iter_random,
                                     seq_data_iter_sequential)
from chainrule.text.corpora import (CORPORA, JayChouLyrics, PennTreebank, TextCorpus,
                                    TimeMachine, WikiText2, get_corpus_class, load_corpus,
                                    load_data_lm, load_tokens)
from chainrule.text.translation import FraEng  # noqa: F401  (registers the fra-eng dataset)

__all__ = ["tokenize", "get_tokenizer", "char_tokenize", "whitespace_tokenize",
           "word_tokenize", "chinese_char_tokenize", "clean_time_machine", "CharTokenizer",
           "WhitespaceTokenizer", "WordTokenizer", "ChineseCharTokenizer",
           "count_corpus", "ngrams", "ngram_counts", "corpus_stats", "zipf_fit", "zipf_plot",
           "Vocab", "SPECIAL_TOKENS", "pad_or_truncate", "truncate_pad",
           "sequences_to_indices", "build_array", "indices_to_tokens",
           "seq_data_iter_random", "seq_data_iter_sequential", "LMDataLoader", "batchify",
           "get_batch", "num_batches", "detach_state", "TextCorpus", "TimeMachine", "JayChouLyrics",
           "PennTreebank", "WikiText2", "CORPORA", "get_corpus_class", "load_corpus",
           "load_tokens", "load_data_lm", "FraEng"]
