"""File-system faults in the ``chainrule`` command: each is one line
``chainrule CMD: error: PATH: reason`` on stderr with exit code 2, and nothing
half-written is left under a final name (no temp files, earlier checkpoints intact)."""
import errno
import os
import subprocess
import urllib.request

import pytest

from chainrule.cli import main
from chainrule.train.checkpoint import load_checkpoint
from chainrule.utils import serialization

FAST = ["--hidden-sizes", "16", "--epochs", "2", "--no-progress", "--quiet"]


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)

    def no_network(*a, **k):
        raise urllib.error.URLError("network disabled in tests")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def one_error_line(capsys, cmd="train"):
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"chainrule {cmd}: error: "), err
    return lines[0]


def temp_files(folder):
    return [f for f in os.listdir(folder) if f.endswith(serialization.TEMP_SUFFIX)]


def test_out_naming_a_regular_file(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    assert main(["train", "--out", str(target), *FAST]) == 2
    line = one_error_line(capsys)
    assert str(target) in line and "not a folder" in line
    assert target.read_text() == "keep me"


def test_out_under_a_regular_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "run"
    assert main(["train", "--out", str(out), *FAST]) == 2
    line = one_error_line(capsys)
    assert str(tmp_path / "file") in line and "Not a directory" in line


def test_read_only_folder(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as root: a read-only mode does not stop writes")
        assert main(["train", "--out", str(ro / "run"), *FAST]) == 2
        line = one_error_line(capsys)
        assert str(ro / "run") in line and "Permission denied" in line
    finally:
        ro.chmod(0o755)


def test_disk_full_on_the_second_save_keeps_the_first(tmp_path, monkeypatch, capsys):
    """ENOSPC while a checkpoint is written (simulated at fsync): the previous
    epoch's checkpoint stays whole and no temp file is left."""
    out = tmp_path / "run"
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if os.path.exists(out / "last.ckpt"):  # epoch 1 is on disk: the disk is full now
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)
    monkeypatch.setattr(serialization.os, "fsync", fsync)
    assert main(["train", "--out", str(out), *FAST]) == 2
    line = one_error_line(capsys)
    assert "No space left on device" in line and str(out) in line
    assert load_checkpoint(str(out / "last.ckpt"))["epoch"] == 1
    assert temp_files(out) == []


def _mount_tmpfs(folder, size):
    folder.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                            str(folder)], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"can't mount a tmpfs here: {e}")
    if r.returncode:
        pytest.skip(f"can't mount a tmpfs here: {r.stderr.strip()}")


def test_full_disk_on_a_tiny_tmpfs(tmp_path, capsys):
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "12k")
    try:
        out = disk / "run"
        assert main(["train", "--out", str(out), *FAST]) == 2
        line = one_error_line(capsys)
        assert "No space left on device" in line and str(out) in line
        assert temp_files(out) == []
        for name in os.listdir(out):  # whatever has a final name is complete
            if name.endswith(".ckpt"):
                load_checkpoint(str(out / name))
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_memory_error_is_one_line(tmp_path, monkeypatch, capsys):
    from chainrule.train import run as run_mod

    def no_memory(*a, **k):
        raise MemoryError()
    monkeypatch.setattr(run_mod, "_build", no_memory)
    assert main(["train", "--out", str(tmp_path / "run"), *FAST]) == 2
    assert "out of memory" in one_error_line(capsys)
