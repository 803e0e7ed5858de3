"""The receptive field of Yu & Koltun's context module grows exponentially without
pooling: print predicted vs measured size per layer and plot the gradient maps.

    python examples/dilated_receptive_field.py [--out receptive_field.png]

"Measured" is the side of the input square that the gradient of the centre output
pixel reaches (``chainrule.models.dilated.gradient_support``), with positive weights so
no ReLU hides a path.  Exits 1 if any layer disagrees with the formula.
"""
import argparse
import sys

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.models.dilated import DILATIONS, ContextModule, gradient_support, \
    receptive_fields


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="receptive_field.png")
    p.add_argument("--size", type=int, default=75, help="input side (> 67)")
    args = p.parse_args(argv)
    module = ContextModule(1, identity_init=False)
    for m in module.layers:
        if isinstance(m, nn.Conv2d):
            with cr.no_grad():
                m.weight.copy_(cr.tensor(np.full(m.weight.shape, 0.1, np.float32)))
    ok, maps = True, []
    print("layer  dilation  predicted  measured")
    for k, (d, pred) in enumerate(zip(DILATIONS, receptive_fields()), start=1):
        (h, w), g = gradient_support(module.layers, (1, args.size, args.size), layers=2 * k)
        ok &= (h, w) == (pred, pred)
        maps.append(g)
        print(f"{k:5d}  {d:8d}  {pred:9d}  {h}x{w}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, len(maps), figsize=(2.2 * len(maps), 2.6))
        for k, (ax, g) in enumerate(zip(axes, maps), start=1):
            ax.imshow(g > 0, cmap="viridis")
            ax.set_title(f"layer {k} (d={DILATIONS[k - 1]})\nRF {receptive_fields()[k - 1]}",
                         fontsize=8)
            ax.axis("off")
        fig.tight_layout()
        fig.savefig(args.out, dpi=100)
        print(f"wrote {args.out}")
    except ImportError:
        print("matplotlib not installed: no plot")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
