"""Multi-layer recurrent networks: ``RNN``, ``LSTM``, ``GRU`` (torch's
arguments, parameter names, shapes, gate orders and initialisation, so a torch
``state_dict`` loads and gives the same outputs) and ``PeepholeLSTM`` (not in
torch).

Each layer and direction runs as one fused Function
(``chainrule.functional.rnn``): one GEMM for the input projection of all
steps, one GEMM per step, a hand-written backward through time.  Set
``module.fused = False`` to run the composed cell-by-cell graph instead (slower;
any order of gradient).

Inputs are ``(T, N, H_in)`` (``(N, T, H_in)`` with ``batch_first``), unbatched
``(T, H_in)``, or a :class:`~chainrule.nn.utils.rnn.PackedSequence`.  Initial
states have shape ``(num_layers * num_directions, N, H_out)`` (``H_out`` is
``proj_size`` when set) and default to zeros.
"""
import math
import numbers
import warnings

from chainrule.core.autocast_state import is_any_autocast_enabled
from chainrule.core.creation import empty, zeros
from chainrule.functional.join import cat, stack
from chainrule.functional.dropout import dropout as _dropout
from chainrule.functional.rnn import recurrent_layer
from chainrule.functional.scatter import index_select
from chainrule.nn import init
from chainrule.nn.parameter import Parameter
from chainrule.nn.modules.module import Module
from chainrule.nn.utils.rnn import PackedSequence, packed_to_padded, padded_to_packed

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "PeepholeLSTM"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


class RNNBase(Module):
    """The shared machinery of ``RNN``, ``LSTM`` and ``GRU``.

    Parameters per layer ``k`` and direction (suffix ``_reverse`` for the
    backward one), in torch's order: ``weight_ih_lk`` (gates*H, I_k),
    ``weight_hh_lk`` (gates*H, H_out), ``bias_ih_lk``, ``bias_hh_lk`` (gates*H,)
    and, with ``proj_size``, ``weight_hr_lk`` (proj_size, H).
    """
    fused = True
    _peephole = False

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        _validate(name, mode, input_size, hidden_size, num_layers, dropout, proj_size)
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, "
                          f"so non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dirs = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        h_out = proj_size or hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else h_out * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (gate, in_size)), ("weight_hh", (gate, h_out))]
                if bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                if self._peephole:
                    shapes += [(w, (hidden_size,)) for w in ("weight_ci", "weight_cf",
                                                             "weight_co")]
                for base, shape in shapes:
                    setattr(self, base + sfx,
                            Parameter(empty(shape, dtype=dtype, device=device)))
                    self._flat_weights_names.append(base + sfx)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias ~ ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        """The parameters grouped per layer and direction, like torch."""
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional
                                                                    else 1))
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    def flatten_parameters(self):
        """A no-op kept for torch compatibility (weights are used as they are)."""

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------ forward
    def _layer_weights(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        w = {"w_ih": getattr(self, "weight_ih" + sfx), "w_hh": getattr(self, "weight_hh" + sfx)}
        if self.bias:
            w["b_ih"], w["b_hh"] = getattr(self, "bias_ih" + sfx), getattr(self, "bias_hh" + sfx)
        if self.proj_size:
            w["w_hr"] = getattr(self, "weight_hr" + sfx)
        if self._peephole:
            w["peephole"] = tuple(getattr(self, n + sfx) for n in ("weight_ci", "weight_cf",
                                                                   "weight_co"))
        return w

    def _n_states(self):
        return 2 if self.mode == "LSTM" else 1

    def _state_sizes(self):
        h_out = self.proj_size or self.hidden_size
        return (h_out, self.hidden_size)[:self._n_states()]

    def forward(self, input, hx=None):
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        sorted_idx = unsorted_idx = batch_sizes = None
        if packed:
            data, batch_sizes, sorted_idx, unsorted_idx = input
            if data.ndim != 2 or data.shape[1] != self.input_size:
                raise RuntimeError(f"{name}: expected packed data of shape (*, "
                                   f"{self.input_size}), got {tuple(data.shape)}")
            self._check_dtype(data)
            batch_sizes = [int(b) for b in batch_sizes.tolist()]
            x, batched = packed_to_padded(data, batch_sizes), True
        else:
            self._check_input(input)
            batched = input.ndim == 3
            x = input if batched else input.unsqueeze(1)
            if self.batch_first and batched:
                x = x.transpose(0, 1)
        states = self._initial_states(hx, x, batched, sorted_idx)
        y, finals = self._run(x, states, batch_sizes)
        if unsorted_idx is not None:
            finals = [index_select(s, 1, unsorted_idx) for s in finals]
        if packed:
            y = PackedSequence(padded_to_packed(y, batch_sizes), input.batch_sizes,
                               sorted_idx, unsorted_idx)
        elif not batched:
            y, finals = y.squeeze(1), [s.squeeze(1) for s in finals]
        elif self.batch_first:
            y = y.transpose(0, 1)
        return y, (finals[0] if len(finals) == 1 else tuple(finals))

    def _run(self, x, states, batch_sizes):
        """All layers and directions on a time-major ``x``; returns
        ``(output, [h_n, (c_n)])`` with states stacked as (L*D, N, *)."""
        dirs = 2 if self.bidirectional else 1
        finals = [[] for _ in states]
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                res = recurrent_layer(self.mode, x, tuple(s[k] for s in states),
                                      self._layer_weights(layer, d), reverse=d == 1,
                                      batch_sizes=batch_sizes, fused=self.fused)
                outs.append(res[0])
                for f, s in zip(finals, res[1:]):
                    f.append(s)
            x = outs[0] if dirs == 1 else cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = _dropout(x, self.dropout, True)
        return x, [stack(f, 0) for f in finals]

    # ------------------------------------------------------------ checks
    def _check_dtype(self, x):
        wd = self.weight_ih_l0.dtype
        if x.dtype != wd and not is_any_autocast_enabled():   # (autocast casts them)
            raise RuntimeError(f"{type(self).__name__}: input dtype ({x.dtype}) does not match "
                               f"the weight dtype ({wd}); convert the input with .to({wd}) or "
                               f"the model with .to({x.dtype})")

    def _check_input(self, input):
        name = type(self).__name__
        if input.ndim not in (2, 3):
            raise RuntimeError(f"{name}: expected input to be 2-D (unbatched) or 3-D, got "
                               f"{input.ndim}-D tensor of shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: expected input of size {self.input_size} in the last "
                               f"dim, got {tuple(input.shape)}")
        self._check_dtype(input)

    def _initial_states(self, hx, x, batched, sorted_idx):
        """The initial states as (L*D, N, *) tensors (zeros when ``hx`` is None)."""
        name = type(self).__name__
        n_layers = self.num_layers * (2 if self.bidirectional else 1)
        n = x.shape[1]
        sizes = self._state_sizes()
        if hx is None:
            return [zeros(n_layers, n, s, dtype=x.dtype, device=x.device) for s in sizes]
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise RuntimeError(f"{name}: expected hx to be a tuple (h_0, c_0)")
            hs = list(hx)
        else:
            if isinstance(hx, (tuple, list)):
                raise RuntimeError(f"{name}: expected hx to be a Tensor, got a "
                                   f"{type(hx).__name__}")
            hs = [hx]
        out = []
        for what, h, size in zip(("h_0", "c_0"), hs, sizes):
            want_nd = 3 if batched else 2
            if h.ndim != want_nd:
                kind = "batched 3-D" if batched else "unbatched 2-D"
                raise RuntimeError(f"{name}: for {kind} input, {what} should also be "
                                   f"{want_nd}-D but got a {h.ndim}-D tensor")
            want = (n_layers, n, size) if batched else (n_layers, size)
            if tuple(h.shape) != want:
                raise RuntimeError(f"{name}: expected {what} of shape {want}, got "
                                   f"{tuple(h.shape)}")
            self._check_dtype(h)
            h = h if batched else h.unsqueeze(1)
            out.append(h if sorted_idx is None else index_select(h, 1, sorted_idx))
        return out


def _validate(name, mode, input_size, hidden_size, num_layers, dropout, proj_size):
    for what, v in (("input_size", input_size), ("hidden_size", hidden_size),
                    ("num_layers", num_layers)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"{name}: {what} must be a positive integer, got {v!r}")
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) \
            or not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if not isinstance(proj_size, numbers.Integral) or proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable "
                         "projections")
    if proj_size and mode != "LSTM":
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


class RNN(RNNBase):
    """Multi-layer Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``
    (or relu with ``nonlinearity='relu'``).

    Args: input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0 (between layers, training only),
    bidirectional=False.  Returns ``(output, h_n)``.

    >>> import chainrule as cr
    >>> out, h = RNN(3, 5, num_layers=2)(cr.ones(7, 2, 3))
    >>> out.shape, h.shape
    (chainrule.Size([7, 2, 5]), chainrule.Size([2, 2, 5]))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; expected 'tanh' "
                             f"or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, device, dtype)


class LSTM(RNNBase):
    """Multi-layer LSTM (gates i, f, g, o), optionally with projections
    (``proj_size``: ``h_t = W_hr (o_t * tanh(c_t))``).

    Returns ``(output, (h_n, c_n))``; ``hx`` is ``(h_0, c_0)``.

    >>> import chainrule as cr
    >>> out, (h, c) = LSTM(3, 5, bidirectional=True)(cr.ones(7, 2, 3))
    >>> out.shape, h.shape, c.shape
    (chainrule.Size([7, 2, 10]), chainrule.Size([2, 2, 5]), chainrule.Size([2, 2, 5]))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Multi-layer GRU (gates r, z, n; ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``).

    Returns ``(output, h_n)``.

    >>> import chainrule as cr
    >>> out, h = GRU(3, 5, batch_first=True)(cr.ones(2, 7, 3))
    >>> out.shape, h.shape
    (chainrule.Size([2, 7, 5]), chainrule.Size([1, 2, 5]))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)


class PeepholeLSTM(RNNBase):
    """Multi-layer LSTM with peephole connections (Gers & Schmidhuber 2000;
    not in torch): per layer and direction also ``weight_ci_lk``,
    ``weight_cf_lk``, ``weight_co_lk`` (hidden_size,), the diagonal weights
    through which the input and forget gates see ``c_{t-1}`` and the output
    gate sees ``c_t`` (see :class:`~chainrule.nn.PeepholeLSTMCell`).

    Same arguments and outputs as :class:`LSTM` (no ``proj_size``).
    """
    _peephole = True

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)
