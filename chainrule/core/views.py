"""In-place ops on views of tensors in the graph (torch's view rebasing).

A differentiable view (from ``view``, ``transpose``, slicing, ``expand``...)
remembers its base (``t._base``) and the base keeps a weak set of its live
views.  An in-place op on a view under autograd

1. computes the op out of place on the view's current value (its history);
2. writes the result into the base out of place, as one node: the old base
   with the view's elements replaced (torch's ``CopySlices``: the old base gets
   the gradient with those elements zeroed, the op's result gets those elements);
3. copies that value into the base's memory and makes the node the base's
   ``grad_fn``;
4. gives every live view of the base (the written one included) a new
   ``grad_fn``: its elements gathered from the rebased base (``ViewOf``).

Which elements a view covers is read from the arrays' strides
(:func:`chainrule.backend.view_positions`), so any chain of views works.  Saved
tensors that an in-place op overwrote are caught by the version counter the
base and its views share.
"""
from chainrule import backend as B
from chainrule.core import grad_mode as _gm
from chainrule.core.function import Function
from chainrule.core.ops import ops as F
from chainrule.core.tensor import _make, _out_of_place, _snapshot

__all__ = ["ViewOf", "inplace_on_view", "regenerate_views"]


class ViewOf(Function):
    """``base.reshape(-1)[positions]``: a view's history after its base was rebased."""
    save_inputs = False

    def __init__(self, positions):
        self.positions = positions

    def forward(self, base):
        return base.reshape(-1)[self.positions]

    def backward(self, gy):  # scatter-add gy into a zero base (views may repeat elements)
        shape, dtype = self._in_meta[0]
        size = 1
        for d in shape:
            size *= d
        zeros = _make(B.xp_of(gy._data).zeros(size, dtype))
        idx = _make(self.positions.reshape(-1))
        flat = F.index_put(zeros, (idx,), F.reshape(gy, (-1,)), accumulate=True)
        return F.reshape(flat, shape)


def _positions(base, view):
    try:
        return B.view_positions(base._data, view._data)
    except ValueError:   # the "view" op copied (reshape of a non-contiguous tensor)
        return None


def inplace_on_view(view, fn, name, args, kwargs):
    """``fn(view, *args)`` written into ``view`` and its base, under autograd."""
    base = view._base
    pos = _positions(base, view)
    if pos is None:
        view._base = None
        return view._inplace(fn, name, *args, **kwargs)
    if base.requires_grad and base.grad_fn is None:
        raise RuntimeError(
            f"{name}: a view of a leaf Variable that requires grad (shape "
            f"{tuple(base.shape)}) is being used in an in-place operation. Use an "
            f"out-of-place op, or modify it inside `with chainrule.no_grad():`.")
    out = _out_of_place(view, fn, args, kwargs)
    view._write(out._data, name)                    # checks the dtype and shape
    if out._data.dtype != base._data.dtype:          # float64 result into a float32 base
        out = F.cast(out, base.dtype)
    old_base = _snapshot(base)
    idx = _make(pos.reshape(-1))
    flat = F.index_put(F.reshape(old_base, (-1,)), (idx,), F.reshape(out, (-1,)))
    new = F.reshape(flat, tuple(base.shape))
    # the values are already in the base's memory; it takes the node
    base.grad_fn, base._out_idx, base.requires_grad = (new.grad_fn, new._out_idx,
                                                       new.requires_grad)
    base._version[0] += 1
    regenerate_views(base)
    return view


def regenerate_views(base):
    """Point every live view of ``base`` at its rebased history."""
    if not (_gm._State.enabled and base.requires_grad):
        return
    for v in list(base._views or ()):
        pos = _positions(base, v)
        if pos is None or v._data.dtype.kind != "f":
            continue
        node = ViewOf(pos)
        r = node(base)
        v.grad_fn, v._out_idx, v.requires_grad = r.grad_fn, r._out_idx, True


F.register({"inplace_on_view": inplace_on_view, "regenerate_views": regenerate_views})
