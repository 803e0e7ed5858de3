"""``chainrule run-torch script.py [args]``: run an unmodified PyTorch script on chainrule."""
import argparse

from chainrule.torch_compat.runner import run_script

__all__ = ["add_parser", "run"]


def add_parser(sub):
    r = sub.add_parser(
        "run-torch", help="run an unmodified PyTorch script with torch resolved to chainrule",
        description="Run SCRIPT with `torch` and `torchvision` resolved to chainrule; the "
                    "arguments after it are the script's own. Exit code: the script's, or 3 "
                    "where it uses a torch name chainrule does not implement yet.")
    r.add_argument("script", help="the PyTorch script to run")
    r.add_argument("script_args", nargs=argparse.REMAINDER, help="the script's own arguments")
    r.set_defaults(func=run)


def run(args):
    return run_script(args.script, args.script_args)
