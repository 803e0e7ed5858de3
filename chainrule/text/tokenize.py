"""Tokenizers: text -> list of token strings.

Four ways to cut text, each a plain function plus a small callable class (so a
configured tokenizer can be passed around and saved in a config):

* :func:`char_tokenize` -- every character is a token (spaces included), as d2l's
  ``tokenize(lines, 'char')``.
* :func:`whitespace_tokenize` -- ``str.split()``: runs of whitespace separate tokens.
  This is d2l's ``tokenize(lines, 'word')`` and the PTB / WikiText-2 convention.
* :func:`word_tokenize` -- words and punctuation marks as separate tokens
  (``"Don't stop!" -> ["Don't", "stop", "!"]``), optionally lowercased.
* :func:`chinese_char_tokenize` -- Chinese (and any CJK) text by character.

:func:`clean_time_machine` is d2l's cleaning of *The Time Machine*: every run of
non-letters becomes one space, then the line is stripped and lowercased.

>>> tokenize(["the time", "machine"], "char")[1]
['m', 'a', 'c', 'h', 'i', 'n', 'e']
>>> word_tokenize("Don't stop, Traveller!", lower=True)
["don't", 'stop', ',', 'traveller', '!']
>>> clean_time_machine("The Time Machine, by H. G. Wells [1898]")
'the time machine by h g wells'
"""
import re

__all__ = ["char_tokenize", "whitespace_tokenize", "word_tokenize", "chinese_char_tokenize",
           "clean_time_machine", "tokenize", "get_tokenizer", "CharTokenizer",
           "WhitespaceTokenizer", "WordTokenizer", "ChineseCharTokenizer", "TOKENIZERS"]

_NON_LETTERS = re.compile("[^A-Za-z]+")
# a word: letters/digits/underscore, with inner apostrophes or hyphens ("don't", "well-known");
# any other non-space character is a token of its own
_WORD = re.compile(r"\w+(?:['\u2019-]\w+)*|[^\w\s]")
_LATIN_RUN = re.compile(r"[A-Za-z0-9]+|\s|.", re.S)


def clean_time_machine(line):
    """d2l's ``read_time_machine`` cleaning: ``re.sub('[^A-Za-z]+', ' ', line).strip().lower()``."""
    return _NON_LETTERS.sub(" ", line).strip().lower()


def char_tokenize(text):
    """Every character (spaces and newlines too) is one token."""
    return list(text)


def whitespace_tokenize(text, lower=False):
    """``text.split()``: whitespace-separated tokens (PTB / WikiText-2 convention)."""
    return (text.lower() if lower else text).split()


def word_tokenize(text, lower=False):
    """Words (letters and digits, with inner apostrophes/hyphens) and single punctuation
    marks, in order; whitespace is dropped.  ``lower=True`` lowercases first."""
    return _WORD.findall(text.lower() if lower else text)


def chinese_char_tokenize(text, keep_whitespace=True, group_latin=False):
    """Chinese text by character.

    Args:
        keep_whitespace: keep spaces/newlines as tokens (d2l-zh keeps them: its
            Jay Chou corpus is the raw text with newlines turned into spaces).
        group_latin: a run of ASCII letters/digits (``"ok"``, ``"2004"``) is one
            token instead of one per character.
    """
    tokens = _LATIN_RUN.findall(text) if group_latin else list(text)
    return tokens if keep_whitespace else [t for t in tokens if not t.isspace()]


class _Tokenizer:
    fn = None

    def __init__(self, **options):
        self.options = options

    def __call__(self, text):
        return type(self).fn(text, **self.options)

    def __repr__(self):
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"


class CharTokenizer(_Tokenizer):
    """Callable form of :func:`char_tokenize`."""
    fn = staticmethod(char_tokenize)


class WhitespaceTokenizer(_Tokenizer):
    """Callable form of :func:`whitespace_tokenize` (``lower=False``)."""
    fn = staticmethod(whitespace_tokenize)

    def __init__(self, lower=False):
        super().__init__(lower=lower)


class WordTokenizer(_Tokenizer):
    """Callable form of :func:`word_tokenize` (``lower=False``)."""
    fn = staticmethod(word_tokenize)

    def __init__(self, lower=False):
        super().__init__(lower=lower)


class ChineseCharTokenizer(_Tokenizer):
    """Callable form of :func:`chinese_char_tokenize`."""
    fn = staticmethod(chinese_char_tokenize)

    def __init__(self, keep_whitespace=True, group_latin=False):
        super().__init__(keep_whitespace=keep_whitespace, group_latin=group_latin)


TOKENIZERS = {"char": CharTokenizer, "word": WhitespaceTokenizer,
              "whitespace": WhitespaceTokenizer, "words": WordTokenizer,
              "punct": WordTokenizer, "chinese": ChineseCharTokenizer}


def get_tokenizer(token="word", **options):
    """A tokenizer by name: ``'char'``, ``'word'`` / ``'whitespace'`` (``str.split``, as
    d2l), ``'words'`` / ``'punct'`` (:func:`word_tokenize`), ``'chinese'``; a callable
    is returned unchanged."""
    if callable(token):
        return token
    try:
        return TOKENIZERS[token](**options)
    except KeyError:
        raise ValueError(f"tokenize: unknown token type {token!r}; expected one of "
                         f"{', '.join(sorted(TOKENIZERS))} or a callable") from None


def tokenize(lines, token="word", **options):
    """Split each line into tokens (d2l's ``tokenize``).

    Args:
        lines: a list of strings (one string is treated as a single line and its
            token list is returned).
        token: ``'word'`` (``line.split()``, as d2l), ``'char'``, ``'whitespace'``,
            ``'words'`` (words and punctuation), ``'chinese'``, or a callable.
        options: passed to the tokenizer (e.g. ``lower=True``).

    Returns:
        one token list per line.
    """
    tok = get_tokenizer(token, **options)
    if isinstance(lines, str):
        return tok(lines)
    return [tok(line) for line in lines]
