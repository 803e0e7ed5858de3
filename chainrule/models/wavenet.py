"""A WaveNet-style causal language model (van den Oord et al. 2016, "WaveNet: A
Generative Model for Raw Audio"), registered as ``wavenet-lm``.

Tokens are embedded, then pass a stack of residual blocks, each a *causal dilated*
1-D convolution (the input is padded on the left only, by ``(k - 1) * dilation``, so
the output at step ``t`` sees inputs ``<= t``) with a gated activation unit
``tanh(W_f * x) * sigmoid(W_g * x)``, a 1x1 convolution back to the residual stream
(``x + res``) and a 1x1 *skip* convolution.  The skips are summed, then
``ReLU -> 1x1 conv -> ReLU -> 1x1 conv`` gives logits over the vocabulary.

Dilations double inside a stack (1, 2, 4, ..., 2^(layers-1)) and the stack repeats
``num_blocks`` times; the receptive field is ``(k - 1) * sum(dilations) + 1`` tokens.

Same call convention as the recurrent LMs (``logits, state = model(X, state)``, the
state is always ``None``), so training, perplexity and generation code is shared;
generation re-reads the last ``receptive_field`` tokens each step.

>>> import chainrule as cr
>>> m = WaveNetLM(vocab_size=28, channels=16, layers=3, num_blocks=1)
>>> logits, state = m(cr.zeros(2, 10, dtype=cr.int64))
>>> logits.shape, state, m.receptive_field
(chainrule.Size([2, 10, 28]), None, 8)
"""
from chainrule import nn
import chainrule.nn.functional as F
from chainrule.models.registry import register_model

__all__ = ["CausalConv1d", "GatedResidualBlock", "WaveNetLM", "wavenet_lm"]


class CausalConv1d(nn.Module):
    """``Conv1d`` padded on the left by ``(kernel_size - 1) * dilation``: output length
    equals input length and ``y[..., t]`` depends on ``x[..., :t + 1]`` only."""

    def __init__(self, in_channels, out_channels, kernel_size, dilation=1, bias=True):
        super().__init__()
        self.left = (kernel_size - 1) * dilation
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation,
                              bias=bias)

    def forward(self, x):
        return self.conv(F.pad(x, (self.left, 0)) if self.left else x)


class GatedResidualBlock(nn.Module):
    """Causal dilated conv -> ``tanh * sigmoid`` gate -> 1x1 residual and 1x1 skip convs.

    Shape: ``(N, C, T) -> ((N, C, T) residual output, (N, S, T) skip)``; the residual
    output is ``None`` when ``residual=False`` (the last block of the network).
    """

    def __init__(self, channels, skip_channels, kernel_size=2, dilation=1, residual=True):
        super().__init__()
        self.channels = channels
        self.dilated = CausalConv1d(channels, 2 * channels, kernel_size, dilation)
        # the last block feeds only the skip path: no residual conv (it would get no gradient)
        self.res = nn.Conv1d(channels, channels, 1) if residual else None
        self.skip = nn.Conv1d(channels, skip_channels, 1)

    def forward(self, x):
        h = self.dilated(x)
        z = h[:, :self.channels].tanh() * h[:, self.channels:].sigmoid()
        return (x + self.res(z) if self.res is not None else None), self.skip(z)


class WaveNetLM(nn.Module):
    """Embedding -> stacks of gated causal dilated conv blocks -> skip sum -> logits.

    Args:
        vocab_size: number of tokens.
        channels: residual (and embedding) channels.
        skip_channels: width of the skip path and output head (default ``channels``).
        kernel_size: taps of the dilated convolutions (2 in the paper).
        layers: blocks per stack; dilations 1, 2, ..., 2^(layers-1).
        num_blocks: stacks.

    Shape: ``(N, T)`` int64 -> logits ``(N, T, vocab_size)``.
    """
    causal = True

    def __init__(self, vocab_size, channels=128, skip_channels=None, kernel_size=2, layers=6,
                 num_blocks=2):
        super().__init__()
        skip_channels = skip_channels or channels
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, channels)
        self.dilations = [2 ** i for _ in range(num_blocks) for i in range(layers)]
        n = len(self.dilations)
        self.blocks = nn.ModuleList(GatedResidualBlock(channels, skip_channels, kernel_size, d,
                                                       residual=i < n - 1)
                                    for i, d in enumerate(self.dilations))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv1d(skip_channels, skip_channels, 1),
                                  nn.ReLU(), nn.Conv1d(skip_channels, vocab_size, 1))
        self.receptive_field = (kernel_size - 1) * sum(self.dilations) + 1

    def forward(self, x, state=None):
        if x.ndim != 2:
            raise ValueError(f"WaveNetLM: expected token indices (N, T), got shape "
                             f"{tuple(x.shape)}")
        return self.forward_embedded(self.embedding(x)), None   # no recurrent state

    def forward_embedded(self, e):
        """Logits ``(N, T, V)`` of embedded inputs ``e`` ``(N, T, C)`` (differentiable in
        ``e``: the causality test checks ``d logits[t] / d e[s] == 0`` for ``s > t``)."""
        h = e.transpose(1, 2)                           # (N, C, T)
        skips = None
        for block in self.blocks:
            h, s = block(h)
            skips = s if skips is None else skips + s
        return self.head(skips).transpose(1, 2)        # (N, T, V)

    def begin_state(self, batch_size=1, device=None):
        """No recurrent state: the context is the input window itself."""
        return None

    def extra_repr(self):
        return f"vocab_size={self.vocab_size}, receptive_field={self.receptive_field}"


@register_model("wavenet-lm", task="language_model",
                defaults={"channels": 128, "layers": 6, "num_blocks": 2})
def wavenet_lm(vocab_size=28, channels=128, skip_channels=None, kernel_size=2, layers=6,
               num_blocks=2):
    """WaveNet-style causal LM: gated causal dilated Conv1d stacks with residual and skip
    connections (van den Oord et al. 2016)."""
    return WaveNetLM(vocab_size, channels, skip_channels, kernel_size, layers, num_blocks)
