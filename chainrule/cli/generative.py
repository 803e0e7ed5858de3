"""``chainrule train vae|ae|dae|sparse-ae|rbm|dcgan|capsnet --data mnist`` (the generative
and unsupervised models of issue #15, trained by :mod:`chainrule.train.generative`) and
``chainrule sample CHECKPOINT -n 64 -o grid.png``.

The train command's flags that apply are used (``--epochs``, ``--batch-size``, ``--lr``,
``--seed``, ``--out``, ``--overwrite``, ``--hidden-sizes``); the others are refused.
Pictures, curves, ``history.json`` and ``model.ckpt`` land in the run folder.
"""
import os

from chainrule.cli.common import EXIT_OK, UsageError, positive_int
from chainrule.train import generative as GEN

__all__ = ["COMMANDS", "run_train", "add_sample_parser", "run_sample"]

COMMANDS = ("vae", "ae", "dae", "sparse-ae", "rbm", "dcgan", "capsnet")
_DATA = ("mnist", "fashion_mnist")
_USED = {"model", "data", "epochs", "batch_size", "lr", "seed", "out", "overwrite",
         "hidden_sizes", "func", "command", "version", "no_progress", "quiet", "num_workers",
         "resume"}


def _refuse_unused(args):
    bad = [k for k, v in vars(args).items()
           if k not in _USED and v not in (None, False)]
    if bad:
        raise UsageError(f"argument --{bad[0].replace('_', '-')}: not used by "
                         f"`chainrule train {args.model}` (it takes --epochs, --batch-size, "
                         f"--lr, --seed, --out, --overwrite, --hidden-sizes)")


def run_train(args):
    """``chainrule train`` for one of :data:`COMMANDS`."""
    _refuse_unused(args)
    data = args.data or "mnist"
    if data not in _DATA:
        raise UsageError(f"argument --data: `chainrule train {args.model}` trains on "
                         f"{' or '.join(_DATA)}, got {data!r}")
    resume = getattr(args, "resume", None)
    if resume and args.model not in ("dcgan", "capsnet"):
        raise UsageError(f"argument --resume: `chainrule train {args.model}` cannot resume "
                         "(dcgan and capsnet can: they write last.ckpt after every epoch)")
    out = args.out or (os.path.dirname(os.path.abspath(resume)) if resume
                       else os.path.join("runs", f"{args.model}-{data}"))
    if os.path.isdir(out) and os.listdir(out) and not (args.overwrite or resume):
        raise UsageError(f"{out}: holds files; pass --overwrite to replace the run")
    kw = {k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "seed")
          if getattr(args, k) is not None}
    verbose = not args.quiet
    m = args.model
    if args.hidden_sizes is not None:
        if m == "dcgan":    # one fully connected layer in G and D (InfoGAN's 1024)
            if len(args.hidden_sizes) != 1:
                raise UsageError("argument --hidden-sizes: `chainrule train dcgan` takes one "
                                 "width (the fully connected layer of G and D, e.g. 1024)")
            kw["hidden"] = int(args.hidden_sizes[0])
        elif m not in ("vae", "ae", "dae", "sparse-ae"):
            raise UsageError(f"argument --hidden-sizes: not used by `chainrule train {m}`")
        else:
            kw["hidden_sizes"] = tuple(args.hidden_sizes)
    if m == "vae":
        GEN.train_vae(out, data, verbose=verbose, **kw)
    elif m in ("ae", "dae", "sparse-ae"):
        kind = {"ae": "plain", "dae": "denoising", "sparse-ae": "sparse"}[m]
        if kind == "sparse" and "hidden_sizes" not in kw:
            kw["hidden_sizes"] = (196,)
        GEN.train_autoencoder(out, kind, data, verbose=verbose, **kw)
    elif m == "rbm":
        GEN.train_rbm(out, data, verbose=verbose, **kw)
    elif m == "dcgan":
        GEN.train_dcgan(out, data, verbose=verbose, resume=resume, **kw)
    else:
        # the paper's augmentation: random shifts of up to 2 pixels
        GEN.train_capsnet(out, data, verbose=verbose, resume=resume, shift=2, **kw)
    print(f"run folder: {out}")
    return EXIT_OK


def add_sample_parser(sub):
    p = sub.add_parser("sample", help="draw samples from a trained generative model",
                       description="Draw -n images from the VAE, RBM or DCGAN in CHECKPOINT "
                       "(a model.ckpt written by `chainrule train vae|rbm|dcgan`) and save "
                       "them as one PNG grid.")
    p.add_argument("checkpoint", help="a model.ckpt from `chainrule train vae|rbm|dcgan`")
    p.add_argument("-n", type=positive_int, default=64, help="number of images (default 64)")
    p.add_argument("-o", "--output", default="grid.png", help="PNG file (default grid.png)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nrow", type=positive_int, default=8, help="images per row")
    p.set_defaults(func=run_sample)
    return p


def run_sample(args):
    from chainrule.train.checkpoint import CheckpointError
    from chainrule.train.plots import save_image_grid
    try:
        imgs = GEN.sample_images(args.checkpoint, args.n, args.seed)
    except (CheckpointError, ValueError) as e:
        raise UsageError(str(e)) from None
    save_image_grid(imgs, args.output, nrow=args.nrow)
    print(f"{args.n} samples -> {args.output}")
    return EXIT_OK
