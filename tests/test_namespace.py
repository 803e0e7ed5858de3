"""The public op namespaces sit where torch puts them.

``chainrule`` holds the names of ``torch.*`` that we implement and
``chainrule.nn.functional`` those of ``torch.nn.functional``; each op is
defined once, in a family file under ``chainrule/functional/``, and
re-exported.  Checked against torch's own lists (torch is the oracle only).
"""
import importlib
import pkgutil

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.functional as CF  # noqa: E402
import chainrule.nn.functional as NF  # noqa: E402

# torch.X is an (undocumented) ATen binding whose signature differs from
# torch.nn.functional.X (arguments reordered, ``reduction`` an int enum,
# always returning indices...).  We implement the torch.nn.functional form
# only, so chainrule.X is deliberately absent rather than a wrong signature.
ATEN_FORMS_NOT_IMPLEMENTED = {
    "adaptive_max_pool1d",  # torch.*: always returns (out, indices)
    "batch_norm",  # torch.*: (input, weight, bias, running_mean, running_var, ...)
    "binary_cross_entropy_with_logits",  # torch.*: (..., weight, pos_weight, reduction: int)
    "cosine_embedding_loss",  # torch.*: reduction is an int
    "embedding",  # torch.*: (weight, indices, ...)
    "hinge_embedding_loss",  # torch.*: reduction is an int
    "instance_norm",  # torch.*: (input, weight, bias, running_mean, running_var, ...)
    "kl_div",  # torch.*: (input, target, reduction: int, log_target)
    "margin_ranking_loss",  # torch.*: reduction is an int
    "poisson_nll_loss",  # torch.*: (input, target, log_input, full, eps, reduction: int)
    "triplet_margin_loss",  # torch.*: (..., swap, reduction: int)
}

# Our op of torch's name with a signature of its own, so not exported as chainrule.X.
SIGNATURE_DIFFERS = {
    "lstm_cell",  # ours: (input, hx, cx, w_ih, ...); torch.lstm_cell: (input, (hx, cx), w_ih, ...)
}

# Deliberate names in chainrule.nn.functional that torch.nn.functional lacks
# (private names are always allowed).  None at present.
NN_FUNCTIONAL_EXTRAS = set()


def _public(module):
    return {n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))
            and not isinstance(getattr(module, n), type(pytest))}


def _implemented():
    """Every public op we define: the ``__all__`` of each family file, plus
    whatever chainrule.nn.functional exports."""
    names = set(_public(NF))
    for info in pkgutil.iter_modules(CF.__path__):
        if not info.name.startswith("_"):
            mod = importlib.import_module(f"chainrule.functional.{info.name}")
            names |= set(getattr(mod, "__all__", ()))
    return names


IMPLEMENTED = sorted(_implemented())
TORCH, TORCH_F = set(dir(torch)), set(dir(TF))
BOTH = sorted(n for n in TORCH & TORCH_F if getattr(torch, n) is getattr(TF, n)
              and callable(getattr(torch, n)) and not isinstance(getattr(torch, n), type))


def test_enough_names_checked():
    assert len(IMPLEMENTED) > 200 and len(BOTH) > 5


def test_reachable_in_torch_nn_functional_place():
    missing = [n for n in IMPLEMENTED if n in TORCH_F and not hasattr(NF, n)]
    assert not missing, f"implemented but missing from chainrule.nn.functional: {missing}"


def test_reachable_in_torch_place():
    missing = [n for n in IMPLEMENTED if n in TORCH and not hasattr(cr, n)
               and n not in ATEN_FORMS_NOT_IMPLEMENTED | SIGNATURE_DIFFERS]
    assert not missing, f"implemented but missing from chainrule: {missing}"


def test_aten_allow_list_is_current():
    for n in ATEN_FORMS_NOT_IMPLEMENTED:
        assert n in TORCH and n in TORCH_F and getattr(torch, n) is not getattr(TF, n), n
        assert n in IMPLEMENTED and not hasattr(cr, n), n


def test_signature_allow_list_is_current():
    for n in SIGNATURE_DIFFERS:
        assert n in TORCH and n in IMPLEMENTED and not hasattr(cr, n), n


def test_nn_functional_has_only_torch_names():
    extra = sorted(_public(NF) - TORCH_F - NN_FUNCTIONAL_EXTRAS)
    assert not extra, f"chainrule.nn.functional names torch.nn.functional lacks: {extra}"
    assert set(NF.__all__) == _public(NF)


def test_one_object_where_torch_has_one_op():
    differ = [n for n in BOTH if (hasattr(cr, n) or hasattr(NF, n))
              and getattr(cr, n, None) is not getattr(NF, n, None)]
    assert not differ, f"torch has one op in both places; chainrule has two: {differ}"


def test_chainrule_has_only_torch_names():
    """``chainrule.*`` holds torch.* names only (our subpackages aside): no internal
    helper and no torch.nn.functional-only op leaks into the top level."""
    import types
    extra = sorted(n for n in _public(cr) if n not in TORCH
                   and not isinstance(getattr(cr, n), types.ModuleType))
    assert not extra, f"chainrule.* names that torch.* does not have: {extra}"
