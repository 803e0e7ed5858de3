"""Text corpora: parsers on small files in the real formats, file lookup (CHAINRULE_DATA,
cache, archives, mocked downloads), checksum and offline errors, and the real files'
statistics when ../shared/data is present.  Never touches the network."""
import hashlib
import io
import pathlib
import urllib.error
import urllib.request
import zipfile

import numpy as np
import pytest

from chainrule.data import datasets as D
from chainrule.data.download import ChecksumError
from chainrule.text import (JayChouLyrics, PennTreebank, TimeMachine, Vocab, WikiText2,
                            corpus_stats, get_corpus_class, load_corpus, load_data_lm,
                            load_tokens, ngram_counts, zipf_plot)

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "ptb").is_dir(),
                                  reason="offline data copy ../shared/data not present")


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)

    def no_network(*a, **k):
        raise AssertionError("test tried to use the network")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def _sha(data):
    return hashlib.sha256(data).hexdigest()


TIME_MACHINE = ("The Time Machine, by H. G. Wells [1898]\n\n\n\n\nI\n\n\n"
                "The Time Traveller (for so it will be convenient to speak of him)\n"
                "was expounding a recondite matter to us. His grey eyes shone.\n")
LYRICS = "想要有直升机\n想要和你飞到宇宙去\r\n想要和你融化在一起\n融化在宇宙里\n"
PTB = {"train": " aer banknote berlitz <unk> \n the n't the N years\n the <unk> dog \n",
       "valid": " the cat <unk> \n banknote\n",
       "test": " dog the \n"}
WIKI = {"train": " \n = Valkyria Chronicles III = \n \n Senjō no Valkyria 3 : <unk> Chronicles "
                 "( Japanese : 戦場のヴァルキュリア3 ) \n The game @-@ play \n",
        "valid": " \n = Homarus = \n The game \n",
        "test": " \n Robert <unk> \n"}


def _write(folder, name, data):
    folder.mkdir(parents=True, exist_ok=True)
    data = data.encode("utf-8") if isinstance(data, str) else data
    (folder / name).write_bytes(data)
    return _sha(data)


def _zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            z.writestr(name, text.encode("utf-8"))
    return buf.getvalue()


@pytest.fixture
def fixture_data(tmp_path, monkeypatch):
    """Small files in the real formats under $CHAINRULE_DATA, corpora re-pointed at
    their checksums."""
    root = tmp_path / "data"
    monkeypatch.setattr(TimeMachine, "resources", {
        "timemachine.txt": _write(root / "timemachine", "timemachine.txt", TIME_MACHINE)})
    monkeypatch.setattr(JayChouLyrics, "resources", {"jaychou_lyrics.txt.zip": _write(
        root / "jaychou_lyrics", "jaychou_lyrics.txt.zip",
        _zip({"jaychou_lyrics.txt": LYRICS}))})
    monkeypatch.setattr(PennTreebank, "resources", {
        f"ptb.{s}.txt": _write(root / "ptb", f"ptb.{s}.txt", t) for s, t in PTB.items()})
    monkeypatch.setattr(WikiText2, "resources", {
        f"wiki.{s}.tokens": _write(root / "wikitext-2", f"wiki.{s}.tokens", t)
        for s, t in WIKI.items()})
    monkeypatch.setenv("CHAINRULE_DATA", str(root))
    return root


# ----------------------------------------------------------------- parsers
def test_time_machine_parser(fixture_data):
    tm = TimeMachine()
    assert tm.lines[:3] == ["the time machine by h g wells", "", ""]
    text = "".join(tm.lines)  # d2l concatenates lines without a separator
    assert len(tm) == len(text) == len(tm.corpus) and tm.corpus.dtype == np.int64
    assert tm.vocab.to_tokens(tm.corpus[:7].tolist()) == list("the tim")
    assert tm.vocab.idx_to_token[:2] == ["<unk>", " "] and len(tm.vocab) == len(set(text)) + 1
    words = TimeMachine(token="word")
    assert words.tokens[0] == ["the", "time", "machine", "by", "h", "g", "wells"]
    assert words.vocab.idx_to_token[1] == "the" and len(words) == sum(map(len, words.tokens))
    short = TimeMachine(max_tokens=10)
    # "the time m": t, e, " ", m twice (first-seen order breaks ties), then h, i
    assert len(short) == 10 and short.vocab.idx_to_token == ["<unk>", "t", "e", " ", "m", "h",
                                                              "i"]
    with pytest.raises(ValueError, match="split must be one of"):
        TimeMachine(split="valid")
    assert "tokens=" in repr(tm) and tm[0] == tm.vocab["t"]


def test_jaychou_zip_parser(fixture_data):
    jc = JayChouLyrics()
    text = LYRICS.replace("\n", " ").replace("\r", " ")
    assert jc.lines == [text] and len(jc) == len(text)
    assert jc.vocab.to_tokens(jc.corpus[:6].tolist()) == list("想要有直升机")
    assert len(jc.vocab) == len(set(text)) + 1
    c, v = load_corpus("jaychou", max_tokens=10, unk_token=None)
    assert len(c) == 10 and len(v) == len(set(text[:10]))  # vocab of the kept chars (d2l-zh)
    with pytest.raises(ValueError, match="token must be one of"):
        JayChouLyrics(token="word")


def test_ptb_parser_eos_and_train_vocab(fixture_data):
    tr = PennTreebank()
    assert tr.tokens[0] == ["aer", "banknote", "berlitz", "<unk>", "<eos>"]
    assert len(tr) == (4 + 1) + (5 + 1) + (3 + 1)  # words + one <eos> per line
    assert tr.vocab.idx_to_token[:3] == ["<unk>", "<eos>", "the"]  # 3 each: <eos> seen first
    assert len(tr.vocab) == len({t for line in tr.tokens for t in line})  # <unk> not doubled
    va = PennTreebank(split="valid")
    assert va.vocab == tr.vocab  # the fixed training vocabulary
    assert va.vocab.to_tokens(va.corpus.tolist()) == ["the", "<unk>", "<unk>", "<eos>",
                                                      "banknote", "<eos>"]  # cat -> <unk>
    te = PennTreebank(split="test", vocab=tr.vocab)
    assert te.corpus.tolist() == tr.vocab[["dog", "the", "<eos>"]]
    c, v = load_corpus("ptb", split="train", max_tokens=4)
    assert c.tolist() == tr.corpus[:4].tolist() and v == tr.vocab
    assert load_tokens("penn_treebank", split="test") == [["dog", "the", "<eos>"]]
    with pytest.raises(ValueError, match="would be ignored"):
        PennTreebank(vocab=tr.vocab, min_freq=2)


def test_wikitext_parser(fixture_data):
    tr = WikiText2()
    assert tr.tokens[0] == ["<eos>"]  # " \n" lines count, as PyTorch's Corpus
    assert tr.tokens[1] == ["=", "Valkyria", "Chronicles", "III", "=", "<eos>"]
    assert "戦場のヴァルキュリア3" in tr.vocab and "@-@" in tr.vocab
    assert len(tr) == sum(len(line.split()) + 1 for line in WIKI["train"].split("\n")[:-1])
    c, v = load_corpus("wikitext-2", split="valid")
    assert v == tr.vocab and v.to_tokens(c[:2].tolist()) == ["<eos>", "="]
    assert v.to_tokens(int(c[2])) == "<unk>"  # Homarus is not in the train vocabulary


def test_registry_and_load_data_lm(fixture_data):
    assert set(D.list_datasets()) >= {"timemachine", "jaychou", "ptb", "wikitext2"}
    assert D.dataset_info("ptb")["files"] == ("ptb/ptb.train.txt", "ptb/ptb.valid.txt",
                                              "ptb/ptb.test.txt")
    assert all(D.is_available(n) for n in ("timemachine", "jaychou", "ptb", "wikitext2"))
    assert isinstance(D.get_dataset("timemachine", token="word"), TimeMachine)
    loader, vocab = load_data_lm("timemachine", batch_size=2, num_steps=5, seed=0)
    X, Y = next(iter(loader))
    assert X.shape == (2, 5) and (X.numpy()[:, 1:] == Y.numpy()[:, :-1]).all()
    seq = PennTreebank().loader(2, 3, mode="sequential", seed=0)
    assert seq.carries_state and len(list(seq)) == len(seq)
    assert get_corpus_class("time_machine") is TimeMachine
    with pytest.raises(KeyError, match="unknown text corpus 'imdb'"):
        load_corpus("imdb")


# ----------------------------------------------------------------- files and errors
def test_checksum_failure(fixture_data, monkeypatch):
    (fixture_data / "ptb" / "ptb.valid.txt").write_text(" tampered \n")
    with pytest.raises(ChecksumError, match=r"ptb.valid.txt.*expected sha256"):
        PennTreebank(split="valid")
    monkeypatch.setitem(TimeMachine.resources, "timemachine.txt", "0" * 64)
    with pytest.raises(ChecksumError, match=f"timemachine.txt.*expected sha256 {'0' * 64}"):
        TimeMachine()


def test_offline_and_absent_errors(monkeypatch):
    def offline(req, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(RuntimeError) as ei:
        TimeMachine()
    msg = str(ei.value)
    assert "timemachine.txt" in msg and "d2l-data.s3-accelerate.amazonaws.com" in msg
    assert "CHAINRULE_DATA" in msg
    with pytest.raises(RuntimeError) as ei:  # the txt URL and the archive both fail
        PennTreebank()
    msg = str(ei.value)
    assert "ptb.train.txt" in msg and "wojzaremba" in msg and "ptb.zip" in msg
    assert "CHAINRULE_DATA" in msg
    with pytest.raises(RuntimeError, match=r"jaychou_lyrics.txt.zip.*download=False"):
        JayChouLyrics(download=False)
    assert not D.is_available("ptb") and not D.is_available("wikitext2")


def test_ptb_from_local_archive_is_extracted_to_cache(tmp_path, monkeypatch):
    members = {f"ptb/ptb.{s}.txt": t for s, t in PTB.items()}
    data = _zip(members)
    monkeypatch.setattr(PennTreebank, "archive", ("ptb.zip", _sha(data), ["http://x.invalid"]))
    monkeypatch.setattr(PennTreebank, "resources", {
        f"ptb.{s}.txt": _sha(t.encode()) for s, t in PTB.items()})
    _write(tmp_path / "data" / "ptb", "ptb.zip", data)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    assert PennTreebank.available()
    tr = PennTreebank()
    assert tr.tokens[0][-1] == "<eos>" and len(tr.vocab) > 5
    cached = tmp_path / "cache" / "ptb"
    assert sorted(p.name for p in cached.iterdir()) == ["ptb.train.txt"]  # valid not needed
    assert (cached / "ptb.train.txt").read_text() == PTB["train"]
    # a member with the wrong checksum is rejected and nothing is left behind
    monkeypatch.setitem(PennTreebank.resources, "ptb.test.txt", "f" * 64)
    with pytest.raises(ChecksumError, match="ptb.test.txt extracted from"):
        PennTreebank(split="test", vocab=tr.vocab)
    assert sorted(p.name for p in cached.iterdir()) == ["ptb.train.txt"]


class _Resp(io.BytesIO):
    pass


def test_downloads_file_then_archive_fallback(monkeypatch):
    calls = []
    wiki_files = {f"wiki.{s}.tokens": t.encode() for s, t in WIKI.items()}
    monkeypatch.setattr(WikiText2, "resources", {f: _sha(b) for f, b in wiki_files.items()})
    archive = _zip({f"wikitext-2/{f}": b.decode() for f, b in wiki_files.items()})

    def serve(req, timeout=None):
        url = req.full_url
        calls.append(url)
        if url.endswith("/train.txt"):
            return _Resp(wiki_files["wiki.train.tokens"])
        if url.endswith("wikitext-2-v1.zip") and "smerity" in url:
            return _Resp(archive)
        raise urllib.error.URLError("unreachable")
    monkeypatch.setattr(urllib.request, "urlopen", serve)
    tr = WikiText2()
    assert calls == ["https://raw.githubusercontent.com/pytorch/examples/main/"
                     "word_language_model/data/wikitext-2/train.txt"]
    te = WikiText2(split="test", vocab=tr.vocab)  # test.txt fails -> official archive
    assert calls[1].endswith("/test.txt") and "smerity" in calls[2]
    assert te.tokens == [["<eos>"], ["Robert", "<unk>", "<eos>"]]
    WikiText2(split="test", vocab=tr.vocab)
    assert len(calls) == 3  # now served from the cache


# ----------------------------------------------------------------- the real files
@pytest.fixture(scope="module")
def real():
    with pytest.MonkeyPatch.context() as mp:  # loaded once for the module
        mp.setenv("CHAINRULE_DATA", str(SHARED))
        mp.setattr(urllib.request, "urlopen", None)
        return {"tm": TimeMachine(download=False), "ptb": PennTreebank(download=False),
                "wiki": WikiText2(download=False)}


@needs_shared
def test_real_time_machine(real, tmp_path):
    tm = real["tm"]
    assert len(tm.corpus) == 170_580 and len(tm.vocab) == 28
    assert tm.vocab.idx_to_token[:5] == ["<unk>", " ", "e", "t", "a"]
    assert len(tm.lines) == 3221
    words = [line.split() for line in tm.lines]
    stats = corpus_stats(words)
    assert stats["num_tokens"] == 32_775 and stats["num_types"] == 4_579  # d2l: 4580 w/ <unk>
    assert stats["top"][0] == ("the", 2261) and 0.6 < stats["zipf_alpha"] < 1.3
    out = zipf_plot([Vocab(words), ngram_counts(words, 2), ngram_counts(words, 3)],
                    tmp_path / "zipf.png")
    assert open(out, "rb").read(4) == b"\x89PNG"


@needs_shared
def test_real_ptb(real, monkeypatch):
    tr = real["ptb"]
    assert len(tr.corpus) == 929_589 and len(tr.vocab) == 10_000
    assert len(tr.lines) == 42_068 and tr.vocab.token_freqs[0][0] == "the"
    assert dict(tr.vocab.token_freqs)["<unk>"] == 45_020  # in the text, not added
    assert tr.vocab["<unk>"] == 0 and tr.vocab.eos is not None
    monkeypatch.setenv("CHAINRULE_DATA", str(SHARED))
    va = PennTreebank(split="valid", vocab=tr.vocab, download=False)
    assert len(va.corpus) == 73_760 and int((va.corpus == 0).sum()) > 0


@needs_shared
def test_real_wikitext2(real):
    tr = real["wiki"]
    assert len(tr.corpus) == 2_088_628 and len(tr.vocab) == 33_278
    assert len(tr.lines) == 36_718 and dict(tr.vocab.token_freqs)["<unk>"] == 54_625


@needs_shared
def test_real_jaychou(monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(SHARED))
    full = JayChouLyrics(download=False)
    assert len(full.corpus) == 63_282
    corpus, vocab = load_corpus("jaychou", max_tokens=10_000, unk_token=None, download=False)
    assert len(corpus) == 10_000 and len(vocab) == 1_027
    assert vocab.to_tokens(corpus[:6].tolist()) == list("想要有直升机")
