"""Text generation from a language model: greedy, temperature, top-k and top-p
(nucleus, Holtzman et al. 2020) sampling from a prefix, stopping at ``<eos>``.

The model is called as ``logits, state = model(X, state)`` with ``X`` of shape
``(1, T)`` (the zoo's ``*-lm`` models).  Recurrent models read the prefix once and
then one token per step with the carried state; models that return no state (the
WaveNet LM) re-read the last ``context`` tokens (their receptive field) each step.

>>> import chainrule as cr
>>> from chainrule.models import get_model
>>> from chainrule.text import Vocab
>>> vocab = Vocab(list("abcab"))
>>> _ = cr.manual_seed(0)
>>> model = get_model("gru-lm", vocab_size=len(vocab), hidden_size=8)
>>> len(generate(model, vocab, ["a", "b"], 5, seed=0))  # token lists in, token lists out
7
"""
import numpy as np

from chainrule.core.grad_mode import no_grad
from chainrule.core.tensor import from_array
from chainrule import backend as B

__all__ = ["generate", "generate_ids", "filter_probs", "sample_token", "tokenize_prefix"]


def filter_probs(logits, temperature=1.0, top_k=None, top_p=None):
    """Next-token probabilities (float64 NumPy) from one row of logits after temperature,
    top-k (keep the ``k`` most likely) and top-p (keep the smallest set of most likely
    tokens whose mass reaches ``p``) filtering; renormalized."""
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    if not temperature > 0:
        raise ValueError(f"generate: temperature must be > 0, got {temperature} "
                         "(use greedy=True for arg-max decoding)")
    z = z / temperature
    probs = np.exp(z - z.max())
    probs /= probs.sum()
    if top_k is not None:
        if int(top_k) < 1:
            raise ValueError(f"generate: top_k must be >= 1, got {top_k}")
        if top_k < len(probs):
            keep = np.argpartition(-probs, int(top_k) - 1)[:int(top_k)]
            mask = np.zeros_like(probs, dtype=bool)
            mask[keep] = True
            probs = np.where(mask, probs, 0.0)
            probs /= probs.sum()
    if top_p is not None:
        if not 0 < top_p <= 1:
            raise ValueError(f"generate: top_p must be in (0, 1], got {top_p}")
        order = np.argsort(-probs, kind="stable")
        cum = np.cumsum(probs[order])
        n = int(np.searchsorted(cum, top_p - 1e-12)) + 1   # smallest prefix with mass >= p
        out = np.zeros_like(probs)
        out[order[:n]] = probs[order[:n]]
        probs = out / out.sum()
    return probs


def sample_token(logits, greedy=False, temperature=1.0, top_k=None, top_p=None, rng=None):
    """One token index drawn from ``logits`` (arg-max when ``greedy``)."""
    if greedy:
        return int(np.argmax(np.asarray(logits).reshape(-1)))
    probs = filter_probs(logits, temperature, top_k, top_p)
    rng = rng if rng is not None else np.random.default_rng()
    return int(rng.choice(len(probs), p=probs))


def tokenize_prefix(prefix, token="char"):
    """Tokens of ``prefix``: characters (``'char'``, Chinese too) or words."""
    if isinstance(prefix, (list, tuple)):
        return list(prefix)
    return list(prefix) if token == "char" else prefix.split()


def _last_logits(model, ids, state, context):
    x = ids if state is not None or context is None else ids[-context:]
    logits, state = model(from_array(np.asarray([x], dtype=np.int64)), state)
    return B.asnumpy(logits[0, -1].detach().array), state


def generate_ids(model, prefix_ids, length, greedy=False, temperature=1.0, top_k=None,
                 top_p=None, seed=None, eos=None, context=None):
    """Token ids: ``prefix_ids`` followed by up to ``length`` generated ids (fewer when
    ``eos`` is generated; the ``eos`` id is kept at the end)."""
    if getattr(model, "causal", True) is False:
        raise ValueError(f"generate: {type(model).__name__} is bidirectional (not causal) "
                         "and cannot generate left to right")
    ids = [int(i) for i in prefix_ids]
    if not ids:
        raise ValueError("generate: empty prefix (and the vocabulary has no <bos>)")
    rng = np.random.default_rng(seed)
    context = context or getattr(model, "receptive_field", None)
    was = model.training
    model.eval()
    try:
        with no_grad():
            logits, state = _last_logits(model, ids, None, context)
            for _ in range(int(length)):
                nxt = sample_token(logits, greedy, temperature, top_k, top_p, rng)
                ids.append(nxt)
                if eos is not None and nxt == eos:
                    break
                if state is not None:
                    logits, state = _last_logits(model, [nxt], state, None)
                else:
                    logits, state = _last_logits(model, ids, None, context)
    finally:
        model.train(was)
    return ids


def generate(model, vocab, prefix, length=100, greedy=False, temperature=1.0, top_k=None,
             top_p=None, seed=None, token="char", stop_at_eos=True, sep=None):
    """Continue ``prefix`` (a string, or a token list) by ``length`` tokens.

    Args:
        model: a causal LM called as ``logits, state = model(X, state)``.
        vocab: the :class:`~chainrule.text.Vocab` the model was trained with.
        greedy: arg-max decoding (ignores temperature/top_k/top_p).
        temperature: divide the logits by it (< 1 sharper, > 1 flatter).
        top_k / top_p: keep only the ``k`` most likely tokens / the nucleus of mass ``p``.
        seed: seed of the sampling generator (same seed, same text).
        token: ``'char'`` (characters, Chinese included) or ``'word'``.
        stop_at_eos: stop after generating ``<eos>`` when the vocabulary has it (the
            ``<eos>`` itself is not returned).
        sep: string joining the tokens (default ``''`` for chars, ``' '`` for words).

    Returns the prefix followed by the generated text.
    """
    tokens = tokenize_prefix(prefix, token)
    if not tokens and vocab.bos is not None:
        tokens = [vocab.idx_to_token[vocab.bos]]
    eos = vocab.eos if stop_at_eos else None
    ids = generate_ids(model, vocab.encode(tokens), length, greedy, temperature, top_k, top_p,
                       seed, eos)
    if eos is not None and ids[-1] == eos and len(ids) > len(tokens):
        ids = ids[:-1]
    out = vocab.to_tokens(ids[len(tokens):])
    out = [out] if isinstance(out, str) else list(out)
    sep = ("" if token == "char" else " ") if sep is None else sep
    return sep.join(list(tokens) + out) if not isinstance(prefix, (list, tuple)) else \
        list(tokens) + out
