"""``repr`` of tensors in torch's style."""
import numpy as np

from chainrule import backend as B
from chainrule.core import dtype as D

_DEFAULT_SHOWN = ("float32", "int64", "bool")


def _format(a):
    opts = dict(separator=", ", threshold=1000, edgeitems=3, max_line_width=80)
    if a.dtype.kind == "f":
        finite = a[np.isfinite(a)] if a.size else a
        integral = finite.size == 0 or np.all(finite == np.round(finite))
        big = finite.size and (np.abs(finite).max() >= 1e8 or
                               (np.abs(finite[finite != 0]).min(initial=1) < 1e-4))
        if big:
            opts["formatter"] = {"float_kind": lambda v: f"{v:.4e}"}
        elif integral:
            opts["floatmode"] = "maxprec"
            opts["precision"] = 0
        else:
            opts["floatmode"] = "fixed"
            opts["precision"] = 4
    elif a.dtype.kind == "b":
        opts["formatter"] = {"bool": lambda v: "True" if v else "False"}
    return np.array2string(a, prefix="tensor(", **opts)


def tensor_repr(t):
    a = B.asnumpy(t._data)
    body = _format(a)
    if a.size == 0 and a.ndim != 1:
        body = f"[], size={tuple(a.shape)}"
    parts = [body]
    if t.device.type != "cpu":
        parts.append(f"device='{t.device}'")
    dname = D.from_np_dtype(a.dtype).name
    if dname != D.get_default_dtype().name and dname not in ("int64", "bool") or \
            (dname == "float32" and D.get_default_dtype().name != "float32"):
        parts.append(f"dtype=chainrule.{dname}")
    if t.grad_fn is not None:
        parts.append(f"grad_fn={t.grad_fn!r}")
    elif t.requires_grad:
        parts.append("requires_grad=True")
    return "tensor(" + ", ".join(parts) + ")"
