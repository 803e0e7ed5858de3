"""Seeded random programs for the differential fuzzer.

A program is Python source written against torch's API: leaf inputs given as
literals, then a chain of 2-6 ops drawn from ``ops.py`` (each line checked
against the live torch values while it is built, so shapes line up), then a
backward pass (``torch.autograd.grad`` of a weighted sum of the output, and
for a share of programs a second derivative).  The same text runs with
``import torch`` and with ``import chainrule as torch``.
"""
import numpy as np

from ops import GENERATORS, WEIGHTS, TOTAL

HEADER = ["import torch", "import torch.nn.functional as F"]


def _literal(a):
    s = repr(a.tolist())
    return s.replace("nan", "float('nan')").replace("inf", "float('inf')")


class Builder:
    """Builds one program, executing each candidate line in torch as it goes."""

    def __init__(self, torch, seed):
        self.torch, self.rng = torch, np.random.default_rng(seed)
        self.inputs = []      # (leaf name, numpy values, requires_grad)
        self.lines = []       # source lines after the header and the input literals
        self.values = []      # names of tensor values the ops may use
        self.counter = 0
        self.special = self.rng.random() < 0.15   # ties, zeros and a few non-finite values
        self.env = None
        self._reset_env()

    # ------------------------------------------------------------ helpers for ops.py
    def choice(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def new(self):
        self.counter += 1
        return f"t{self.counter}"

    def val(self, name):
        return self.env[name]

    def input(self, shape, dtype=None, requires_grad=None, layout=True):
        """A new leaf input (maybe seen through a non-contiguous view); its name."""
        torch = self.torch
        if dtype is None:
            dtype = self.choice([torch.float32] * 5 + [torch.float64] * 3 + [torch.int64] * 2)
        shape = tuple(int(s) for s in shape)
        fl = dtype.is_floating_point
        rg = (self.rng.random() < 0.8) if requires_grad is None else requires_grad
        rg = rg and fl
        lay = self.choice(["contiguous"] * 6 + ["transposed"] * 2 + ["strided"] * 2 + ["broadcast"])
        if not layout or not shape or lay == "broadcast" and shape[0] < 2:
            lay = "contiguous"
        if lay == "transposed" and len(shape) < 2:
            lay = "strided"
        leaf_shape = {"transposed": shape[::-1], "broadcast": (1,) + shape[1:],
                      "strided": (2 * shape[0],) + shape[1:] if shape else ()}.get(lay, shape)
        a = self._values(leaf_shape, fl, str(dtype).split(".")[-1])
        k = len(self.inputs)
        leaf = f"a{k}"
        self.inputs.append((leaf, a, rg))
        self.env[leaf] = _make_input(torch, a, rg)
        if lay == "contiguous":
            self.values.append(leaf)
            return leaf
        view = {"transposed": f"{leaf}.permute({', '.join(map(str, range(len(shape) - 1, -1, -1)))})",
                "strided": f"{leaf}[::2]",
                "broadcast": f"{leaf}.expand({', '.join(map(str, shape))})"}[lay]
        name = f"x{k}"
        self._exec(f"{name} = {view}")
        self.lines.append(f"{name} = {view}")
        self.values.append(name)
        return name

    def partner(self, x, broadcast):
        """Another operand for ``x``: an existing value of a compatible shape or a new input."""
        v = self.val(x)
        same = [n for n in self.values if n != x and tuple(self.val(n).shape) == tuple(v.shape)]
        if same and self.rng.random() < 0.4:
            return self.choice(same)
        shape = list(v.shape)
        r = self.rng.random()
        if broadcast and r < 0.2:
            shape = shape[int(self.rng.integers(len(shape) + 1)):]   # fewer dims, or 0-d
        elif broadcast and r < 0.35 and shape:
            shape[int(self.rng.integers(len(shape)))] = 1
        elif broadcast and r < 0.45:
            shape = [2] + shape                                      # more dims
        dtype = v.dtype if self.rng.random() < 0.7 else None
        if not v.dtype.is_floating_point and dtype is not None and self.rng.random() < 0.5:
            dtype = None
        return self.input(shape, dtype)

    def clone_source(self, x):
        """A name an in-place op may write to (leaves that require grad are cloned)."""
        v = self.val(x)
        if v.requires_grad and v.grad_fn is None or self.rng.random() < 0.3:
            name = self.new()
            self.pre.append(f"{name} = {x} * 1")
            self._exec(self.pre[-1])
            return name
        return x

    # ------------------------------------------------------------ building
    def _values(self, shape, floating, dtype_name):
        rng = self.rng
        if self.special:
            pool = [-1.0, 0.0, 0.0, 0.5, 1.0, 2.0] if floating else [-2, 0, 1, 1, 3]
            if floating and rng.random() < 0.3:
                pool = pool + [np.nan, np.inf, -np.inf]
            a = rng.choice(pool, size=shape)
        elif floating:
            a = rng.standard_normal(shape)
        else:
            a = rng.integers(-3, 5, size=shape)
        return np.asarray(a).astype(dtype_name)

    def _reset_env(self):
        torch = self.torch
        self.env = {"torch": torch, "F": torch.nn.functional}
        for leaf, a, rg in self.inputs:
            self.env[leaf] = _make_input(torch, a, rg)
        for line in self.lines:
            self._exec(line)

    def _exec(self, line):
        exec(compile(line, "<fuzz>", "exec"), self.env)

    def _random_shape(self):
        rng = self.rng
        nd = self.choice([0, 1, 1, 2, 2, 2, 3, 3, 4])
        hi = 4 if nd < 3 else 3
        shape = [int(rng.integers(1, hi + 1)) for _ in range(nd)]
        if shape and rng.random() < 0.05:
            shape[int(rng.integers(nd))] = 0
        return shape

    def step(self):
        """Append one op (retrying a few times when torch refuses a candidate)."""
        for _ in range(8):
            saved = (len(self.inputs), len(self.lines), list(self.values), self.counter)
            self.pre = []
            recent = self.values[-3:] if self.rng.random() < 0.7 else self.values
            x = self.choice(recent)
            gen = GENERATORS[int(self.rng.choice(len(GENERATORS), p=np.array(WEIGHTS) / TOTAL))][0]
            try:
                lines = gen(self, x)
                if lines is None:
                    raise ValueError("not applicable")
                for line in lines:
                    self._exec(line)
                res = self.env[lines[-1].split(" = ")[0]]
                if not isinstance(res, self.torch.Tensor):
                    raise ValueError("not a tensor")
            except Exception:
                n_in, n_lines, self.values, self.counter = saved
                del self.inputs[n_in:], self.lines[n_lines:]
                self._reset_env()
                continue
            self.lines += self.pre + lines
            self.values.append(lines[-1].split(" = ")[0])
            return True
        return False

    def build(self):
        self.input(self._random_shape())
        if self.rng.random() < 0.3:
            self.input(self._random_shape())
        for _ in range(int(self.rng.integers(2, 7))):
            self.step()
        return self.program()

    def program(self):
        out = self.values[-1]
        leaves = [leaf for leaf, _, rg in self.inputs if rg]
        second = self.rng.random() < 0.3
        return Program(self.inputs, self.lines, out, leaves, second)


def _make_input(torch, a, rg):
    return torch.tensor(a, requires_grad=rg)


class Program:
    def __init__(self, inputs, lines, out, leaves, second):
        self.inputs, self.lines, self.out = inputs, lines, out
        self.leaves, self.second = leaves, second

    def grad_lines(self):
        if not self.leaves:
            return []
        ls = ", ".join(self.leaves)
        o = self.out
        lines = [f"if {o}.requires_grad and {o}.is_floating_point():",
                 f"    wt = torch.arange({o}.numel(), dtype={o}.dtype).reshape({o}.shape).cos()",
                 f"    loss = ({o} * wt).sum()",
                 f"    grads = torch.autograd.grad(loss, [{ls}], allow_unused=True, "
                 f"create_graph={self.second})"]
        if self.second:
            lines += ["    s = sum((g * g).sum() for g in grads if g is not None and g.requires_grad)",
                      "    if torch.is_tensor(s):",
                      f"        grads2 = torch.autograd.grad(s, [{ls}], allow_unused=True)"]
        return lines

    def source(self, torch_name="torch"):
        head = list(HEADER)
        if torch_name != "torch":
            head = ["import chainrule as torch", "import chainrule.nn.functional as F"]
        lits = [f"{leaf} = " + (f"torch.tensor({_literal(a)}" if a.size else
                                f"torch.zeros({tuple(a.shape)}")
                + f", dtype=torch.{a.dtype.name}" + (", requires_grad=True)" if rg else ")")
                for leaf, a, rg in self.inputs]
        return "\n".join(head + lits + self.lines + self.grad_lines())
