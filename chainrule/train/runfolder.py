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
