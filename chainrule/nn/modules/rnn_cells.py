"""Recurrent cells (one time step): ``RNNCell``, ``LSTMCell``, ``GRUCell`` with
torch's parameter names, shapes, gate orders and initialisation, and
``PeepholeLSTMCell`` (not in torch).

Every parameter is initialised ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``.
The cells are composed from differentiable ops
(``chainrule.functional.rnn_cells``), so any order of gradient works.
"""
import math

from chainrule.core.autocast_state import is_any_autocast_enabled
from chainrule.core.creation import empty, zeros
from chainrule.functional import rnn_cells as RC
from chainrule.nn import init
from chainrule.nn.parameter import Parameter
from chainrule.nn.modules.module import Module

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "PeepholeLSTMCell"]


def _check_sizes(name, input_size, hidden_size):
    for what, v in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise ValueError(f"{name}: {what} must be a positive integer, got {v!r}")


class RNNCellBase(Module):
    """Holds ``weight_ih`` (chunks*H, I), ``weight_hh`` (chunks*H, H) and the
    biases ``bias_ih``, ``bias_hh`` (chunks*H,)."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        _check_sizes(type(self).__name__, input_size, hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(empty((g, input_size), dtype=dtype, device=device))
        self.weight_hh = Parameter(empty((g, hidden_size), dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(empty(g, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(g, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nl = getattr(self, "nonlinearity", "tanh")
        if nl != "tanh":
            s += f", nonlinearity={nl}"
        return s

    # ------------------------------------------------------------ helpers
    def _input(self, input):
        """Validate; return ``(input as (N, I), batched)``."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise RuntimeError(f"{name}: expected input to be 1-D or 2-D, got "
                               f"{input.ndim}-D tensor of shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: expected input of size {self.input_size} in the last "
                               f"dim, got {tuple(input.shape)}")
        if input.dtype != self.weight_ih.dtype and not is_any_autocast_enabled():
            raise RuntimeError(f"{name}: input dtype ({input.dtype}) does not match the "
                               f"weight dtype ({self.weight_ih.dtype}); convert the input "
                               f"with .to({self.weight_ih.dtype}) or the model with "
                               f".to({input.dtype})")
        batched = input.ndim == 2
        return (input if batched else input.unsqueeze(0)), batched

    def _state(self, hx, input, batched, what="hx"):
        """Validate a state (or make zeros); return it as (N, H)."""
        n = input.shape[0]
        if hx is None:
            return zeros(n, self.hidden_size, dtype=input.dtype, device=input.device)
        want = (n, self.hidden_size) if batched else (self.hidden_size,)
        if tuple(hx.shape) != want:
            raise RuntimeError(f"{type(self).__name__}: expected {what} of shape {want} for "
                               f"input {tuple(input.shape if batched else input.shape[1:])}, "
                               f"got {tuple(hx.shape)}")
        return hx if batched else hx.unsqueeze(0)

    def _weights(self):
        return (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class RNNCell(RNNCellBase):
    """Elman cell: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu).

    Shape: input ``(N, I)`` or ``(I,)``, hx ``(N, H)`` or ``(H,)`` (zeros if
    omitted) -> ``h'`` of hx's shape.

    >>> import chainrule as cr
    >>> RNNCell(3, 5)(cr.ones(2, 3)).shape
    chainrule.Size([2, 5])
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; expected "
                             f"'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        x, batched = self._input(input)
        h = self._state(hx, x, batched)
        cell = RC.rnn_tanh_cell if self.nonlinearity == "tanh" else RC.rnn_relu_cell
        out = cell(x, h, *self._weights())
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """LSTM cell (gates i, f, g, o stacked in that order in the weights).

    ``forward(input, (h, c))`` returns ``(h', c')``; the state defaults to zeros.

    >>> import chainrule as cr
    >>> h, c = LSTMCell(3, 5)(cr.ones(2, 3))
    >>> h.shape, c.shape
    (chainrule.Size([2, 5]), chainrule.Size([2, 5]))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def _peephole(self):
        return None

    def forward(self, input, hx=None):
        x, batched = self._input(input)
        if hx is None:
            h = c = self._state(None, x, batched)
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise RuntimeError(f"{type(self).__name__}: expected hx to be a tuple "
                                   f"(h_0, c_0)")
            h = self._state(hx[0], x, batched, "h_0")
            c = self._state(hx[1], x, batched, "c_0")
        h, c = RC.lstm_cell(x, h, c, *self._weights(), peephole=self._peephole())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class PeepholeLSTMCell(LSTMCell):
    """LSTM cell with peephole connections (Gers & Schmidhuber 2000): the
    input and forget gates also see ``c_{t-1}`` and the output gate sees
    ``c_t``, through diagonal weights ``weight_ci``, ``weight_cf``,
    ``weight_co`` of shape (hidden_size,).  Not in torch.

    ``i = sigmoid(W_ii x + W_hi h + w_ci * c + b_i)``,
    ``f = sigmoid(W_if x + W_hf h + w_cf * c + b_f)``,
    ``c' = f * c + i * tanh(W_ig x + W_hg h + b_g)``,
    ``o = sigmoid(W_io x + W_ho h + w_co * c' + b_o)``, ``h' = o * tanh(c')``.
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.weight_ci = Parameter(empty(hidden_size, dtype=dtype, device=device))
        self.weight_cf = Parameter(empty(hidden_size, dtype=dtype, device=device))
        self.weight_co = Parameter(empty(hidden_size, dtype=dtype, device=device))
        self.reset_parameters()

    def _peephole(self):
        return (self.weight_ci, self.weight_cf, self.weight_co)


class GRUCell(RNNCellBase):
    """GRU cell (gates r, z, n): ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h' = (1 - z) * n + z * h``.

    >>> import chainrule as cr
    >>> GRUCell(3, 5)(cr.ones(3)).shape
    chainrule.Size([5])
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, batched = self._input(input)
        h = self._state(hx, x, batched)
        out = RC.gru_cell(x, h, *self._weights())
        return out if batched else out.squeeze(0)
