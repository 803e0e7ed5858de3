"""The ``chainrule`` command.

Commands: ``train``, ``eval``, ``predict``, ``generate``, ``translate``, ``embed``, ``sample``, ``models``,
``datasets``, ``graph``, ``demo``, ``run-torch``.

Exit codes (scripts can rely on them):
  0    success
  1    training diverged (NaN/Inf loss), or the final metric missed --target
  2    usage or input error: unknown model/dataset/optimizer names (with suggestions),
       bad hyper-parameters, a model that does not fit the data, data missing while
       offline, unreadable or mismatched checkpoints and input files, and file-system
       faults (a full disk, a read-only folder, --out naming a file): one line
       ``chainrule CMD: error: PATH: reason``; a run folder in use by another run,
       or holding a run without --resume/--overwrite (see docs/reliability.md)
  130  interrupted (Ctrl-C); the last complete epoch's checkpoint is kept
"""
import argparse
import sys

from chainrule.backend.cpu import tune_from_env
from chainrule.cli import embed  # noqa: E402  (chainrule embed)
from chainrule.cli import (demo, evaluate, generate, generative, graph, listing, run_torch,
                           train, translation)
from chainrule.cli.common import (EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, USER_ERRORS,
                                  describe_os_error)
from chainrule.train.run import chainrule_version

__all__ = ["main", "console_main", "build_parser"]


def build_parser():
    p = argparse.ArgumentParser(prog="chainrule", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    train.add_parser(sub)
    evaluate.add_parsers(sub)
    listing.add_parsers(sub)
    graph.add_parser(sub)
    generate.add_parser(sub)
    translation.add_parser(sub)
    demo.add_parser(sub)
    run_torch.add_parser(sub)
    embed.add_parser(sub)
    generative.add_sample_parser(sub)  # `chainrule sample CHECKPOINT` (issue #15)
    return p


def main(argv=None):
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    if args.version:
        print(chainrule_version())
        return EXIT_OK
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    if isinstance(getattr(args, "data", None), str):  # fashion-mnist -> fashion_mnist
        from chainrule.data.datasets import canonical_name
        args.data = canonical_name(args.data)
    try:
        return args.func(args)
    except USER_ERRORS as e:
        print(f"chainrule {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `chainrule graph mlp | head`
        return EXIT_OK
    except OSError as e:  # a full disk, a read-only folder, a file where a folder should be
        print(f"chainrule {args.command}: error: {describe_os_error(e)}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError as e:
        print(f"chainrule {args.command}: error: out of memory"
              + (f": {e}" if str(e) else ""), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def console_main():
    """The ``chainrule`` command and ``python -m chainrule``: a process of chainrule's
    own, so the CPU tuning is on unless ``CHAINRULE_CPU_TUNE=0`` (see
    :mod:`chainrule.backend.cpu`); then :func:`main`."""
    tune_from_env(default=True)
    sys.exit(main())
