"""download / find_file: checksums, offline errors, atomic writes.  Never touches the network."""
import hashlib
import io
import os
import urllib.error
import urllib.request

import pytest

from chainrule.data import download as dl

PAYLOAD = b"chainrule test payload\n" * 1000
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)

    def no_network(*a, **k):
        raise AssertionError("test tried to use the network")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)


class FakeResponse(io.BytesIO):
    def __init__(self, data, fail_after=None):
        super().__init__(data)
        self.fail_after = fail_after

    def read(self, n=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise ConnectionResetError("connection reset by peer")
        return super().read(min(n, 4096) if n and n > 0 else n)


def _serve(monkeypatch, data, fail_after=None, calls=None):
    def urlopen(req, timeout=None):
        if calls is not None:
            calls.append(req.full_url)
        return FakeResponse(data, fail_after)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)


def test_download_ok_verified_and_cached(tmp_path, monkeypatch):
    calls = []
    _serve(monkeypatch, PAYLOAD, calls=calls)
    p = dl.download("http://example.invalid/x/file.bin", str(tmp_path / "d"), sha256=SHA)
    assert os.path.basename(p) == "file.bin" and open(p, "rb").read() == PAYLOAD
    dl.download("http://example.invalid/x/file.bin", str(tmp_path / "d"), sha256=SHA)
    assert len(calls) == 1  # second call reuses the verified file
    assert os.listdir(tmp_path / "d") == ["file.bin"]


def test_download_checksum_mismatch_keeps_nothing(tmp_path, monkeypatch):
    _serve(monkeypatch, PAYLOAD[:-1] + b"X")
    with pytest.raises(dl.ChecksumError, match=f"expected sha256 {SHA}, got [0-9a-f]{{64}}"):
        dl.download("http://example.invalid/f.bin", str(tmp_path), sha256=SHA)
    assert os.listdir(tmp_path) == []


def test_interrupted_download_leaves_no_file(tmp_path, monkeypatch):
    _serve(monkeypatch, PAYLOAD, fail_after=len(PAYLOAD) // 2)
    with pytest.raises(RuntimeError, match="f.bin") as ei:
        dl.download("http://example.invalid/f.bin", str(tmp_path), "f.bin", SHA)
    assert isinstance(ei.value.__cause__, ConnectionResetError)
    assert os.listdir(tmp_path) == []  # no partial file, no temp file


def test_offline_error_message(tmp_path, monkeypatch):
    def offline(req, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(RuntimeError) as ei:
        dl.find_file("mnist", "t.gz", ["http://mirror.invalid/t.gz"], SHA)
    msg = str(ei.value)
    assert "'t.gz'" in msg and "http://mirror.invalid/t.gz" in msg and "CHAINRULE_DATA" in msg
    with pytest.raises(RuntimeError, match="all 2 mirrors failed"):
        dl.find_file("mnist", "t.gz", ["http://a.invalid/t.gz", "http://b.invalid/t.gz"], SHA)
    with pytest.raises(RuntimeError, match="download=False"):
        dl.find_file("mnist", "t.gz", ["http://a.invalid/t.gz"], SHA, download_ok=False)


def test_find_file_prefers_chainrule_data_then_cache(tmp_path, monkeypatch):
    data = tmp_path / "data" / "toy"
    data.mkdir(parents=True)
    (data / "f.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    assert dl.find_file("toy", "f.bin", [], SHA) == str(data / "f.bin")
    monkeypatch.delenv("CHAINRULE_DATA")
    _serve(monkeypatch, PAYLOAD)
    p = dl.find_file("toy", "f.bin", ["http://example.invalid/f.bin"], SHA)
    assert p == os.path.join(dl.cache_dir(), "toy", "f.bin")
    assert p.startswith(str(tmp_path / "cache"))


def test_corrupted_local_file_is_reported(tmp_path, monkeypatch):
    data = tmp_path / "data" / "toy"
    data.mkdir(parents=True)
    (data / "f.bin").write_bytes(b"corrupted")
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    bad = hashlib.sha256(b"corrupted").hexdigest()
    with pytest.raises(dl.ChecksumError) as ei:
        dl.find_file("toy", "f.bin", [], SHA)
    assert "f.bin" in str(ei.value) and SHA in str(ei.value) and bad in str(ei.value)


def test_cache_dir_default(monkeypatch):
    monkeypatch.delenv("CHAINRULE_CACHE")
    assert dl.cache_dir() == os.path.join(os.path.expanduser("~"), ".cache", "chainrule")
