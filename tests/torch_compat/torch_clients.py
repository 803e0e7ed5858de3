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


def run_client(script, *args, cwd, timeout=600, env=None, probes=()):
    """``python -m chainrule.torch_compat script args`` in ``cwd``; CompletedProcess.
    With ``probes`` (expressions, see ``PROBES``) the script runs the same way through
    ``tools/client_probe.py``, which prints each one's value after the script ends
    (:func:`probed` reads them back)."""
    e = dict(os.environ, MPLBACKEND="Agg", CHAINRULE_DATA=DATA or "",
             PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    e.update(env or {})   # the caller's settings win (a repeated MPLBACKEND was a TypeError)
    if probes:
        cmd = [sys.executable, os.path.join(ROOT, "tools", "client_probe.py"), "--chainrule",
               *[a for p in probes for a in ("--probe", p)], script, *args]
    else:
        cmd = [sys.executable, "-m", "chainrule.torch_compat", script, *args]
    return subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout)


def probed(text):
    """``{expr: value string}`` of the ``PROBE expr = value`` lines client_probe prints."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^PROBE (.*?) = (.*)$", text, re.M)}


# Numbers the tutorials compute but only plot or print at random, read from the
# script's globals after it ran (tools/client_probe.py), the same way on both sides.
PROBES = {
    # all_losses: the mean loss of each plot interval (1,000 steps for classification,
    # 500 for generation), 100 and 200 values: their means by tenths of the run
    "loss_tenths": ("[round(sum(all_losses[i:i + len(all_losses) // 10]) / "
                    "(len(all_losses) // 10), 3) for i in range(0, len(all_losses), "
                    "len(all_losses) // 10)]"),
    # the classification tutorial's confusion matrix is row-normalised after 10,000
    # random names: its diagonal mean is the per-language accuracy averaged over languages
    "confusion_acc": "round(float(confusion.diag().mean()), 4)",
    # the translation tutorial has no test split and prints 10 random translations: exact
    # matches of its own greedy evaluate() on 500 of its pairs, spread evenly
    "s2s_exact": ("round(sum([w for w in evaluate(encoder1, attn_decoder1, p[0])[0] "
                  "if w != '<EOS>'] == p[1].split() for p in pairs[::len(pairs) // 500]"
                  "[:500]) / 500, 3)"),
}


def floats_after(label, text):
    """Every number printed right after ``label`` (e.g. ``"loss: "``)."""
    return [float(m) for m in re.findall(re.escape(label) + r"\s*([-+0-9.eE]+)", text)]
