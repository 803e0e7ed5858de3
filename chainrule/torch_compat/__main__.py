"""``python -m chainrule.torch_compat script.py [args]``: run a PyTorch script on chainrule."""
import sys

from chainrule.torch_compat.runner import run_script


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    return run_script(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
