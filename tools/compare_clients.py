"""Run each real PyTorch client of issue #12 twice, unmodified, with the same arguments:
once under real PyTorch (a separate interpreter with torch + torchvision, never a
project dependency) and once on chainrule through the runner
(``python -m chainrule run-torch script.py args``), each in its own scratch working
directory laid out the way ``tests/torch_compat/torch_clients.py`` lays it out.
Records the final numbers each script prints and the wall time of each side, and
prints a Markdown table.

    PYTHONPATH=$PWD python tools/compare_clients.py --torch-python /work/venvs/tv/bin/python \\
        --only regression,tensorqs --side both --logdir /tmp/compare_clients
    PYTHONPATH=$PWD python tools/compare_clients.py --table --logdir /tmp/compare_clients

Both sides get OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1 (``--threads``),
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, MPLBACKEND=Agg, and run under ``nice``.
Results append to ``LOGDIR/results.jsonl`` (one line per run, the latest per client and
side wins in the table); each run's stdout/stderr stay in ``LOGDIR/<client>/<side>.log``.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "torch_compat"))
from torch_clients import (BASICS, DATA, EXAMPLES, INTERMEDIATE, PROBES, link,  # noqa: E402
                           link_mnist)


# ---------------------------------------------------------------- scratch layouts
def _mnist_parent(tmp):
    """MNIST at ``tmp/data/MNIST/raw``, script started in ``tmp/work`` (reads ``../data``)."""
    link_mnist(os.path.join(tmp, "data"))
    os.makedirs(os.path.join(tmp, "work"), exist_ok=True)
    return os.path.join(tmp, "work")


def _vae(tmp):
    cwd = _mnist_parent(tmp)
    os.makedirs(os.path.join(cwd, "results"), exist_ok=True)
    return cwd


def _mnist_here(tmp):
    link_mnist(os.path.join(tmp, "data"))
    return tmp


def _fashion(tmp):
    link_mnist(os.path.join(tmp, "data"), "FashionMNIST", "fashion-mnist")
    return tmp


def _wikitext(tmp):
    for split in ("train", "valid", "test"):
        link(os.path.join(DATA, "wikitext-2", f"wiki.{split}.tokens"),
             os.path.join(tmp, "data", "wikitext-2", f"{split}.txt"))
    return tmp


def _names(tmp):
    link(os.path.join(DATA, "names"), os.path.join(tmp, "data", "names"))
    return tmp


def _fra(tmp):
    link(os.path.join(DATA, "fra-eng", "fra.txt"), os.path.join(tmp, "data", "eng-fra.txt"))
    return tmp


def _plain(tmp):
    return tmp


# ---------------------------------------------------------------- what to read back
NUM = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def _last(rx, text):
    m = re.findall(rx, text)
    return m[-1] if m else None


def _first(rx, text):
    m = re.findall(rx, text)
    return m[0] if m else None


def _mnist_like(out):
    train = re.findall(r"Loss: " + NUM, out)
    test = re.findall(r"Test set: Average loss: " + NUM + r", Accuracy: (\d+)/(\d+)", out)
    r = {}
    if train:
        r["first train loss"], r["last train loss"] = train[0], train[-1]
    if test:
        loss, ok, n = test[-1]
        r["test loss"], r["test acc %"] = loss, f"{100 * int(ok) / int(n):.2f}"
    return r


def _vae_out(out):
    train = re.findall(r"Loss: " + NUM, out)
    r = {}
    if train:
        r["first train loss"], r["last train loss"] = train[0], train[-1]
    r["epoch avg loss"] = _last(r"Average loss: " + NUM, out)
    r["test loss"] = _last(r"Test set loss: " + NUM, out)
    return r


def _regression(out):
    return {"final loss": _last(r"Loss: " + NUM, out),
            "batches": _last(r"after (\d+) batches", out),
            "learned": _last(r"Learned function:\s*(.*)", out),
            "actual": _last(r"Actual function:\s*(.*)", out)}


def _tutorial_acc(out):
    acc = re.findall(r"Accuracy: " + NUM + r"%, Avg loss: " + NUM, out)
    r = {}
    if acc:
        r["epoch-1 acc %"], r["epoch-1 test loss"] = acc[0]
        r["final acc %"], r["final test loss"] = acc[-1]
    pred = _last(r"(Predicted: .*)", out)
    if pred:
        r["prediction"] = pred
    return r


def _dcgan(out):
    rows = re.findall(r"Loss_D: " + NUM + r" Loss_G: " + NUM + r" D\(x\): " + NUM
                      + r" D\(G\(z\)\): " + NUM + r" / " + NUM, out)
    r = {"iterations": str(len(rows))}
    if rows:
        r["first Loss_D/G"] = f"{rows[0][0]} / {rows[0][1]}"
        r["last Loss_D/G"] = f"{rows[-1][0]} / {rows[-1][1]}"
        r["last D(x), D(G(z))"] = f"{rows[-1][2]}, {rows[-1][4]}"
    return r


def _wlm(out):
    r = {}
    tr = re.findall(r"loss\s+" + NUM + r" \| ppl\s+" + NUM, out)
    if tr:
        r["first logged train ppl"], r["last logged train ppl"] = tr[0][1], tr[-1][1]
    r["valid ppl"] = _last(r"valid ppl\s+" + NUM, out)
    r["test ppl"] = _last(r"test ppl\s+" + NUM, out)
    return r


def _wlm_generate(out, cwd):
    p = os.path.join(cwd, "generated.txt")
    if os.path.exists(p):
        words = open(p, encoding="utf8").read().split()
        return {"generated": " ".join(words[:12]) + " ..."}
    return {}


def _time_seq(out):
    losses = re.findall(r"^loss: " + NUM, out, re.M)
    r = {"closure calls": str(len(losses))}
    if losses:
        r["first train loss"], r["last train loss"] = losses[0], losses[-1]
    r["test loss"] = _last(r"test loss: " + NUM, out)
    return r


def _char_rnn(out):
    # classification: "5000 5% (0m 8s) 2.4759 Name / guess ✓"; generation: "0m 8s (5000 5%) 2.47"
    losses = [float(m) for m in re.findall(r"\b\d+ \d+%\)? (?:\(\S+ \S+\) )?([0-9.]+)", out)]
    r = {"logged losses": str(len(losses))}
    if losses:
        r["first 5 mean"] = f"{sum(losses[:5]) / len(losses[:5]):.4f}"
        r["last 5 mean"] = f"{sum(losses[-5:]) / len(losses[-5:]):.4f}"
    return r


def _char_rnn_gen_samples(out):
    r = _char_rnn(out)
    tail = out[out.rfind("100000 100%"):].splitlines()[1:] if "100000 100%" in out else []
    samples = [s.strip() for s in tail if s.strip()][:6]
    if samples:
        r["samples"] = " ".join(samples)
    return r


def _char_rnn_cls(out):
    r = _char_rnn(out)
    preds = re.findall(r"^> (\S+)\n\(" + NUM + r"\) (\S+)", out, re.M)
    if preds:
        r["predictions"] = ", ".join(f"{n}->{c}" for n, _, c in preds)
    return r


def _seq2seq(out):
    losses = [float(m) for m in re.findall(r"\(\d+ \d+%\) " + NUM, out)]
    r = {"logged losses": str(len(losses))}
    if losses:
        r["first loss"], r["last loss"] = f"{losses[0]:.4f}", f"{losses[-1]:.4f}"
    return r


def _probes(out):
    """``PROBE expr = value`` lines printed by tools/client_probe.py."""
    return {m.group(1): m.group(2)[:300] for m in re.finditer(r"^PROBE (.*?) = (.*)$", out, re.M)}


def _tail(out, cwd=None):
    lines = [s for s in out.strip().splitlines() if s.strip()]
    return {"last line": lines[-1][:100]} if lines else {}


def _error(err):
    lines = [s for s in err.strip().splitlines() if s.strip()]
    return lines[-1][:160] if lines else ""


# ---------------------------------------------------------------- the clients
E, B, I = (lambda p: os.path.join(EXAMPLES, p)), (lambda p: os.path.join(BASICS, p)), \
    (lambda p: os.path.join(INTERMEDIATE, p))

# name: setup, [(script, args, parse[, probes])], torch-side extra env (why in the doc);
# probes are expressions read from the script's globals after it ran (client_probe.py)
# Arguments cut the work only through each script's own flags.
CLIENTS = {
    "regression": (_plain, [(E("regression/main.py"), [], _regression)], {}),
    "tensorqs": (_plain, [(B("tensorqs_tutorial.py"), [], _tail)], {}),
    "autogradqs": (_plain, [(B("autogradqs_tutorial.py"), [], _tail)], {}),
    "buildmodel": (_plain, [(B("buildmodel_tutorial.py"), [],
                             lambda o: {"predicted": _last(r"(Predicted class: .*)", o)})], {}),
    "transforms": (_fashion, [(B("transforms_tutorial.py"), [], _tail)], {}),
    "data": (_fashion, [(B("data_tutorial.py"), [],
                         lambda o: {"batch": _last(r"(Feature batch shape: .*)", o),
                                    "label": _last(r"(Label: .*)", o)})], {}),
    "saveloadrun": (_plain, [(B("saveloadrun_tutorial.py"), [], _tail)], {}),
    "mnist": (_mnist_parent, [(E("mnist/main.py"), ["--epochs", "1"], _mnist_like)], {}),
    "vae": (_vae, [(E("vae/main.py"), ["--epochs", "1"], _vae_out)], {}),
    "quickstart": (_fashion, [(B("quickstart_tutorial.py"), [], _tutorial_acc)], {}),
    "optimization": (_fashion, [(B("optimization_tutorial.py"), [], _tutorial_acc)], {}),
    # train.py reads traindata.pt back with a bare torch.load, which torch >= 2.6 refuses
    # (weights_only=True default); the environment switch below is torch's own way out
    "time_sequence_prediction": (_plain, [
        (E("time_sequence_prediction/generate_sine_wave.py"), [], _tail),
        (E("time_sequence_prediction/train.py"), ["--steps", "1"], _time_seq)],
        {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}),
    "mnist_rnn": (_mnist_parent, [(E("mnist_rnn/main.py"), ["--epochs", "1"], _mnist_like)], {}),
    "wlm_lstm": (_wikitext, [
        (E("word_language_model/main.py"),
         ["--epochs", "1", "--emsize", "32", "--nhid", "32", "--tied", "--log-interval", "500"],
         _wlm),
        (E("word_language_model/generate.py"), ["--words", "30"], _wlm_generate)], {}),
    "wlm_transformer": (_wikitext, [
        (E("word_language_model/main.py"),
         ["--model", "Transformer", "--epochs", "1", "--emsize", "32", "--nhid", "32",
          "--nhead", "2", "--lr", "5", "--log-interval", "500"], _wlm),
        (E("word_language_model/generate.py"), ["--words", "30"], _wlm_generate)], {}),
    "siamese": (_mnist_parent, [(E("siamese_network/main.py"), ["--epochs", "1"],
                                 _mnist_like)], {}),
    "siamese_dry": (_mnist_parent, [(E("siamese_network/main.py"), ["--epochs", "1",
                                                                    "--dry-run"],
                                     _mnist_like)], {}),
    "dcgan_dry": (_mnist_here, [(E("dcgan/main.py"),
                                 ["--dataset", "mnist", "--dataroot", "data", "--niter", "1",
                                  "--dry-run", "--manualSeed", "1", "--outf", "out"], _dcgan)],
                  {}),
    "dcgan": (_mnist_here, [(E("dcgan/main.py"),
                             ["--dataset", "mnist", "--dataroot", "data", "--niter", "1",
                              "--manualSeed", "1", "--outf", "out"], _dcgan)], {}),
    "char_rnn_classification": (_names, [(I("char_rnn_classification_tutorial.py"), [],
                                          _char_rnn_cls,
                                          [PROBES["loss_tenths"], PROBES["confusion_acc"]])],
                                {}),
    "char_rnn_generation": (_names, [(I("char_rnn_generation_tutorial.py"), [],
                                      _char_rnn_gen_samples, [PROBES["loss_tenths"]])], {}),
    "seq2seq_translation": (_fra, [(I("seq2seq_translation_tutorial.py"), [], _seq2seq,
                                    [PROBES["s2s_exact"]])], {}),
}


def _env(threads, extra):
    e = dict(os.environ)
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PYTHONPATH"):
        e.pop(k, None)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        e[k] = str(threads)
    e.update(MPLBACKEND="Agg", CHAINRULE_DATA=DATA or "", PYTHONUNBUFFERED="1", **extra)
    return e


def run_one(name, side, args):
    setup, steps, torch_env = CLIENTS[name]
    extra = args.extra.split() if args.extra else []
    if extra:  # e.g. another --seed: appended to the main (last) script's arguments
        steps = steps[:-1] + [(steps[-1][0], steps[-1][1] + extra, *steps[-1][2:])] \
            if len(steps) == 1 or steps[-1][2] is not _wlm_generate else \
            [(steps[0][0], steps[0][1] + extra, *steps[0][2:])] + steps[1:]
        name = f"{name} {args.extra}"
    tmp = os.path.join(args.logdir, name.replace(" ", "_"), side)
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    cwd = setup(tmp)
    env = _env(args.threads, torch_env if side == "torch" else {})
    if side == "chainrule":
        env["PYTHONPATH"] = ROOT
    nice = ["nice", "-n", str(args.nice)] if args.nice else []
    numbers, total, rc, err = {}, 0.0, 0, ""
    log = open(os.path.join(os.path.dirname(tmp), f"{side}.log"), "w")
    for script, sargs, parse, *probes in steps:
        probe = [a for e in (probes[0] if probes else []) for a in ("--probe", e)]
        py = args.torch_python if side == "torch" else sys.executable
        if probe:  # the same wrapper on both sides: run the script, then read its globals
            cmd = nice + [py, os.path.join(HERE, "client_probe.py")] \
                + (["--chainrule"] if side == "chainrule" else []) + probe + [script, *sargs]
        elif side == "torch":
            cmd = nice + [py, script, *sargs]
        else:
            cmd = nice + [py, "-m", "chainrule", "run-torch", script, *sargs]
        log.write("$ (cd %s && %s)\n" % (cwd, " ".join(cmd)))
        log.flush()
        t0 = time.time()
        outp, errp = (os.path.join(os.path.dirname(tmp), f"{side}.{k}") for k in ("out", "err"))
        with open(outp, "w") as fo, open(errp, "w") as fe:  # streamed: progress is visible
            try:
                rc = subprocess.run(cmd, cwd=cwd, env=env, stdout=fo, stderr=fe,
                                    timeout=args.timeout).returncode
                errtext = ""
            except subprocess.TimeoutExpired:
                errtext, rc = f"timed out after {args.timeout} s", 124
        out = open(outp, encoding="utf8", errors="replace").read()
        errtext = open(errp, encoding="utf8", errors="replace").read() + errtext
        dt = time.time() - t0
        total += dt
        log.write(out + "\n--- stderr ---\n" + errtext + f"\n--- rc {rc}, {dt:.1f} s ---\n")
        log.flush()
        try:
            got = parse(out, cwd) if parse in (_wlm_generate,) else parse(out)
        except Exception as ex:  # a parse failure must not lose the run
            got = {"parse error": repr(ex)}
        numbers.update({k: v for k, v in got.items() if v is not None})
        numbers.update(_probes(out))
        if rc != 0:
            err = _error(errtext)
            break
    log.close()
    load = os.getloadavg()
    rec = dict(client=name, side=side, rc=rc, wall_s=round(total, 1), numbers=numbers,
               error=err, load=[round(x, 2) for x in load],
               date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               args=[" ".join(os.path.relpath(s, os.path.dirname(EXAMPLES)) for s in [sc])
                     + (" " + " ".join(a) if a else "") for sc, a, *_ in steps])
    with open(os.path.join(args.logdir, "results.jsonl"), "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(f"{name:26s} {side:9s} rc={rc} {total:7.1f}s load={rec['load'][0]} {numbers}"
          + (f"  ERROR: {err}" if err else ""), flush=True)
    return rec


def table(logdir):
    recs = {}
    with open(os.path.join(logdir, "results.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            recs[(r["client"], r["side"])] = r
    order = {n: i for i, n in enumerate(CLIENTS)}
    names = sorted({c for c, _ in recs}, key=lambda c: (order.get(c.split()[0], 99), c))
    print("| client | side | exit | wall s | load (1 min) | numbers |")
    print("| --- | --- | --- | ---: | ---: | --- |")
    for n in names:
        for s in ("torch", "chainrule"):
            r = recs.get((n, s))
            if r is None:
                continue
            nums = "; ".join(f"{k} {v}" for k, v in r["numbers"].items())
            if r["error"]:
                nums += f"; error: `{r['error']}`"
            print(f"| {n} | {s} | {r['rc']} | {r['wall_s']} | {r['load'][0]} | {nums} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--torch-python", default="/work/venvs/tv/bin/python",
                    help="interpreter with real torch and torchvision (reference side)")
    ap.add_argument("--only", default="", help="comma-separated clients (default: all)")
    ap.add_argument("--side", choices=["torch", "chainrule", "both"], default="both")
    ap.add_argument("--logdir", default="/tmp/compare_clients")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--extra", default="", help="more flags of the script itself, e.g. "
                    "'--seed 2' (recorded as a separate row)")
    ap.add_argument("--nice", type=int, default=10)
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per script run")
    ap.add_argument("--table", action="store_true", help="print the table of recorded runs")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--diff", metavar="CLIENT",
                    help="unified diff of the two sides' recorded output of CLIENT")
    args = ap.parse_args()
    if args.list:
        print("\n".join(CLIENTS))
        return
    os.makedirs(args.logdir, exist_ok=True)
    if args.table:
        table(args.logdir)
        return
    if args.diff:
        import difflib
        a, b = (open(os.path.join(args.logdir, args.diff, f"{s}.out"), encoding="utf8")
                .read().splitlines() for s in ("torch", "chainrule"))
        print("\n".join(difflib.unified_diff(a, b, "torch", "chainrule", lineterm="", n=0)))
        return
    if EXAMPLES is None or DATA is None:
        sys.exit("shared/clients and shared/data are absent")
    names = [n for n in args.only.split(",") if n] or list(CLIENTS)
    for n in names:
        if n not in CLIENTS:
            sys.exit(f"unknown client {n!r}; --list shows them")
    sides = ["torch", "chainrule"] if args.side == "both" else [args.side]
    for n in names:
        for s in sides:
            run_one(n, s, args)


if __name__ == "__main__":
    main()
