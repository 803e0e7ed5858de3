"""Run an unmodified client script as ``__main__``, then print expressions evaluated in
the namespace it leaves behind: the numbers a tutorial only plots (``all_losses``, a
confusion matrix) become comparable without touching its code.

    python tools/client_probe.py [--chainrule] --probe EXPR [--probe EXPR ...] -- SCRIPT ARGS

Each probe prints one line ``PROBE <expr> = <value>``.  Without ``--chainrule`` the
script runs on whatever ``torch`` the interpreter has (the reference side: this file
imports nothing of chainrule then); with it, ``torch``/``torchvision`` resolve to
chainrule as under ``chainrule run-torch``.  Used by ``tools/compare_clients.py``.
"""
import argparse
import os
import runpy
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chainrule", action="store_true")
    ap.add_argument("--probe", action="append", default=[])
    ap.add_argument("script")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    path = os.path.abspath(a.script)
    if a.chainrule:
        from chainrule.torch_compat import install
        install()
    sys.argv = [path, *a.args]
    sys.path.insert(0, os.path.dirname(path))
    ns = runpy.run_path(path, run_name="__main__")
    for expr in a.probe:
        try:
            val = eval(expr, ns)
        except Exception as ex:  # a probe that cannot be read must not hide the others
            val = f"<{type(ex).__name__}: {ex}>"
        print(f"PROBE {expr} = {val}", flush=True)


if __name__ == "__main__":
    main()
