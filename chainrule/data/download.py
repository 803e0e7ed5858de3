"""One shared download helper: local data folder, cache, checksums, atomic writes.

Where files are looked for, in order (:func:`find_file`):

1. ``$CHAINRULE_DATA/<dataset>/<filename>`` -- a folder you filled yourself
   (e.g. an offline copy of the datasets); never written to.
2. ``<root>/<dataset>/<filename>`` where ``root`` is the argument, else the cache
   ``$CHAINRULE_CACHE`` (default ``~/.cache/chainrule``).
3. A download from the dataset's URLs into (2), verified against its SHA-256.

Downloads go to a temporary file in the target folder, are fsync'ed and verified,
then renamed over the final name with ``os.replace``: an interrupted or corrupt
download never leaves a partial file under the final name.
"""
import hashlib
import http.client
import os
import socket
import tempfile
import urllib.error
import urllib.request

__all__ = ["cache_dir", "data_dir", "download", "find_file", "sha256_file", "local_file",
           "ChecksumError"]

_CHUNK = 1 << 20


class ChecksumError(RuntimeError):
    """A file's SHA-256 differs from the expected value."""


def cache_dir():
    """``$CHAINRULE_CACHE`` or ``~/.cache/chainrule``."""
    return os.environ.get("CHAINRULE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "chainrule")


def data_dir():
    """``$CHAINRULE_DATA`` (a read-only folder of ``<dataset>/<file>``) or ``None``."""
    return os.environ.get("CHAINRULE_DATA") or None


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify(path, sha256):
    if sha256 is None:
        return
    got = sha256_file(path)
    if got != sha256.lower():
        raise ChecksumError(f"checksum mismatch for {path}: expected sha256 {sha256.lower()}, "
                            f"got {got}. The file is corrupt or a different version; "
                            "delete it (or fix CHAINRULE_DATA) and try again.")


def _offline_error(filename, url, err):
    return RuntimeError(
        f"could not download {filename!r} from {url} ({type(err).__name__}: {err}). "
        "If this machine is offline, set CHAINRULE_DATA to a folder holding "
        "<dataset>/<file> copies of the data files (see docs/datasets.md).")


def download(url, root, filename=None, sha256=None, timeout=30):
    """Download ``url`` to ``root/filename`` atomically; return the path.

    An existing file with the right checksum is reused.  Network failures raise a
    ``RuntimeError`` naming the file and the URL; a wrong checksum raises
    :class:`ChecksumError` naming both hashes (and keeps no file).
    """
    filename = filename or os.path.basename(url.split("?")[0])
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, filename)
    if os.path.isfile(path):
        if sha256 is None or sha256_file(path) == sha256.lower():
            return path
    fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=root)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                req = urllib.request.Request(url, headers={"User-Agent": "chainrule"})
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    for chunk in iter(lambda: resp.read(_CHUNK), b""):
                        out.write(chunk)
                        h.update(chunk)
            except (urllib.error.URLError, socket.timeout, TimeoutError,
                    ConnectionError, http.client.HTTPException) as e:
                raise _offline_error(filename, url, e) from e
            out.flush()
            os.fsync(out.fileno())
        if sha256 is not None and h.hexdigest() != sha256.lower():
            raise ChecksumError(f"checksum mismatch for {filename} downloaded from {url}: "
                                f"expected sha256 {sha256.lower()}, got {h.hexdigest()}")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return path


def local_file(dataset, filename, sha256=None, root=None):
    """The path of an already present copy (CHAINRULE_DATA first, then root/cache), or None.

    A copy with a wrong checksum raises :class:`ChecksumError`.
    """
    for base in (data_dir(), root or cache_dir()):
        if base is None:
            continue
        path = os.path.join(base, dataset, filename)
        if os.path.isfile(path):
            _verify(path, sha256)
            return path
    return None


def find_file(dataset, filename, urls, sha256=None, root=None, download_ok=True, timeout=30):
    """Path of ``<dataset>/<filename>``: CHAINRULE_DATA, then cache (or ``root``), then
    a download from the first working URL of ``urls`` (mirrors tried in order)."""
    path = local_file(dataset, filename, sha256, root)
    if path is not None:
        return path
    target = os.path.join(root or cache_dir(), dataset)
    if not download_ok:
        raise RuntimeError(f"{dataset}/{filename} not found in CHAINRULE_DATA "
                           f"({data_dir()}) or {target}, and download=False")
    if isinstance(urls, str):
        urls = [urls]
    errors = []
    for url in urls:
        try:
            return download(url, target, filename, sha256, timeout)
        except ChecksumError:
            raise
        except RuntimeError as e:
            errors.append(str(e))
    if not urls:
        raise RuntimeError(f"{dataset}/{filename}: no download URL known; set CHAINRULE_DATA "
                           "to a folder holding <dataset>/<file>")
    raise RuntimeError("; ".join(errors) if len(errors) == 1 else
                       f"all {len(errors)} mirrors failed for {dataset}/{filename}:\n  "
                       + "\n  ".join(errors))
