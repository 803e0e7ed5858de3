"""Trained word vectors: nearest neighbours, analogies, word-similarity correlation and
the word2vec text/binary file formats (what gensim's ``KeyedVectors`` reads and writes).

* :meth:`WordVectors.most_similar` - cosine nearest neighbours.
* :meth:`WordVectors.analogy` - ``a : b :: c : ?`` by 3CosAdd (``cos(x, b) - cos(x, a) +
  cos(x, c)``, Mikolov et al.) or 3CosMul (Levy & Goldberg 2014, cosines shifted to
  ``[0, 1]``, ``eps = 1e-6`` as gensim).
* :meth:`WordVectors.evaluate_analogies` - the Google analogy set
  (``questions-words.txt``) the way gensim's ``evaluate_word_analogies`` scores it:
  the ``restrict_vocab`` most frequent words, case-insensitive, questions with a word
  outside them skipped (reported as coverage), the question words excluded.
* :meth:`WordVectors.evaluate_word_pairs` - Spearman (and Pearson) correlation with
  human scores on WordSim-353, pairs with unknown words skipped (reported).
* :meth:`WordVectors.save_word2vec_format` / :meth:`WordVectors.load_word2vec_format`.
"""
import os

import numpy as np

__all__ = ["WordVectors", "SubwordVectors", "spearman", "rankdata"]


def rankdata(x):
    """Ranks 1..n with ties given their average rank (scipy's ``rankdata``)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.flatnonzero(np.concatenate(([True], xs[1:] != xs[:-1])))
    ends = np.concatenate((starts[1:], [x.size]))
    avg = (starts + ends + 1) / 2.0           # average of 1-based ranks start+1..end
    ranks = np.empty(x.size)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def _pearson(a, b):
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def spearman(a, b):
    """Spearman's rank correlation of two sequences (ties averaged)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(f"spearman: need two 1-D sequences of equal length >= 2, got "
                         f"{a.shape} and {b.shape}")
    return _pearson(rankdata(a), rankdata(b))


class WordVectors:
    """Words and their vectors (row ``i`` of ``vectors`` is ``words[i]``; words are
    expected most frequent first, as every trainer here and word2vec files order them).
    """

    def __init__(self, words, vectors):
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(f"WordVectors: vectors must be (len(words), dim) = "
                             f"({len(words)}, d), got {vectors.shape}")
        self.words = list(words)
        self.vectors = vectors
        self.key_to_index = {w: i for i, w in enumerate(self.words)}
        if len(self.key_to_index) != len(self.words):
            raise ValueError("WordVectors: duplicate words")
        self._unit = None

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.key_to_index

    def __getitem__(self, word):
        return self.vectors[self.index(word)]

    def __repr__(self):
        return f"WordVectors({len(self)} words, dim {self.vectors.shape[1]})"

    def index(self, word):
        try:
            return self.key_to_index[word]
        except KeyError:
            raise KeyError(f"WordVectors: word {word!r} not in vocabulary") from None

    @property
    def unit(self):
        """Rows scaled to unit length (float32; zero rows stay zero)."""
        if self._unit is None:
            v = self.vectors.astype(np.float32)
            n = np.linalg.norm(v, axis=1, keepdims=True)
            self._unit = v / np.where(n > 0, n, 1)
        return self._unit

    def similarity(self, w1, w2):
        return float(self.unit[self.index(w1)] @ self.unit[self.index(w2)])

    def _top(self, scores, exclude, topn):
        scores = scores.copy()
        scores[list(exclude)] = -np.inf
        k = min(topn, scores.size - len(exclude))
        idx = np.argpartition(-scores, k - 1)[:k] if k > 0 else np.zeros(0, int)
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        return [(self.words[i], float(scores[i])) for i in idx]

    def most_similar(self, word=None, topn=10, vector=None):
        """The ``topn`` words of highest cosine similarity to ``word`` (excluded from the
        answer) or to ``vector``: a list of ``(word, cosine)``."""
        if vector is None:
            i = self.index(word)
            q, exclude = self.unit[i], {i}
        else:
            q = np.asarray(vector, np.float32)
            q = q / max(float(np.linalg.norm(q)), 1e-12)
            exclude = set()
        return self._top(self.unit @ q, exclude, topn)

    def analogy(self, a, b, c, topn=1, method="3cosadd"):
        """``a : b :: c : ?`` (``man : king :: woman : queen``); a list of
        ``(word, score)`` without ``a``, ``b``, ``c``."""
        ia, ib, ic = self.index(a), self.index(b), self.index(c)
        scores = self._analogy_scores(self.unit, self.unit[[ia]], self.unit[[ib]],
                                      self.unit[[ic]], method)[0]
        return self._top(scores, {ia, ib, ic}, topn)

    @staticmethod
    def _analogy_scores(unit, a, b, c, method):
        if method == "3cosadd":
            q = b - a + c
            q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
            return q @ unit.T
        if method == "3cosmul":
            ca, cb, cc = ((x @ unit.T + 1) / 2 for x in (a, b, c))
            return cb * cc / (ca + 1e-6)
        raise ValueError(f"analogy: method must be '3cosadd' or '3cosmul', got {method!r}")

    # ------------------------------------------------------------- evaluation
    def evaluate_analogies(self, path, restrict_vocab=300000, method="3cosadd",
                           case_insensitive=True, batch=512):
        """Accuracy on an analogy file (``: section`` lines, then ``a b c d``).

        Returns ``{"accuracy", "correct", "total" (questions answered), "questions"
        (in the file), "coverage" (= total / questions), "sections": {name: (correct,
        total)}, "method"}``; ``accuracy`` is over the answered questions, as gensim's.
        """
        n = min(restrict_vocab, len(self))
        unit = self.unit[:n]
        lookup = {}
        for i, w in enumerate(self.words[:n]):  # first (most frequent) spelling wins
            lookup.setdefault(w.upper() if case_insensitive else w, i)
        sections, cur, quads, secs, questions = {}, None, [], [], 0
        with open(path, encoding="utf8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                if line.startswith(":"):
                    cur = line[1:].strip()
                    sections.setdefault(cur, [0, 0])
                    continue
                parts = line.upper().split() if case_insensitive else line.split()
                if len(parts) != 4:
                    raise ValueError(f"evaluate_analogies: {path}: bad line {line!r}")
                questions += 1
                ids = [lookup.get(p) for p in parts]
                if None in ids:
                    continue
                quads.append(ids)
                secs.append(cur)
        q = np.array(quads, dtype=np.int64).reshape(-1, 4)
        correct = np.zeros(len(q), bool)
        for s in range(0, len(q), batch):
            blk = q[s:s + batch]
            scores = self._analogy_scores(unit, unit[blk[:, 0]], unit[blk[:, 1]],
                                          unit[blk[:, 2]], method)
            r = np.arange(len(blk))
            for k in range(3):
                scores[r, blk[:, k]] = -np.inf
            correct[s:s + batch] = scores.argmax(1) == blk[:, 3]
        for sec, ok in zip(secs, correct):
            sections[sec][0] += int(ok)
            sections[sec][1] += 1
        total = len(q)
        return {"accuracy": float(correct.mean()) if total else 0.0,
                "correct": int(correct.sum()), "total": total, "questions": questions,
                "coverage": total / questions if questions else 0.0, "method": method,
                "sections": {k: tuple(v) for k, v in sections.items()}}

    def evaluate_word_pairs(self, path, case_insensitive=True, delimiter="\t"):
        """Correlation with human similarity scores (``w1<TAB>w2<TAB>score`` lines,
        ``#`` comments; a header line whose score is not a number is skipped).
        Returns ``{"spearman", "pearson", "pairs" (used), "oov" (skipped pairs),
        "oov_ratio"}``."""
        lookup = {}
        for i, w in enumerate(self.words):
            lookup.setdefault(w.lower() if case_insensitive else w, i)
        sims, gold, oov = [], [], 0
        with open(path, encoding="utf8") as f:
            for line in f:
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.rstrip("\r\n").split(delimiter)
                if len(parts) < 3:
                    raise ValueError(f"evaluate_word_pairs: {path}: bad line {line!r}")
                try:
                    score = float(parts[2])
                except ValueError:
                    continue  # a header
                a, b = (p.lower() if case_insensitive else p for p in parts[:2])
                if a not in lookup or b not in lookup:
                    oov += 1
                    continue
                sims.append(float(self.unit[lookup[a]] @ self.unit[lookup[b]]))
                gold.append(score)
        n = len(gold)
        if n < 2:
            raise ValueError(f"evaluate_word_pairs: fewer than 2 pairs of {path} are in "
                             f"the vocabulary")
        return {"spearman": spearman(sims, gold), "pearson": _pearson(np.array(sims),
                                                                      np.array(gold)),
                "pairs": n, "oov": oov, "oov_ratio": oov / (n + oov)}

    # --------------------------------------------------------------------- IO
    def save_word2vec_format(self, path, binary=False):
        """Write the word2vec text (``V d`` header, ``word x1 ... xd`` lines) or binary
        (header, then ``word `` + d little-endian float32 + ``\\n``) format."""
        v = self.vectors.astype(np.float32)
        with open(path, "wb") as f:
            f.write(f"{len(self)} {v.shape[1]}\n".encode("utf8"))
            for w, row in zip(self.words, v):
                if not w or any(ch.isspace() for ch in w):
                    raise ValueError(f"save_word2vec_format: word {w!r} is empty or has "
                                     f"whitespace")
                if binary:
                    f.write(w.encode("utf8") + b" " + row.astype("<f4").tobytes() + b"\n")
                else:
                    f.write((w + " " + " ".join(repr(float(x)) for x in row)
                             + "\n").encode("utf8"))

    @classmethod
    def load_word2vec_format(cls, path, binary=None, limit=None):
        """Read a word2vec text or binary file (``binary=None``: guessed from the
        first record).  ``limit`` keeps the first ``limit`` words."""
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            header = f.readline().split()
            if len(header) != 2:
                raise ValueError(f"load_word2vec_format: {path}: expected a 'count dim' "
                                 f"header, got {header!r}")
            n, d = int(header[0]), int(header[1])
            if limit is not None:
                n = min(n, limit)
            start = f.tell()
            if binary is None:
                binary = _looks_binary(f.read(min(size - start, 64 + 4 * d)), d)
                f.seek(start)
            words, vecs = [], np.zeros((n, d), np.float32)
            for i in range(n):
                if binary:
                    w = bytearray()
                    while True:
                        ch = f.read(1)
                        if not ch:
                            raise ValueError(f"load_word2vec_format: {path}: ends after "
                                             f"{i} of {n} vectors")
                        if ch == b" ":
                            break
                        if ch != b"\n":
                            w += ch
                    raw = f.read(4 * d)
                    if len(raw) != 4 * d:
                        raise ValueError(f"load_word2vec_format: {path}: truncated vector "
                                         f"{i}")
                    vecs[i] = np.frombuffer(raw, "<f4")
                    words.append(w.decode("utf8"))
                else:
                    parts = f.readline().decode("utf8").rstrip().split(" ")
                    if len(parts) != d + 1:
                        raise ValueError(f"load_word2vec_format: {path}: line {i + 2} has "
                                         f"{len(parts) - 1} numbers, expected {d}")
                    words.append(parts[0])
                    vecs[i] = np.array(parts[1:], np.float32)
        return cls(words, vecs)


def _looks_binary(head, d):
    """Text records are ``word`` then ``d`` printable numbers."""
    try:
        line = head.split(b"\n")[0].decode("ascii")
    except UnicodeDecodeError:
        return True
    parts = line.split(" ")
    if len(parts) < 2:
        return True
    try:
        [float(x) for x in parts[1:-1]]
    except ValueError:
        return True
    return False


class SubwordVectors(WordVectors):
    """fastText vectors: the known words' vectors plus the n-gram bucket table, so
    :meth:`vector` (and ``most_similar(word)``) works for any word, seen or not: the
    mean of the word's own row (when known) and its n-gram buckets' rows.
    Saving writes the known words only (the word2vec formats have no n-grams)."""

    def __init__(self, words, vectors, word_rows, ngram_rows, bucket, minn=3, maxn=6):
        super().__init__(words, vectors)
        self.word_rows, self.ngram_rows = word_rows, ngram_rows
        self.bucket, self.minn, self.maxn = bucket, minn, maxn

    def vector(self, word):
        from chainrule.text.word2vec import ngram_buckets
        rows = [self.ngram_rows[b] for b in ngram_buckets(word, self.bucket, self.minn,
                                                          self.maxn)]
        if word in self.key_to_index:
            rows.append(self.word_rows[self.key_to_index[word]])
        if not rows:
            raise KeyError(f"SubwordVectors: {word!r} has no known row and no n-grams")
        return np.mean(rows, axis=0)

    def most_similar(self, word=None, topn=10, vector=None):
        if vector is None and word not in self.key_to_index:
            return super().most_similar(topn=topn, vector=self.vector(word))
        return super().most_similar(word, topn, vector)
