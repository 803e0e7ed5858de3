"""Tokenizers, Vocab, corpus statistics and sequence helpers (no files, no network)."""
import collections
import json
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.text import (Vocab, build_array, char_tokenize, chinese_char_tokenize,
                            clean_time_machine, corpus_stats, count_corpus, get_tokenizer,
                            indices_to_tokens, ngram_counts, ngrams, pad_or_truncate,
                            sequences_to_indices, tokenize, whitespace_tokenize,
                            word_tokenize, zipf_fit, zipf_plot)


# ----------------------------------------------------------------- tokenizers
def test_char_and_whitespace_and_d2l_tokenize():
    assert char_tokenize("a b") == ["a", " ", "b"]
    assert whitespace_tokenize("  The  Time\tMachine \n") == ["The", "Time", "Machine"]
    assert whitespace_tokenize("The Time", lower=True) == ["the", "time"]
    lines = ["the time machine", "", "by h g wells"]
    assert tokenize(lines) == [["the", "time", "machine"], [], ["by", "h", "g", "wells"]]
    assert tokenize(lines, "char")[0][:4] == ["t", "h", "e", " "]
    assert tokenize("one line", "word") == ["one", "line"]
    assert tokenize(["a-b"], lambda s: s.split("-")) == [["a", "b"]]
    with pytest.raises(ValueError, match="unknown token type 'bpe'"):
        tokenize(["x"], "bpe")


def test_word_tokenizer_punctuation_and_lower():
    text = "Don't stop, Traveller! It's well-known: 3.5 ideas..."
    assert word_tokenize(text) == ["Don't", "stop", ",", "Traveller", "!", "It's",
                                   "well-known", ":", "3", ".", "5", "ideas", ".", ".", "."]
    assert word_tokenize("The END", lower=True) == ["the", "end"]
    assert get_tokenizer("words", lower=True)("A, b") == ["a", ",", "b"]
    assert repr(get_tokenizer("words", lower=True)) == "WordTokenizer(lower=True)"


def test_time_machine_cleaning_is_d2ls():
    assert clean_time_machine("The Time Machine, by H. G. Wells [1898]\n") == \
        "the time machine by h g wells"
    assert clean_time_machine("I.\n") == "i"
    assert clean_time_machine("  --  1895 --\n") == ""
    assert clean_time_machine("Filby's  face") == "filby s face"


def test_chinese_by_character():
    text = "想要有直升机 想要和你飞到宇宙去\nok 2004年"
    toks = chinese_char_tokenize(text)
    assert toks[:6] == list("想要有直升机") and toks[6] == " " and "\n" in toks
    assert "".join(toks) == text
    no_ws = chinese_char_tokenize(text, keep_whitespace=False)
    assert " " not in no_ws and "\n" not in no_ws and len(no_ws) == len(text) - 3
    grouped = chinese_char_tokenize(text, keep_whitespace=False, group_latin=True)
    assert grouped[-3:] == ["ok", "2004", "年"]
    assert tokenize(["你好 世界"], "chinese", keep_whitespace=False) == [["你", "好", "世", "界"]]


# ----------------------------------------------------------------- Vocab
LINES = [["the", "time", "machine", "the"], ["by", "the", "time", "zz"], ["by"]]


def test_vocab_order_unk_and_lookup():
    v = Vocab(LINES)
    # the:3, time:2, by:2 (time seen first), machine:1, zz:1 (machine first)
    assert v.idx_to_token == ["<unk>", "the", "time", "by", "machine", "zz"]
    assert v.token_to_idx["by"] == 3 and len(v) == 6 and v.unk == 0
    assert v["time"] == 2 and v["nope"] == 0
    assert v[["by", "nope", ("the",)]] == [3, 0, [1]]
    assert v.to_tokens(4) == "machine" and v.to_tokens([1, 2]) == ["the", "time"]
    assert v.to_tokens(np.array([[1], [3]])) == [["the"], ["by"]]
    assert v.to_tokens(cr.tensor([5, 0])) == ["zz", "<unk>"]
    assert v.token_freqs == [("the", 3), ("time", 2), ("by", 2), ("machine", 1), ("zz", 1)]
    e = v.encode(["the", "zz", "?"])
    assert e.dtype == np.int64 and e.tolist() == [1, 5, 0]
    assert v.decode(e, " ") == "the zz <unk>"
    assert "the" in v and "nope" not in v and list(v)[:2] == ["<unk>", "the"]
    with pytest.raises(IndexError, match="out of range"):
        v.to_tokens(6)
    # same tokens in another order of first occurrence -> ties go the other way
    assert Vocab([["by", "time", "the", "the", "the"], ["time", "by"]]).idx_to_token[2:4] == \
        ["by", "time"]


def test_vocab_min_freq_max_size_reserved():
    v = Vocab(LINES, min_freq=2, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    assert v.idx_to_token == ["<unk>", "<pad>", "<bos>", "<eos>", "the", "time", "by"]
    assert (v.pad, v.bos, v.eos, v.unk) == (1, 2, 3, 0)
    assert len(v.token_freqs) == 5  # dropped tokens keep their counts
    v = Vocab(LINES, max_size=4, reserved_tokens=["<pad>"])
    assert v.idx_to_token == ["<unk>", "<pad>", "the", "time"]
    assert Vocab(LINES).pad is None
    with pytest.raises(ValueError, match="max_size=1 is smaller"):
        Vocab(LINES, max_size=1, reserved_tokens=["<pad>"])
    with pytest.raises(ValueError, match="duplicate special"):
        Vocab(LINES, reserved_tokens=["<unk>"])
    empty = Vocab()
    assert empty.idx_to_token == ["<unk>"] and empty["x"] == 0


def test_vocab_specials_in_text_counter_input_and_closed_vocab():
    v = Vocab([["a", "<unk>", "<eos>"], ["b", "<eos>"]])  # PTB-like text
    assert v.idx_to_token == ["<unk>", "<eos>", "a", "b"] and v.eos == 1
    assert dict(v.token_freqs)["<unk>"] == 1
    c = Vocab(collections.Counter({"x": 5, "y": 7}))
    assert c.idx_to_token == ["<unk>", "y", "x"]
    closed = Vocab(["a", "b", "a"], unk_token=None)
    assert closed.idx_to_token == ["a", "b"] and closed.unk is None
    with pytest.raises(KeyError, match="'c' is not in the vocabulary"):
        closed["c"]
    with pytest.raises(TypeError, match="got a str"):
        Vocab("abc")
    with pytest.raises(ValueError, match="non-negative int"):
        Vocab({"a": -1})


def test_vocab_orders():
    toks = ["b", "c", "a", "c", "a", "a", "d"]
    assert Vocab(toks).idx_to_token == ["<unk>", "a", "c", "b", "d"]
    assert Vocab(toks, order="alphabetical").idx_to_token == ["<unk>", "a", "b", "c", "d"]
    assert Vocab(toks, order="first").idx_to_token == ["<unk>", "b", "c", "a", "d"]
    # max_size keeps the most frequent, in the requested order
    assert Vocab(toks, order="first", max_size=3).idx_to_token == ["<unk>", "c", "a"]
    with pytest.raises(ValueError, match="order must be"):
        Vocab(toks, order="random")


def test_vocab_save_load_round_trip(tmp_path):
    v = Vocab([list("想要有直升机"), ["<eos>", "the", "the"]], min_freq=1, max_size=6,
              reserved_tokens=["<pad>", "<eos>"], order="frequency")
    path = v.save(tmp_path / "sub" / "vocab.json")
    w = Vocab.load(path)
    assert w == v and w.idx_to_token == v.idx_to_token and w.token_freqs == v.token_freqs
    assert (w.pad, w.eos, w.unk, w.min_freq, w.max_size) == (1, 2, 0, 1, 6)
    assert w["想"] == v["想"] and w["nope"] == 0
    raw = (tmp_path / "sub" / "vocab.json").read_text(encoding="utf-8")
    assert "想" in raw and json.loads(raw)["format"] == "chainrule.text.Vocab"
    assert os.listdir(tmp_path / "sub") == ["vocab.json"]  # no temp file left
    (tmp_path / "bad.json").write_text('{"idx_to_token": []}')
    with pytest.raises(ValueError, match="not a saved Vocab"):
        Vocab.load(tmp_path / "bad.json")


def test_vocab_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "v.json"
    Vocab(["a"]).save(path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", boom)  # fail after the bytes are written
    with pytest.raises(OSError, match="disk full"):
        Vocab(["b", "c"]).save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["v.json"]


# ----------------------------------------------------------------- statistics
def test_counts_ngrams_and_stats():
    assert count_corpus(LINES)["the"] == 3 and count_corpus(["a", "a"])["a"] == 2
    assert ngrams("abcd", 3) == [("a", "b", "c"), ("b", "c", "d")]
    bi = ngram_counts([["a", "b"], ["a", "b"]], 2)  # lines are concatenated
    assert bi == collections.Counter({("a", "b"): 2, ("b", "a"): 1})
    with pytest.raises(ValueError, match="n must be >= 1"):
        ngrams("ab", 0)
    s = corpus_stats(LINES, top_k=2)
    assert (s["num_tokens"], s["num_types"], s["singletons"]) == (9, 5, 2)
    assert s["top"] == [("the", 3), ("time", 2)] and s["top_bigrams"][0] == (("the", "time"), 2)
    assert s["zipf_alpha"] is None


def test_zipf_fit_and_png(tmp_path):
    ranks = np.arange(1, 2001)
    counts = {f"w{r}": int(round(1e5 / r)) for r in ranks}  # exact Zipf, alpha = 1
    alpha, c = zipf_fit(counts, top=1000)
    assert abs(alpha - 1.0) < 0.01 and abs(c - np.log(1e5)) < 0.05
    rng = np.random.default_rng(0)
    toks = [f"w{r}" for r in rng.zipf(1.5, 20000) if r < 5000]
    s = corpus_stats(toks)
    assert s["zipf_alpha"] is not None and 0.5 < s["zipf_alpha"] < 3
    out = zipf_plot([count_corpus(toks), ngram_counts(toks, 2), ngram_counts(toks, 3)],
                    tmp_path / "plots" / "zipf.png", fit=True)
    data = open(out, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    zipf_plot(Vocab(toks), tmp_path / "one.png", labels=["vocab"])
    assert (tmp_path / "one.png").read_bytes()[:4] == b"\x89PNG"


# ----------------------------------------------------------------- sequences
def test_pad_or_truncate_and_sequence_arrays():
    assert pad_or_truncate([1, 2, 3], 5, 0) == [1, 2, 3, 0, 0]
    assert pad_or_truncate((1, 2, 3), 2, 0) == [1, 2] and pad_or_truncate([], 2, 9) == [9, 9]
    v = Vocab([["go", "."], ["hi", "."]], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    X, valid = sequences_to_indices([["go", "."], ["hi", "there", ".", "now"]], v, 4)
    assert X.dtype == cr.int64 and X.shape == (2, 4) and valid.tolist() == [3, 4]
    assert X.numpy()[0].tolist() == [v["go"], v["."], v.eos, v.pad]
    assert X.numpy()[1].tolist() == [v["hi"], v.unk, v["."], v.unk]  # truncated, no <eos>
    Xb, vb = build_array([["go"]], v, 3, add_bos=True, as_tensor=False)
    assert Xb.tolist() == [[v.bos, v["go"], v.eos]] and vb.tolist() == [3]
    assert indices_to_tokens(X, v) == [["go", "."], ["hi", "<unk>", ".", "<unk>"]]
    assert indices_to_tokens(Xb[0], v) == ["go"]
    assert indices_to_tokens(X, v, valid_len=[1, 2]) == [["go"], ["hi", "<unk>"]]
    with pytest.raises(ValueError, match="no <pad>"):
        sequences_to_indices([["go"]], Vocab(["go"]), 3)
