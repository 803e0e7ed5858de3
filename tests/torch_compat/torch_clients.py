"""Run the real PyTorch client scripts in ``shared/clients`` through the runner, each in
a scratch working directory laid out the way the script expects its data (see
``shared/clients/README.md``).  Nothing of the scripts is copied here."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _first_dir(*candidates):
    return next((c for c in candidates if c and os.path.isdir(c)), None)


SHARED = _first_dir(os.environ.get("CHAINRULE_SHARED"), os.path.join(ROOT, "..", "shared"),
                    "/work/shared")
CLIENTS = _first_dir(SHARED and os.path.join(SHARED, "clients"))
DATA = _first_dir(os.environ.get("CHAINRULE_DATA"), SHARED and os.path.join(SHARED, "data"))
EXAMPLES = CLIENTS and os.path.join(CLIENTS, "pytorch-examples")
BASICS = CLIENTS and os.path.join(CLIENTS, "pytorch-tutorials", "beginner_source", "basics")
INTERMEDIATE = CLIENTS and os.path.join(CLIENTS, "pytorch-tutorials", "intermediate_source")


def link_mnist(root, name="MNIST", folder="mnist"):
    """``root/<name>/raw/*.gz`` -> the shared data (torchvision's layout)."""
    raw = os.path.join(root, name, "raw")
    os.makedirs(raw, exist_ok=True)
    for f in os.listdir(os.path.join(DATA, folder)):
        if f.endswith(".gz") and not os.path.exists(os.path.join(raw, f)):
            os.symlink(os.path.join(DATA, folder, f), os.path.join(raw, f))
    return root


def link(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if not os.path.exists(dst):
        os.symlink(src, dst)


def run_client(script, *args, cwd, timeout=600, env=None):
    """``python -m chainrule.torch_compat script args`` in ``cwd``; CompletedProcess."""
    e = dict(os.environ, MPLBACKEND="Agg", CHAINRULE_DATA=DATA or "",
             PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {}))
    return subprocess.run([sys.executable, "-m", "chainrule.torch_compat", script, *args],
                          cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout)


def floats_after(label, text):
    """Every number printed right after ``label`` (e.g. ``"loss: "``)."""
    return [float(m) for m in re.findall(re.escape(label) + r"\s*([-+0-9.eE]+)", text)]
