"""The run-folder contract: one run writes a folder at a time, and a finished run is
never replaced by accident.

* ``--out`` must be a folder (or not exist yet: it is made).
* While a run writes, the folder holds ``.lock`` with the writer's pid, held with an
  ``flock`` (the kernel drops it when the process dies, even on ``kill -9``).  A second
  run on the same folder is refused; a lock file left by a dead process is taken over.
* A folder that already holds run files is refused unless the run resumes
  (``--resume``) or replaces it (``--overwrite``, which first deletes the old run's
  files).
* Temp files of an interrupted atomic save (``.<name>XXXX.tmp``) are removed when the
  next run takes the lock.
"""
import os

from chainrule.utils.serialization import TEMP_SUFFIX

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the pid check alone
    fcntl = None

__all__ = ["RunFolderError", "RunLock", "open_run_folder", "RUN_FILES", "LOCK_NAME"]

LOCK_NAME = ".lock"
# what a run writes; --overwrite deletes these (and nothing else)
RUN_FILES = ("last.ckpt", "best.ckpt", "history.csv", "history.json", "curves.png")


class RunFolderError(ValueError):
    """``--out`` can't be used: not a folder, in use by another run, or holding a
    finished run (without resume or overwrite)."""


def check_folder(out):
    """``out`` as a path that is a folder or can become one."""
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise RunFolderError(f"{out}: exists and is not a folder (--out names the run's "
                             f"output folder)")
    return out


def _alive(pid):
    """Whether process ``pid`` runs (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return False
    return True


class RunLock:
    """``folder/.lock`` held while a run writes ``folder``: the writer's pid in the
    file, an exclusive ``flock`` on it.  ``taken_over`` is the pid of a dead process
    whose lock file was found (None when there was none)."""

    def __init__(self, folder):
        self.folder = os.fspath(folder)
        self.path = os.path.join(self.folder, LOCK_NAME)
        self.fd, self.taken_over = None, None

    def acquire(self):
        for _ in range(10):  # retried only when the file was replaced under us
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                previous = self._claim(fd)
            except BaseException:
                os.close(fd)
                raise
            if previous is not False:
                self.fd = fd
                self.taken_over = previous
                return self
            os.close(fd)
        raise RunFolderError(f"{self.folder}: can't take the run lock {self.path}")

    def _claim(self, fd):
        """The pid of a dead previous holder (or None); False when the lock file was
        unlinked meanwhile (retry); raises when a live run holds it."""
        holder = _read_pid(fd)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise RunFolderError(self._busy(holder)) from None
            try:
                if os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                    return False
            except FileNotFoundError:
                return False
        elif holder and holder != os.getpid() and _alive(holder):
            raise RunFolderError(self._busy(holder))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return holder if holder and holder != os.getpid() else None

    def _busy(self, pid):
        who = f"process {pid}" if pid else "another process"
        return (f"{self.folder}: another run ({who}) is writing to this folder "
                f"(lock {self.path}); wait for it to finish or choose another --out")

    def release(self):
        if self.fd is None:
            return
        try:
            os.unlink(self.path)  # while still holding it: a waiter retries on a new file
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _read_pid(fd):
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


def _is_temp(name):
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def open_run_folder(out, resume=False, overwrite=False):
    """Make ``out`` if needed, lock it for this run, remove the temp files of an
    interrupted save, and apply the contract: a folder that already holds files is
    refused unless ``resume`` (continue the run) or ``overwrite`` (delete the old run's
    files first).  Returns the held :class:`RunLock` (a context manager)."""
    out = check_folder(out)
    os.makedirs(out, exist_ok=True)
    lock = RunLock(out).acquire()
    try:
        names = [n for n in os.listdir(out) if n != LOCK_NAME]
        for n in names:
            if _is_temp(n):
                os.unlink(os.path.join(out, n))
        names = sorted(n for n in names if not _is_temp(n))
        if names and overwrite:
            for n in names:
                if n in RUN_FILES:
                    os.unlink(os.path.join(out, n))
        elif names and not resume:
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            raise RunFolderError(
                f"{out}: the folder is not empty ({shown}); pass --resume "
                f"{os.path.join(out, 'last.ckpt')} to continue that run, --overwrite to "
                f"replace it, or choose another --out")
    except BaseException:
        lock.release()
        raise
    return lock
