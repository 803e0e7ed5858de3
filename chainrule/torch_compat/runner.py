"""Run an unmodified PyTorch script on chainrule."""
import os
import runpy
import sys
import traceback

from chainrule.torch_compat.aliases import NotImplementedInChainrule, install, uninstall

__all__ = ["run_script", "EXIT_NOT_IMPLEMENTED"]

EXIT_NOT_IMPLEMENTED = 3


def _user_frame(tb, script):
    """The deepest traceback frame in the user's own code (not chainrule's)."""
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frames = [f for f in traceback.extract_tb(tb) if not os.path.abspath(f.filename).startswith(pkg)
              and "importlib" not in f.filename and os.path.basename(f.filename) != "runpy.py"]
    return frames[-1] if frames else None


def _missing_method(e):
    """``x.foo`` on a chainrule object: "torch.Tensor.foo" (or the class's name), else None."""
    obj, name = getattr(e, "obj", None), getattr(e, "name", None)
    cls = obj if isinstance(obj, type) else type(obj)
    if name is None or obj is None or not cls.__module__.startswith("chainrule."):
        return None
    owner = "torch.Tensor" if cls.__name__ == "Tensor" else cls.__name__
    return f"{owner}.{name}"


def _report(e, script):
    frame = _user_frame(e.__traceback__, script)
    where = f"{frame.filename}:{frame.lineno}: {frame.line}" if frame else script
    if isinstance(e, NotImplementedInChainrule):
        msg = str(e)
    elif isinstance(e, ModuleNotFoundError) and str(e).startswith("chainrule does not"):
        msg = str(e)
    else:
        msg = f"chainrule does not implement {_missing_method(e)} yet ({e})"
    print(f"{where}\n{msg}", file=sys.stderr)


def run_script(path, argv=()):
    """Run the script at ``path`` as ``__main__`` with ``sys.argv = [path, *argv]`` and
    ``torch``/``torchvision`` resolved to chainrule; returns an exit code (the script's
    own SystemExit code, 1 for an uncaught error, 3 for a torch name chainrule lacks)."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        print(f"run-torch: no such script: {path}", file=sys.stderr)
        return 2
    install()
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [path, *argv]
    sys.path.insert(0, os.path.dirname(path))
    try:
        runpy.run_path(path, run_name="__main__")
        return 0
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except (NotImplementedInChainrule, ModuleNotFoundError, AttributeError) as e:
        if isinstance(e, NotImplementedInChainrule) or _missing_method(e) \
                or str(e).startswith("chainrule does not"):
            traceback.print_exc() if os.environ.get("CHAINRULE_TRACEBACK") else None
            _report(e, path)
            return EXIT_NOT_IMPLEMENTED
        raise
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        uninstall()
