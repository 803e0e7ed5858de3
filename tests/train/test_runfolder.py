"""The run-folder contract (chainrule/train/runfolder.py): a lock while a run writes,
a stale lock of a dead process taken over, a finished run never replaced without
--resume or --overwrite, temp files of an interrupted save removed at the next start."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from chainrule.cli import main
from chainrule.train.runfolder import LOCK_NAME, RunFolderError, RunLock, open_run_folder

FAST = ["--hidden-sizes", "16", "--scheduler", "none", "--epochs", "2", "--no-progress",
        "--quiet"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: 1 / 0)


def losses(out):
    return [h["train_loss"] for h in json.loads((out / "history.json").read_text())]


def holder(folder):
    """A separate process holding the run lock of ``folder`` (until killed)."""
    code = ("import sys, time; from chainrule.train.runfolder import RunLock; "
            "RunLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(60)")
    env = {**os.environ, "PYTHONPATH": ROOT}
    p = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE,
                         text=True, env=env)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_second_run_refused_then_stale_lock_taken_over(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    p = holder(out)
    try:
        assert main(["train", "--out", str(out), *FAST]) == 2
        err = capsys.readouterr().err
        assert f"another run (process {p.pid}) is writing to this folder" in err
        assert not (out / "last.ckpt").exists()
    finally:
        p.send_signal(signal.SIGKILL)  # like kill -9: the lock file stays behind
        p.wait()
    assert (out / LOCK_NAME).read_text().strip() == str(p.pid)
    assert main(["train", "--out", str(out), *FAST]) == 0
    text = capsys.readouterr().out
    assert f"took over the lock of {out} left by process {p.pid}" in text
    assert not (out / LOCK_NAME).exists()  # released at the end


def test_finished_run_is_not_replaced_without_resume_or_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *FAST]) == 0
    first = losses(out)
    before = (out / "best.ckpt").read_bytes()
    capsys.readouterr()
    assert main(["train", "--out", str(out), *FAST, "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert f"{out}: the folder is not empty (best.ckpt, curves.png" in err
    assert "--resume" in err and "--overwrite" in err
    assert (out / "best.ckpt").read_bytes() == before and losses(out) == first
    assert main(["train", "--out", str(out), *FAST, "--epochs", "1", "--overwrite"]) == 0
    assert losses(out) == first[:1]  # replaced by the 1-epoch run, same seed
    assert main(["train", "--resume", str(out / "last.ckpt"), "--epochs", "2",
                 "--no-progress", "--quiet"]) == 0
    assert losses(out) == first  # resumed into its own folder, bit for bit
    assert main(["train", "--resume", str(out / "last.ckpt"), "--overwrite"]) == 2
    assert "--overwrite: replaces a run; it does not go with resume" in \
        capsys.readouterr().err


def test_temp_files_of_an_interrupted_save_are_removed(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *FAST]) == 0
    (out / ".last.ckptk2j3.tmp").write_bytes(b"half a checkpoint")
    assert main(["train", "--resume", str(out / "last.ckpt"), "--epochs", "3",
                 "--no-progress", "--quiet"]) == 0
    assert not (out / ".last.ckptk2j3.tmp").exists()


def test_lock_api(tmp_path):
    with open_run_folder(tmp_path / "a") as lock:
        assert (tmp_path / "a" / LOCK_NAME).read_text().strip() == str(os.getpid())
        with pytest.raises(RunFolderError, match="another run"):
            RunLock(tmp_path / "a").acquire()  # a second open of the file conflicts
        assert lock.taken_over is None
    assert not (tmp_path / "a" / LOCK_NAME).exists()
    (tmp_path / "f").write_text("x")
    with pytest.raises(RunFolderError, match="exists and is not a folder"):
        open_run_folder(tmp_path / "f")


def test_kill_9_then_resume_gives_the_uninterrupted_losses(tmp_path):
    """A run killed with SIGKILL mid-training (maybe mid-save) leaves its lock and
    perhaps a temp file; the resumed run takes both over and ends with exactly the
    losses of a run never interrupted."""
    args = ["--hidden-sizes", "16", "--scheduler", "none", "--epochs", "15",
            "--no-progress", "--quiet"]
    straight = tmp_path / "straight"
    assert main(["train", "--out", str(straight), *args]) == 0
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": ROOT}
    p = subprocess.Popen([sys.executable, "-m", "chainrule", "train", "--out", str(out),
                          *args], env=env, stdout=subprocess.DEVNULL)
    try:
        while not (out / "last.ckpt").exists() and p.poll() is None:
            time.sleep(0.005)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    if p.returncode == 0:
        pytest.skip("the run finished before it could be killed")
    assert main(["train", "--resume", str(out / "last.ckpt"), *args]) == 0
    assert losses(out) == losses(straight)
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]
