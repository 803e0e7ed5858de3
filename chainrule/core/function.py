"""The Function base: one differentiable op = one subclass.

``forward`` works on raw arrays (NumPy or CuPy) and returns an array or a
tuple of arrays; ``backward`` receives the output gradients as Tensors and
returns one gradient (Tensor or None) per input, written with differentiable
Tensor ops so that higher-order gradients come for free.  The engine, not the
op, sums broadcast gradients back to each input's shape and casts them to the
input's dtype.
"""
from chainrule.backend import array_types as _ARRAY_TYPES, xp_of
from chainrule.core import grad_mode as _gm
from chainrule.core.tensor import _make

__all__ = ["Function"]



class Function:
    """Base class of the built-in ops (see ``chainrule.autograd.Function`` for
    the torch-style public variant).

    Class attributes an op may override:

    * ``save_inputs`` - keep the input Tensors for backward (default True;
      ops whose backward needs no input values set False to save memory);
    * ``save_output`` - keep the output arrays for backward (``self.output(i)``);
    * ``is_view`` - the output shares memory (and the version counter) with
      input 0;
    * ``differentiable`` - False for ops like ``argmax``/``floor`` whose
      outputs never require grad.
    """
    save_inputs = True
    save_output = False
    is_view = False
    differentiable = True

    generation = 0
    _freed = False
    inputs = ()
    _tensor_hooks = None   # {output index: [hook, ...]} for non-leaf tensor hooks
    _retained = None       # {output index: weakref to a tensor that retains grad}

    # ------------------------------------------------------------ interface
    def forward(self, *xs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *gys):  # pragma: no cover - abstract
        raise RuntimeError(f"{self.name()} is not differentiable")

    @classmethod
    def name(cls):
        return cls.__name__

    def __repr__(self):
        return f"<{self.name()}Backward>"

    # ------------------------------------------------------------ calling
    def __call__(self, *inputs):
        ys = self.forward(*[t._data for t in inputs])
        if type(ys) is tuple:
            return self._wrap_outputs(inputs, ys)
        # single output: the hot path, kept free of generators and imports
        if not isinstance(ys, _ARRAY_TYPES):
            ys = xp_of(ys).asarray(ys)
        if _gm._State.enabled and self.differentiable and ys.dtype.kind == "f":
            for t in inputs:
                if t.requires_grad:
                    return self._record(inputs, (ys,), True)[0]
        if self.is_view:
            return _make(ys, False, None, 0, inputs[0]._version, True, _view_base(inputs[0]))
        return _make(ys)

    def _wrap_outputs(self, inputs, ys):
        """Wrap several output arrays as Tensors, recording this node when needed.

        Like torch, only floating-point outputs carry gradients: a cast to an
        integer or bool dtype, argmax or a comparison is cut from the graph."""
        ys = tuple(y if isinstance(y, _ARRAY_TYPES) else xp_of(y).asarray(y) for y in ys)
        floats = [y.dtype.kind == "f" for y in ys]
        if _gm._State.enabled and self.differentiable and any(floats):
            for t in inputs:
                if t.requires_grad:
                    return self._record(inputs, ys, all(floats))
        if self.is_view:
            base = _view_base(inputs[0])
            return tuple(_make(y, False, None, 0, inputs[0]._version, True, base) for y in ys)
        return tuple(_make(y) for y in ys)

    def _record(self, inputs, ys, all_float):
        """Make this node the outputs' ``grad_fn``: edges to the inputs' nodes (or
        leaves), the generation, and what backward needs."""
        gen = 0
        edges = []
        meta = []
        for t in inputs:
            fn = t.grad_fn
            if fn is not None:
                if fn.generation > gen:
                    gen = fn.generation
                edges.append((fn, t._out_idx))
            elif t.requires_grad:
                edges.append((t, 0))
            else:
                edges.append(None)
            meta.append((t._data.shape, t._data.dtype))
        self.generation = gen + 1
        self._edges = edges
        self._in_meta = meta
        if not all_float:
            return self._wrap_mixed(inputs, ys)
        if len(ys) == 1:
            y = ys[0]
            self._out_meta = ((y.shape, y.dtype),)
            if self.is_view:
                outs = (_make(y, True, self, 0, inputs[0]._version, True,
                              _view_base(inputs[0])),)
            else:
                outs = (_make(y, True, self, 0),)
        else:
            self._out_meta = tuple((y.shape, y.dtype) for y in ys)
            self._xp = xp_of(ys[0])
            if self.is_view:
                base = _view_base(inputs[0])
                outs = tuple(_make(y, True, self, i, inputs[0]._version, True, base)
                             for i, y in enumerate(ys))
            else:
                outs = tuple(_make(y, True, self, i) for i, y in enumerate(ys))
        if self.save_inputs:
            self.inputs = inputs
            self._in_versions = [t._version[0] for t in inputs]
        if self.save_output:
            self._ys = ys
            self._y_versions = tuple((o._version, o._version[0]) for o in outs)
        return outs

    def _wrap_mixed(self, inputs, ys):
        """Outputs of mixed dtypes (``max(dim)``'s values and indices): only the
        floating-point ones are attached to this node."""
        self._out_meta = tuple((y.shape, y.dtype) for y in ys)
        self._xp = xp_of(ys[0])
        ver = inputs[0]._version if self.is_view else None
        base = _view_base(inputs[0]) if self.is_view else None
        outs = tuple(_make(y, True, self, i, ver, self.is_view, base) if y.dtype.kind == "f"
                     else _make(y, False, None, 0, ver, self.is_view, base)
                     for i, y in enumerate(ys))
        if self.save_inputs:
            self.inputs = inputs
            self._in_versions = [t._version[0] for t in inputs]
        if self.save_output:
            self._ys = ys
            self._y_versions = tuple((o._version, o._version[0]) for o in outs)
        return outs

    # ------------------------------------------------------------ for backward
    @property
    def needs_input_grad(self):
        return tuple(e is not None for e in self._edges)

    @property
    def next_functions(self):
        """``((node_or_leaf, output_index), ...)`` like torch; leaves appear
        as ``AccumulateGrad`` wrappers."""
        out = []
        for e in self._edges:
            if e is None:
                out.append((None, 0))
            elif isinstance(e[0], Function):
                out.append(e)
            else:
                out.append((AccumulateGrad(e[0]), 0))
        return tuple(out)

    def output(self, i=0):
        """Output ``i`` as a Tensor for use in backward (attached to this node
        when building a higher-order graph)."""
        y = self._ys[i]
        if _gm._State.enabled:
            return _make(y, True, self, i, self._y_versions[i][0])
        return _make(y)

    def _check_saved(self):
        if self._freed:
            raise RuntimeError(
                f"Trying to backward through the graph a second time (through "
                f"{self.name()}), but its saved values were freed by the first "
                f"backward. Pass retain_graph=True to the first backward() if you "
                f"need to backward twice.")
        if self.save_inputs:
            for i, (t, v) in enumerate(zip(self.inputs, self._in_versions)):
                if t._version[0] != v:
                    raise RuntimeError(
                        f"one of the variables needed for gradient computation has been "
                        f"modified by an inplace operation: input {i} of {self.name()} "
                        f"with shape {tuple(t.shape)} is at version {t._version[0]}; "
                        f"expected version {v} instead. Use clone() before the in-place op.")
        if self.save_output:
            for i, (counter, v) in enumerate(self._y_versions):
                if counter[0] != v:
                    raise RuntimeError(
                        f"one of the variables needed for gradient computation has been "
                        f"modified by an inplace operation: output {i} of {self.name()} "
                        f"is at version {counter[0]}; expected version {v} instead. "
                        f"Use clone() before the in-place op.")

    def _release(self):
        """Free what backward saved (after a backward without retain_graph)."""
        self._freed = True
        self.inputs = ()
        self._ys = None
        self._release_extra()

    def _release_extra(self):
        """Ops that keep extra arrays for backward drop them here."""


def _view_base(t):
    """The tensor a new view of ``t`` looks into (tracked only under grad mode,
    where an in-place op on the view must rebase it)."""
    if not _gm._State.enabled:
        return None
    return t if t._base is None else t._base


class AccumulateGrad:
    """Stand-in node for a leaf in ``next_functions`` (display only)."""
    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def __repr__(self):
        return "<AccumulateGrad>"

    @staticmethod
    def name():
        return "AccumulateGrad"

