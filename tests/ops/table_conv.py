"""Op table: convolutions, transposed convolutions, unfold/fold.

Shapes are tiny so that gradcheck and gradgradcheck stay fast; the kernels'
algorithm choices (full grid, blocking, Winograd) at realistic sizes are
covered by tests/nn/test_conv.py against a composed reference.
"""
import chainrule.nn.functional as CF
from chainrule.testing.opinfo import OpInfo, Sample


def _conv(name, fname, cases, **kw):
    """``cases``: (input shape, weight shape, bias shape or None)."""
    crf = getattr(CF, fname)

    def op(x, w, b=None):
        return crf(x, w, b, **kw)

    def ref(t, x, w, b=None):
        return getattr(t.nn.functional, fname)(x, w, b, **kw)

    def gen(rng):
        out = []
        for xs, ws, bs in cases:
            args = (rng.standard_normal(xs), rng.standard_normal(ws))
            if bs is not None:
                args += (rng.standard_normal(bs),)
            out.append(Sample(args, {}, f"x={xs} w={ws} bias={bs} {kw}"))
        return out
    return OpInfo(name, op, ref, gen)


def _blocks(name, fname, shapes, *args, **kw):
    crf = getattr(CF, fname)
    return OpInfo(name, lambda x: crf(x, *args, **kw),
                  lambda t, x: getattr(t.nn.functional, fname)(x, *args, **kw),
                  lambda rng: [Sample((rng.standard_normal(s),), {}, f"x={s} {args} {kw}")
                               for s in shapes])


OPS = [
    # conv2d
    _conv("conv2d", "conv2d", [((2, 3, 5, 4), (4, 3, 3, 2), (4,)),
                               ((1, 2, 3, 3), (3, 2, 1, 1), None),
                               ((2, 4, 4), (3, 2, 2, 2), (3,))]),
    _conv("conv2d_stride_padding", "conv2d", [((2, 2, 5, 5), (3, 2, 3, 3), (3,)),
                                              ((1, 3, 6, 4), (2, 3, 2, 2), None)],
          stride=2, padding=1),
    _conv("conv2d_tuple_args", "conv2d", [((2, 2, 4, 5), (3, 2, 3, 2), (3,))],
          stride=(1, 2), padding=(2, 0), dilation=(1, 2)),
    _conv("conv2d_dilation", "conv2d", [((2, 2, 6, 5), (3, 2, 3, 2), (3,))],
          dilation=2, padding=1),
    _conv("conv2d_dilation_stride", "conv2d", [((1, 2, 7, 6), (2, 2, 2, 3), None)],
          dilation=(2, 1), stride=(2, 3), padding=(0, 1)),
    _conv("conv2d_groups", "conv2d", [((2, 4, 5, 5), (6, 2, 3, 3), (6,)),
                                      ((1, 4, 4, 4), (2, 2, 1, 1), None)], groups=2),
    _conv("conv2d_depthwise", "conv2d", [((2, 3, 5, 5), (6, 1, 3, 3), (6,)),
                                         ((1, 3, 4, 4), (3, 1, 2, 2), None)],
          groups=3, padding=1),
    _conv("conv2d_same", "conv2d", [((2, 2, 5, 5), (3, 2, 3, 3), (3,)),
                                    ((1, 2, 5, 4), (3, 2, 2, 4), None)], padding="same"),
    _conv("conv2d_same_dilation", "conv2d", [((1, 2, 6, 5), (2, 2, 2, 3), (2,))],
          padding="same", dilation=2),
    _conv("conv2d_valid", "conv2d", [((1, 2, 4, 5), (3, 2, 2, 3), (3,))], padding="valid"),
    _conv("conv2d_full_grid", "conv2d", [((1, 1, 16, 16), (2, 1, 3, 3), (2,))], padding=1),
    # conv1d
    _conv("conv1d", "conv1d", [((2, 3, 7), (4, 3, 3), (4,)), ((3, 5), (2, 3, 2), None)]),
    _conv("conv1d_stride_padding_dilation", "conv1d", [((2, 2, 9), (3, 2, 3), (3,))],
          stride=2, padding=2, dilation=2),
    _conv("conv1d_groups_same", "conv1d", [((2, 4, 6), (4, 2, 4), (4,))], groups=2,
          padding="same"),
    # transposed
    _conv("conv_transpose2d", "conv_transpose2d", [((2, 3, 3, 4), (3, 2, 3, 2), (2,)),
                                                   ((3, 3, 3), (3, 2, 2, 2), None)]),
    _conv("conv_transpose2d_stride_output_padding", "conv_transpose2d",
          [((2, 2, 3, 3), (2, 3, 3, 3), (3,))], stride=2, padding=1, output_padding=1),
    _conv("conv_transpose2d_tuple_args", "conv_transpose2d",
          [((1, 2, 3, 3), (2, 2, 2, 3), (2,))], stride=(2, 1), padding=(0, 1),
          output_padding=(1, 0), dilation=(1, 2)),
    _conv("conv_transpose2d_dilation_output_padding", "conv_transpose2d",
          [((1, 2, 3, 3), (2, 2, 2, 2), None)], dilation=2, output_padding=1),
    _conv("conv_transpose2d_groups", "conv_transpose2d", [((2, 4, 3, 3), (4, 1, 2, 2), (2,))],
          groups=2, stride=2),
    _conv("conv_transpose1d", "conv_transpose1d", [((2, 2, 4), (2, 3, 3), (3,))],
          stride=3, padding=1, output_padding=2),
    _conv("conv_transpose1d_groups", "conv_transpose1d", [((1, 4, 4), (4, 2, 2), (4,))],
          groups=2, dilation=2),
    # unfold / fold
    _blocks("unfold", "unfold", [(2, 2, 4, 3), (2, 3, 3)], 2),
    _blocks("unfold_stride_padding_dilation", "unfold", [(1, 2, 5, 5)], (2, 3),
            dilation=(2, 1), padding=1, stride=(1, 2)),
    _blocks("fold", "fold", [(2, 8, 6), (8, 6)], (4, 3), 2),
    _blocks("fold_stride_padding_dilation", "fold", [(1, 12, 15)], (5, 5), (2, 3),
            dilation=(2, 1), padding=1, stride=(1, 2)),
]
