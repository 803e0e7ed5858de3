"""Op table: loss functions (``chainrule.nn.functional`` vs ``torch.nn.functional``).

Each entry's samples cover the three reductions (and 'batchmean' for kl_div);
targets that torch does not differentiate, and class weights, are ``nograd``
or integer arrays.  Samples of losses with kinks (|d|, hinges, max) are drawn
away from them so that finite differences are meaningful.
"""
import warnings

import numpy as np

import chainrule.nn.functional as CF
from chainrule.testing.opinfo import OpInfo, Sample, nograd

RED = ("none", "mean", "sum")


def _quiet(fn):
    """``fn`` with its (expected) UserWarnings silenced."""
    def call(*a, **k):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(*a, **k)
    return call


def _loss(variant, name, draw, kwargs=None, reductions=RED, quiet=False, **kw):
    """One entry: ``draw(rng) -> args`` is called once per reduction; ``quiet``
    silences the warnings torch and chainrule both give for that variant."""
    kwargs = kwargs or {}
    crf = getattr(CF, name)

    def gen(rng):
        out = []
        for r in reductions:
            args = draw(rng)
            kws = {k: (v(rng) if callable(v) else v) for k, v in kwargs.items()}
            out.append(Sample(args, dict(kws, reduction=r), f"reduction={r}"))
        return out
    op = lambda *a, _f=crf, **k: _f(*a, **k)  # noqa: E731
    ref = lambda t, *a, _n=name, **k: getattr(t.nn.functional, _n)(*a, **k)  # noqa: E731
    if quiet:
        op, ref = _quiet(op), _quiet(ref)
    return OpInfo(variant, op, ref, gen, **kw)


def _until(rng, draw, ok, tries=200):
    """Redraw until ``ok(args)``: keeps samples away from kinks."""
    for _ in range(tries):
        args = draw(rng)
        if ok(args):
            return args
    raise RuntimeError("could not draw a sample away from the kinks")


def _away(v, points, gap=1e-2):
    v = np.asarray(v)
    return all(np.all(np.abs(v - p) > gap) for p in points)


def _arr(x):
    return x.array if isinstance(x, nograd) else x


# ---------------------------------------------------------------- draws
def _reg(shape=(3, 4), tshape=None, kinks=(0.0,)):
    """(input, target) for pointwise regression losses, |input - target| off ``kinks``."""
    def draw(rng):
        return _until(rng, lambda r: (r.standard_normal(shape), r.standard_normal(tshape or shape)),
                      lambda a: _away(np.abs(a[0] - a[1]), kinks))
    return draw


def _probs(shape=(3, 4)):
    return lambda rng: (rng.uniform(0.05, 0.95, shape), rng.uniform(0.0, 1.0, shape))


def _logits_t(shape=(3, 4), target_grad=True):
    def draw(rng):
        t = rng.uniform(0.0, 1.0, shape)
        return rng.uniform(-4, 4, shape), (t if target_grad else nograd(t))
    return draw


def _class(shape=(4, 5), ignore=False, ncls=None):
    """Logits of ``shape`` with classes along dim 1 (dim 0 for 1-D) and int targets."""
    def draw(rng):
        x = rng.standard_normal(shape) * 2
        c = ncls or shape[0 if len(shape) == 1 else 1]
        tshape = () if len(shape) == 1 else shape[:1] + shape[2:]
        t = rng.integers(0, c, tshape)
        if ignore and t.size > 1:
            t.reshape(-1)[1] = -100 if ignore is True else ignore
        return x, t
    return draw


def _prob_target(shape=(4, 5), target_grad=False):
    def draw(rng):
        x = rng.standard_normal(shape) * 2
        d = 0 if len(shape) == 1 else 1
        e = np.exp(rng.standard_normal(shape))
        t = e / e.sum(axis=d, keepdims=True)
        return x, (t if target_grad else nograd(t))
    return draw


def _logp(shape=(4, 5)):
    def draw(rng):
        z = rng.standard_normal(shape)
        return z - np.log(np.exp(z).sum(-1, keepdims=True))
    return draw


def _kl(log_target, target_grad=True):
    def draw(rng):
        x, t = _logp()(rng), np.exp(_logp()(rng))
        t = np.log(t) if log_target else t
        return x, (t if target_grad else nograd(t))
    return draw


def _signs(rng, n):
    return np.where(rng.uniform(size=n) > 0.5, 1.0, -1.0)


def _ranking(rng):
    def draw(r):
        return r.standard_normal(5), r.standard_normal(5), nograd(_signs(r, 5))
    return _until(rng, draw, lambda a: _away(-a[2].array * (a[0] - a[1]) + 0.2, [0.0]))


def _pdist(a, b, p, eps=1e-6):
    return (np.abs(a - b + eps) ** p).sum(-1) ** (1.0 / p)


def _triplet(shape=(4, 3), p=2, margin=1.0, swap=False):
    def ok(args):
        a, pos, neg = args
        dn = _pdist(a, neg, p)
        if swap:
            ds = _pdist(pos, neg, p)
            if not _away(dn - ds, [0.0], 0.05):
                return False
            dn = np.minimum(dn, ds)
        return _away(_pdist(a, pos, p) - dn + margin, [0.0], 0.05)
    return lambda rng: _until(rng, lambda r: tuple(r.standard_normal((3,) + shape)), ok)


def _cosine(shape=(4, 3), margin=0.1):
    def draw(r):
        return r.standard_normal(shape), r.standard_normal(shape), nograd(_signs(r, shape[:-1]))

    def ok(args):
        a, b, _ = args
        cos = (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
        return _away(cos - margin, [0.0], 0.02)
    return lambda rng: _until(rng, draw, ok)


def _hinge(rng):
    return _until(rng, lambda r: (r.standard_normal(6) * 2, nograd(_signs(r, 6))),
                  lambda a: _away(a[0], [1.0], 0.02))


def _multi_margin(margin=1.0):
    def ok(args):
        x, t = args
        xy = np.take_along_axis(x, t[:, None], 1)
        return _away(margin - xy + x, [0.0], 0.02)
    return lambda rng: _until(rng, lambda r: (r.standard_normal((4, 5)),
                                              r.integers(0, 5, 4)), ok)


def _multilabel(rng, n=3, C=5):
    """Scores kept off the hinges, and target rows: classes, then -1, then junk."""
    def ok(args):
        x, t = args
        return _away(x[..., :, None] - x[..., None, :], [1.0, -1.0], 0.03)
    def draw(r):
        t = np.stack([np.concatenate([r.permutation(C)[:k], [-1], r.integers(0, C, C)])[:C]
                      for k in r.integers(0, C, n)])
        return r.standard_normal((n, C)), t
    x, t = _until(rng, draw, ok)
    return (x[0], t[0]) if n == 1 else (x, t)


def _cosine_distance(a, b):
    """``1 - cosine_similarity`` in whichever library ``a`` belongs to."""
    mod = type(a).__module__.split(".")[0]
    F = __import__(mod).nn.functional
    return 1 - F.cosine_similarity(a, b)


def _ctc_row(variant, targets, input_lengths, target_lengths, T=6, C=5, **kw):
    """ctc_loss of log_softmax(x): torch's gradient for log_probs assumes they came from
    log_softmax (see chainrule/functional/loss_ctc.py), so rows compare through it."""
    N = len(input_lengths)

    def gen(rng):
        return [Sample((rng.standard_normal((T, N, C)), np.asarray(targets)),
                       dict(kw, reduction=r), f"reduction={r}") for r in RED]

    def op(x, tg, **k):
        return CF.ctc_loss(CF.log_softmax(x, 2), tg, input_lengths, target_lengths, **k)

    def ref(t, x, tg, **k):
        return t.nn.functional.ctc_loss(t.nn.functional.log_softmax(x, 2), tg,
                                        input_lengths, target_lengths, **k)
    return OpInfo(variant, op, ref, gen, gradgrad=False,
                  note="the second derivative of ctc_loss is not implemented (torch's neither)")


def _gauss(var_shape, shape=(3, 4)):
    return lambda rng: (rng.standard_normal(shape), rng.standard_normal(shape),
                        rng.uniform(0.2, 2.0, var_shape))


def _poisson(log_input):
    def draw(rng):
        x = rng.standard_normal((3, 4)) if log_input else rng.uniform(0.2, 3.0, (3, 4))
        t = rng.uniform(0.0, 4.0, (3, 4))
        t = np.where(np.abs(t - 1) < 0.05, 1.5, t)  # Stirling term switches on at 1
        return x, t
    return draw


def _w(n, lo=0.2, hi=2.0):
    return lambda rng: rng.uniform(lo, hi, n)


OPS = [
    # regression
    _loss("mse_loss", "mse_loss", _reg()),
    _loss("mse_loss_weight", "mse_loss", _reg(), {"weight": _w((3, 4))}),
    _loss("mse_loss_broadcast", "mse_loss", _reg((3, 4), (4,)), quiet=True),
    _loss("l1_loss", "l1_loss", _reg()),
    _loss("l1_loss_weight", "l1_loss", _reg(), {"weight": _w((3, 4))}),
    _loss("smooth_l1_loss", "smooth_l1_loss", _reg(kinks=(0.0, 1.0))),
    _loss("smooth_l1_loss_beta", "smooth_l1_loss", _reg(kinks=(0.0, 0.5)), {"beta": 0.5}),
    _loss("smooth_l1_loss_beta0", "smooth_l1_loss", _reg(), {"beta": 0.0}),
    _loss("huber_loss", "huber_loss", _reg(kinks=(0.0, 1.0))),
    _loss("huber_loss_delta", "huber_loss", _reg(kinks=(0.0, 0.7)), {"delta": 0.7}),
    _loss("huber_loss_weight", "huber_loss", _reg(kinks=(0.0, 1.0)), {"weight": _w((3, 4))}),
    # binary
    _loss("binary_cross_entropy", "binary_cross_entropy", _probs()),
    _loss("binary_cross_entropy_weight", "binary_cross_entropy", _probs(), {"weight": _w(4)}),
    _loss("bce_with_logits", "binary_cross_entropy_with_logits", _logits_t()),
    _loss("bce_with_logits_weight", "binary_cross_entropy_with_logits",
          _logits_t(target_grad=False), {"weight": _w((3, 4))}),
    _loss("bce_with_logits_pos_weight", "binary_cross_entropy_with_logits", _logits_t(),
          {"pos_weight": _w(4, 0.5, 3.0)}),
    _loss("bce_with_logits_both_weights", "binary_cross_entropy_with_logits",
          _logits_t((2, 3, 4)), {"pos_weight": _w(4, 0.5, 3.0), "weight": _w(4)}),
    # class targets
    _loss("cross_entropy", "cross_entropy", _class()),
    _loss("cross_entropy_weight", "cross_entropy", _class(), {"weight": _w(5)}),
    _loss("cross_entropy_ignore_index", "cross_entropy", _class(ignore=True)),
    _loss("cross_entropy_ignore_index_3", "cross_entropy", _class(ignore=3),
          {"ignore_index": 3, "weight": _w(5)}),
    _loss("cross_entropy_smoothing", "cross_entropy", _class(), {"label_smoothing": 0.2}),
    _loss("cross_entropy_smoothing_weight_ignore", "cross_entropy", _class(ignore=True),
          {"label_smoothing": 0.3, "weight": _w(5)}),
    _loss("cross_entropy_nd", "cross_entropy", _class((2, 4, 3, 2), ignore=True),
          {"weight": _w(4)}),
    _loss("cross_entropy_nd_smoothing", "cross_entropy", _class((2, 3, 4)),
          {"label_smoothing": 0.1}),
    _loss("cross_entropy_unbatched", "cross_entropy", _class((5,)), {"weight": _w(5)}),
    _loss("cross_entropy_prob", "cross_entropy", _prob_target(target_grad=True)),
    _loss("cross_entropy_prob_weight_smoothing", "cross_entropy", _prob_target(),
          {"weight": _w(5), "label_smoothing": 0.25}),
    _loss("cross_entropy_prob_nd", "cross_entropy", _prob_target((2, 3, 2, 2), True),
          {"weight": _w(3)}),
    _loss("cross_entropy_prob_unbatched", "cross_entropy", _prob_target((4,))),
    _loss("nll_loss", "nll_loss", _class()),
    _loss("nll_loss_weight_ignore", "nll_loss", _class(ignore=True), {"weight": _w(5)}),
    _loss("nll_loss_nd", "nll_loss", _class((2, 4, 3), ignore=True)),
    _loss("nll_loss_unbatched", "nll_loss", _class((5,)), {"weight": _w(5)}),
    # divergences and likelihoods
    _loss("kl_div", "kl_div", _kl(False), reductions=("none", "batchmean", "sum")),
    _loss("kl_div_log_target", "kl_div", _kl(True), {"log_target": True},
          reductions=("none", "batchmean", "sum")),
    _loss("kl_div_mean", "kl_div", _kl(False, target_grad=False), reductions=("mean",),
          quiet=True),
    _loss("poisson_nll_loss", "poisson_nll_loss", _poisson(True)),
    _loss("poisson_nll_loss_full", "poisson_nll_loss", _poisson(True), {"full": True}),
    _loss("poisson_nll_loss_no_log", "poisson_nll_loss", _poisson(False),
          {"log_input": False}),
    _loss("gaussian_nll_loss", "gaussian_nll_loss", _gauss((3, 4))),
    _loss("gaussian_nll_loss_homoscedastic", "gaussian_nll_loss", _gauss((3, 1)),
          {"full": True}),
    _loss("gaussian_nll_loss_short_var", "gaussian_nll_loss", _gauss((3,))),
    # margins and embeddings
    _loss("margin_ranking_loss", "margin_ranking_loss", _ranking, {"margin": 0.2}),
    _loss("triplet_margin_loss", "triplet_margin_loss", _triplet()),
    _loss("triplet_margin_loss_p1_swap", "triplet_margin_loss",
          _triplet(p=1, margin=2.0, swap=True), {"p": 1, "margin": 2.0, "swap": True}),
    _loss("triplet_margin_loss_unbatched", "triplet_margin_loss", _triplet((4,))),
    _loss("cosine_embedding_loss", "cosine_embedding_loss", _cosine(), {"margin": 0.1}),
    _loss("hinge_embedding_loss", "hinge_embedding_loss", _hinge),
    _loss("soft_margin_loss", "soft_margin_loss",
          lambda rng: (rng.standard_normal((3, 4)), nograd(_signs(rng, (3, 4))))),
    _loss("multilabel_soft_margin_loss", "multilabel_soft_margin_loss",
          lambda rng: (rng.standard_normal((3, 4)),
                       nograd((_signs(rng, (3, 4)) > 0).astype(float))),
          {"weight": _w(4)}),
    _loss("multi_margin_loss", "multi_margin_loss", _multi_margin()),
    _loss("multilabel_margin_loss", "multilabel_margin_loss", _multilabel),
    _loss("multilabel_margin_loss_unbatched", "multilabel_margin_loss",
          lambda rng: _multilabel(rng, 1)),
    _loss("triplet_margin_with_distance_loss", "triplet_margin_with_distance_loss",
          _triplet(), {"margin": 0.5}),
    _loss("triplet_margin_with_distance_loss_cosine_swap", "triplet_margin_with_distance_loss",
          _triplet(), {"swap": True, "distance_function": lambda rng: _cosine_distance}),
    _ctc_row("ctc_loss", [[1, 1, 2, 3], [3, 0, 0, 0], [2, 4, 2, 0]], (6, 4, 5), (4, 1, 3)),
    _ctc_row("ctc_loss_blank_last_concatenated", [1, 1, 2, 3, 0, 2], (6, 6), (3, 3),
             blank=4),
    _ctc_row("ctc_loss_empty_target", [[1, 2], [0, 0]], (5, 3), (2, 0)),
    _ctc_row("ctc_loss_zero_infinity", [[1, 1, 1, 1], [2, 3, 0, 0]], (4, 6), (4, 2),
             zero_infinity=True),
    _loss("multi_margin_loss_p2_weight", "multi_margin_loss", _multi_margin(0.5),
          {"p": 2, "margin": 0.5, "weight": _w(5)}),
]
