"""FilesystemBlobStore's fast paths (the export reads every blob and streams one big zip):
- reads open first and check the opened file's own path (/proc/self/fd) instead of resolving
  the path component by component: the traversal guard must stay exactly as strict, with or
  without /proc (both variants run here), and a planted FIFO must not stall a read;
- stream() stops at the size it opened without a read() to see EOF: same bytes as before;
- put_stream hashes an object only up to S3's multipart threshold (past it the ETag has S3's
  multipart shape and changes with every rewrite) and starts writeback early; a failure
  leaves nothing behind."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from studiolab.adapters.local import fs_io
from studiolab.adapters.local.fs_blobstore import INTERNAL_DIR, FilesystemBlobStore
from studiolab.adapters.local.url_signer import UrlSigner
from studiolab.domain.errors import Forbidden, NotFound
from tests.contract.blob_fixtures import FakeClock

CHUNK = fs_io.COPY_CHUNK


def md5_etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


@pytest.fixture(params=["fd-paths", "realpath"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FilesystemBlobStore:
    blobs = FilesystemBlobStore(tmp_path / "blobs", UrlSigner(b"k" * 32, "http://x", FakeClock()))
    if request.param == "realpath":
        blobs._opened_paths = False  # as on a system without /proc
    elif not blobs._opened_paths:
        pytest.skip("no /proc/self/fd here")
    return blobs


def read_all(store: FilesystemBlobStore, key: str, chunk_size: int = 1 << 20) -> bytes:
    return b"".join(store.stream(key, chunk_size=chunk_size))


def readers(store: FilesystemBlobStore, key: str) -> list[Callable[[], Any]]:
    return [
        lambda: store.get(key),
        lambda: store.head(key),
        lambda: read_all(store, key),
    ]


def test_proc_fd_paths_are_used_on_linux(tmp_path: Path) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("no /proc")
    blobs = FilesystemBlobStore(tmp_path / "b", UrlSigner(b"k" * 32, "http://x", FakeClock()))
    assert blobs._opened_paths


def test_symlinked_directory_outside_is_forbidden_whether_the_target_exists_or_not(
    store: FilesystemBlobStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    (store.root / "raw").symlink_to(outside, target_is_directory=True)
    for key in ("raw/secret.txt", "raw/absent.txt", "raw/sub/absent.txt"):
        for read in readers(store, key):
            with pytest.raises(Forbidden):
                read()


def test_symlinked_file_outside_is_forbidden(store: FilesystemBlobStore, tmp_path: Path) -> None:
    (tmp_path / "passwd").write_bytes(b"root:x")
    (store.root / "leak").symlink_to(tmp_path / "passwd")
    (store.root / "dangling").symlink_to(tmp_path / "nothing-here")
    for key in ("leak", "dangling"):
        for read in readers(store, key):
            with pytest.raises(Forbidden):
                read()


def test_symlinks_that_stay_inside_are_followed(store: FilesystemBlobStore) -> None:
    store.put("real/a.jpg", b"inside")
    (store.root / "alias").symlink_to(store.root / "real", target_is_directory=True)
    (store.root / "file-alias").symlink_to(Path("real") / "a.jpg")  # relative, inside
    assert store.get("alias/a.jpg") == b"inside"
    assert read_all(store, "file-alias") == b"inside"
    assert store.head("alias/a.jpg").etag == md5_etag(b"inside")


def test_the_root_directory_itself_is_not_an_object(store: FilesystemBlobStore) -> None:
    (store.root / "up").symlink_to(store.root, target_is_directory=True)
    (store.root / "dir").mkdir()
    for key in ("up", "dir"):
        for read in readers(store, key):
            with pytest.raises((NotFound, Forbidden)):
                read()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_planted_fifo_does_not_stall_a_read(store: FilesystemBlobStore, tmp_path: Path) -> None:
    os.mkfifo(store.root / "pipe")
    os.mkfifo(tmp_path / "outside-pipe")
    (store.root / "to-outside-pipe").symlink_to(tmp_path / "outside-pipe")
    outcomes: list[type[BaseException]] = []

    def attempt() -> None:
        for key in ("pipe", "to-outside-pipe"):
            for read in readers(store, key):
                try:
                    read()
                except (NotFound, Forbidden) as error:
                    outcomes.append(type(error))

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=10)
    stalled = worker.is_alive()
    if stalled:  # unblock it: open the FIFOs for writing
        for fifo in (store.root / "pipe", tmp_path / "outside-pipe"):
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_RDWR))
    assert not stalled, "a read blocked on a FIFO"
    expected_inside = [NotFound] * 3
    expected_outside = [Forbidden] * 3
    assert outcomes == expected_inside + expected_outside


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 4000, 4001])
def test_stream_returns_exactly_the_object(store: FilesystemBlobStore, size: int) -> None:
    data = os.urandom(size)
    store.put("obj.bin", data)
    chunks = list(store.stream("obj.bin", chunk_size=1000))
    assert b"".join(chunks) == data
    assert all(0 < len(chunk) <= 1000 for chunk in chunks)
    assert len(chunks) == -(-size // 1000)


def test_a_stream_sees_the_object_it_opened(store: FilesystemBlobStore) -> None:
    store.put("obj.bin", b"a" * 3000)
    stream = store.stream("obj.bin", chunk_size=1000)
    first = next(stream)
    store.put("obj.bin", b"b" * 5000)  # replaced (atomically) while being read
    assert first + b"".join(stream) == b"a" * 3000
    assert read_all(store, "obj.bin") == b"b" * 5000


class Raw(io.RawIOBase):
    """A raw stream whose readinto returns short counts (as a pipe may), optionally failing
    after `fail_after` bytes."""

    def __init__(self, data: bytes, step: int, fail_after: int | None = None) -> None:
        super().__init__()
        self.data, self.step, self.pos, self.fail_after = data, step, 0, fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.fail_after is not None and self.pos >= self.fail_after:
            raise ConnectionResetError("producer went away")
        count = min(len(buffer), self.step, len(self.data) - self.pos)
        buffer[:count] = self.data[self.pos : self.pos + count]
        self.pos += count
        return count


LIMIT = fs_io.STREAM_MD5_LIMIT
SIZES = [0, 10, CHUNK - 1, CHUNK, CHUNK + 1, LIMIT - 1, LIMIT]


@pytest.mark.parametrize("size", SIZES)
def test_put_stream_up_to_the_multipart_threshold_has_the_md5_etag(
    store: FilesystemBlobStore, size: int
) -> None:
    data = os.urandom(size)
    for step in (CHUNK, 300_001):
        info = store.put_stream("exports/x.zip", Raw(data, step))  # type: ignore[arg-type]
        assert (info.size, info.etag) == (size, md5_etag(data))
        assert store.head("exports/x.zip").etag == info.etag
        assert store.get("exports/x.zip") == data
    # the read()-only path (no readinto) agrees
    assert store.put_stream("exports/y.zip", io.BytesIO(data)).etag == md5_etag(data)


@pytest.mark.parametrize("size", [LIMIT + 1, 2 * LIMIT + 12345])
def test_put_stream_past_the_threshold_has_a_multipart_etag_that_changes_on_rewrite(
    store: FilesystemBlobStore, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[int] = []
    real_md5 = hashlib.md5

    class CountingMd5:  # how many bytes of the object went through MD5
        def __init__(self, data: bytes = b"", **kwargs: Any) -> None:
            self._md5 = real_md5(data, **kwargs)

        def update(self, data: Any) -> None:
            hashed.append(len(data))
            self._md5.update(data)

        def hexdigest(self) -> str:
            return self._md5.hexdigest()

    data = os.urandom(size)
    etags = set()
    for step, source in ((CHUNK, Raw(data, CHUNK)), (None, io.BytesIO(data))):
        hashed.clear()
        monkeypatch.setattr(hashlib, "md5", CountingMd5)
        info = store.put_stream("exports/x.zip", source)  # type: ignore[arg-type]
        monkeypatch.setattr(hashlib, "md5", real_md5)
        parts = -(-size // LIMIT)
        assert re.fullmatch(rf'"[0-9a-f]{{32}}-{parts}"', info.etag), (step, info.etag)
        assert info.etag != md5_etag(data)
        assert sum(hashed) <= LIMIT  # the bytes past the threshold were not hashed
        assert store.head("exports/x.zip").etag == info.etag
        assert store.get("exports/x.zip") == data
        etags.add(info.etag)
    assert len(etags) == 2  # the same bytes written again: a new object, a new ETag


def test_big_put_stream_failing_midway_leaves_nothing(store: FilesystemBlobStore) -> None:
    data = os.urandom(6 * CHUNK)
    with pytest.raises(ConnectionResetError):
        store.put_stream(
            "exports/x.zip",
            Raw(data, CHUNK, fail_after=4 * CHUNK),  # type: ignore[arg-type]
        )
    assert not store.exists("exports/x.zip")
    assert os.listdir(store.root / INTERNAL_DIR / "tmp") == []


def test_big_put_stream_starts_writeback_behind_itself(
    store: FilesystemBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    advised: list[tuple[int, int]] = []

    def fadvise(fd: int, offset: int, length: int, advice: int) -> None:
        assert os.fstat(fd).st_size >= offset + length  # only ranges already written
        advised.append((offset, length))

    monkeypatch.setattr(fs_io, "_fadvise", fadvise)
    monkeypatch.setattr(fs_io, "WRITEBACK_STEP", 2 * CHUNK)
    data = os.urandom(7 * CHUNK + 5)
    info = store.put_stream("exports/x.zip", Raw(data, CHUNK))  # type: ignore[arg-type]
    assert info.etag == md5_etag(data) and store.get("exports/x.zip") == data
    assert advised == [(0, 2 * CHUNK), (2 * CHUNK, 2 * CHUNK), (4 * CHUNK, 2 * CHUNK)]
