"""``repr`` of tensors in torch's style: the same layout rules as ``torch._tensor_str``
(one width for every element, fixed or scientific notation chosen from the nonzero
finite values shown, ``(linewidth - indent) // (width + 2)`` elements a line,
summarised as ``edgeitems ... edgeitems`` past ``threshold`` elements), so a script's
printed tensors line up with what it prints under torch."""
import math

import numpy as np

from chainrule import backend as B
from chainrule.core import dtype as D

PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = 4, 1000, 3, 80


class _Formatter:
    """torch's ``_Formatter``: decides int/fixed/scientific mode and one width."""

    def __init__(self, a):
        self.floating = a.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        flat = a.reshape(-1)
        if not self.floating:
            if flat.size:
                self.max_width = max(len(self._plain(v)) for v in flat.tolist())
            return
        vals = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if vals.size == 0:
            return
        absv = np.abs(vals)
        lo, hi = absv.min(), absv.max()
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
        vl = vals.tolist()
        if self.sci_mode:
            self.max_width = max(len(f"{v:.{PRECISION}e}") for v in vl)
        elif self.int_mode:
            self.max_width = max(len(f"{v:.0f}") + 1 for v in vl)
        else:
            self.max_width = max(len(f"{v:.{PRECISION}f}") for v in vl)

    @staticmethod
    def _plain(v):
        return ("True" if v else "False") if isinstance(v, bool) else f"{v}"

    def width(self):
        return self.max_width

    def format(self, v):
        if self.floating:
            if self.sci_mode:
                s = f"{v:{self.max_width}.{PRECISION}e}"
            elif self.int_mode:
                s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
            else:
                s = f"{v:.{PRECISION}f}"
        else:
            s = self._plain(v)
        return (self.max_width - len(s)) * " " + s


def _summarized(a):
    """The elements torch's repr shows (edge items of every dimension)."""
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate([a[:EDGEITEMS], a[-EDGEITEMS:]]) if a.shape[0] > 2 * EDGEITEMS \
            else a
    rows = list(range(EDGEITEMS)) + list(range(a.shape[0] - EDGEITEMS, a.shape[0])) \
        if a.shape[0] > 2 * EDGEITEMS else range(a.shape[0])
    return np.stack([_summarized(a[i]) for i in rows])


def _vector(a, indent, summarize, fmt):
    per_line = max(1, math.floor((LINEWIDTH - indent) / (fmt.width() + 2)))
    if summarize and a.shape[0] > 2 * EDGEITEMS:
        data = [fmt.format(v) for v in a[:EDGEITEMS].tolist()] + [" ..."] + \
            [fmt.format(v) for v in a[-EDGEITEMS:].tolist()]
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _body(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    if summarize and a.shape[0] > 2 * EDGEITEMS:
        slices = [_body(a[i], indent + 1, summarize, fmt) for i in range(EDGEITEMS)] + \
            ["..."] + [_body(a[i], indent + 1, summarize, fmt)
                       for i in range(a.shape[0] - EDGEITEMS, a.shape[0])]
    else:
        slices = [_body(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _format(a, indent=len("tensor(")):
    if a.dtype.kind == "c":  # complex: NumPy's layout (torch formats real and imag apart)
        return np.array2string(a, prefix="tensor(", separator=", ", threshold=THRESHOLD,
                               edgeitems=EDGEITEMS, max_line_width=LINEWIDTH)
    if a.size == 0:
        return "[]"
    summarize = a.size > THRESHOLD
    return _body(a, indent, summarize, _Formatter(_summarized(a) if summarize else a))


def _add_suffixes(body, suffixes, indent, force_newline=False):
    out = [body]
    last = len(body) - body.rfind("\n") + 1
    for s in suffixes:
        if force_newline or last + len(s) + 2 > LINEWIDTH:
            out.append(",\n" + " " * indent + s)
            last, force_newline = indent + len(s), False
        else:
            out.append(", " + s)
            last += len(s) + 2
    return "".join(out) + ")"


def tensor_repr(t):
    a = B.asnumpy(t._data)
    prefix = "tensor("
    body = _format(a, len(prefix))
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if a.size == 0 and a.ndim != 1:
        suffixes.append(f"size={tuple(a.shape)}")
    dname = D.from_np_dtype(a.dtype).name
    if dname != D.get_default_dtype().name and dname not in ("int64", "bool") or \
            (dname == "float32" and D.get_default_dtype().name != "float32"):
        suffixes.append(f"dtype=chainrule.{dname}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn={t.grad_fn!r}")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, len(prefix))
