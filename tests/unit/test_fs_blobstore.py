"""FilesystemBlobStore details the contract suite cannot see: containment, crash safety,
bookkeeping, events and the local server's signed GET / PUT helpers."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import threading
import time
from pathlib import Path

import pytest

from studiolab.adapters.local import fs_blobstore, fs_io
from studiolab.adapters.local.blob_events import QueuedBlobEvents
from studiolab.adapters.local.fs_blobstore import INTERNAL_DIR, FilesystemBlobStore
from studiolab.adapters.local.url_signer import UrlSigner
from studiolab.domain.errors import (
    BackendError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
)
from studiolab.domain.s3events import parse_object_created
from tests.contract.blob_fixtures import FakeClock, RecordingEvents, RecordingJobs

BASE = "http://127.0.0.1:8765"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def signer(clock: FakeClock) -> UrlSigner:
    return UrlSigner(b"k" * 32, BASE, clock)


@pytest.fixture
def events() -> RecordingEvents:
    return RecordingEvents()


@pytest.fixture
def store(tmp_path: Path, signer: UrlSigner, events: RecordingEvents) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs", signer, events=events)


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


# layout and containment


def test_objects_are_plain_files_under_root(store: FilesystemBlobStore) -> None:
    store.put("raw/p1/a.jpg", b"jpeg")
    assert (store.root / "raw" / "p1" / "a.jpg").read_bytes() == b"jpeg"
    visible = [name for name in os.listdir(store.root) if not name.startswith(".")]
    assert visible == ["raw"]
    assert os.listdir(store.root / "raw" / "p1") == ["a.jpg"]  # no sidecar, no temp file


def test_symlinked_directory_pointing_outside_is_refused(
    store: FilesystemBlobStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    (store.root / "raw").symlink_to(outside, target_is_directory=True)
    with pytest.raises(Forbidden):
        store.put("raw/new.txt", b"x")
    with pytest.raises(Forbidden):
        store.get("raw/secret.txt")
    with pytest.raises(Forbidden):
        store.head("raw/secret.txt")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert [info.key for info in store.list()] == []
    assert [info.key for info in store.list("raw/")] == []


def test_symlinked_file_pointing_outside_is_refused(
    store: FilesystemBlobStore, tmp_path: Path
) -> None:
    target = tmp_path / "passwd"
    target.write_bytes(b"root:x")
    (store.root / "leak").symlink_to(target)
    for call in (
        lambda: store.get("leak"),
        lambda: store.head("leak"),
        lambda: store.put("leak", b""),
    ):
        with pytest.raises(Forbidden):
            call()
    assert list(store.list()) == []
    assert target.read_bytes() == b"root:x"


def test_root_itself_may_be_a_symlink(tmp_path: Path, signer: UrlSigner) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    store = FilesystemBlobStore(tmp_path / "link", signer)
    store.put("a/b", b"x")
    assert (real / "a" / "b").read_bytes() == b"x"
    assert [info.key for info in store.list()] == ["a/b"]


def test_segments_longer_than_name_max_are_invalid_locally(store: FilesystemBlobStore) -> None:
    store.put("a/" + "x" * 255, b"ok")
    for call in (
        lambda: store.put("a/" + "x" * 256, b"x"),
        lambda: store.get("a/" + "\u00e9" * 128),  # 256 bytes in UTF-8
        lambda: store.exists("y" * 300),
    ):
        with pytest.raises(InvalidInput):
            call()


def test_disk_errors_are_backend_errors_and_leave_nothing(
    store: FilesystemBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(BackendError, match="No space left"):
        store.put("a/b", b"x")
    monkeypatch.undo()
    assert not store.exists("a/b")
    assert os.listdir(store.root / INTERNAL_DIR / "tmp") == []


def test_a_key_cannot_name_the_internal_directory(store: FilesystemBlobStore) -> None:
    with pytest.raises(InvalidInput):
        store.put(f"{INTERNAL_DIR}/tmp/x", b"x")


def test_file_and_directory_clash_is_a_conflict(store: FilesystemBlobStore) -> None:
    store.put("a", b"file")
    with pytest.raises(Conflict):
        store.put("a/b", b"x")
    store.put("c/d", b"x")
    with pytest.raises(Conflict):
        store.put("c", b"x")
    assert store.get("a") == b"file" and store.get("c/d") == b"x"
    assert [info.key for info in store.list()] == ["a", "c/d"]


# crash safety


def test_failed_replace_keeps_the_old_object_and_no_temp(
    store: FilesystemBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("k", b"old", content_type="text/plain")

    def crash(*args: object) -> None:  # dies after the new meta is written, before install
        raise OSError("disk vanished")

    monkeypatch.setattr(store, "_install", crash)
    with pytest.raises(BackendError, match="disk vanished"):
        store.put("k", b"new version", content_type="image/png")
    monkeypatch.undo()
    meta = (store.root / INTERNAL_DIR / "meta" / "k").read_text()
    assert etag(b"new version").strip('"') in meta  # the new version's meta is there...
    assert store.get("k") == b"old"
    head = store.head("k")
    assert (head.size, head.etag) == (3, etag(b"old"))  # ...but not trusted for the old data
    assert os.listdir(store.root / INTERNAL_DIR / "tmp") == []


def test_source_failing_midway_leaves_nothing(store: FilesystemBlobStore) -> None:
    class Broken(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise ConnectionResetError("client went away")
            return b"x" * 1000

    with pytest.raises(ConnectionResetError):
        store.put_stream("half", Broken())  # type: ignore[arg-type]
    assert not store.exists("half")
    assert list(store.list()) == []
    assert os.listdir(store.root / INTERNAL_DIR / "tmp") == []


def test_crash_leftovers_are_never_listed_and_old_ones_are_swept(
    tmp_path: Path, signer: UrlSigner
) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs", signer)
    store.put("a/b", b"x")
    tmp = store.root / INTERNAL_DIR / "tmp"
    old = tmp / "put-crashed"
    old.write_bytes(b"half an object")
    an_hour_ago = time.time() - fs_blobstore.STALE_TEMP_SECONDS - 10
    os.utime(old, (an_hour_ago, an_hour_ago))
    (tmp / "put-in-flight").write_bytes(b"another writer")
    assert [info.key for info in store.list()] == ["a/b"]
    FilesystemBlobStore(tmp_path / "blobs", signer)  # restart
    assert sorted(os.listdir(tmp)) == ["put-in-flight"]


def test_files_dropped_in_by_hand_get_a_correct_etag(store: FilesystemBlobStore) -> None:
    (store.root / "manual").mkdir()
    (store.root / "manual" / "photo.png").write_bytes(b"png bytes")
    [listed] = store.list()
    assert (listed.key, listed.etag, listed.size) == ("manual/photo.png", etag(b"png bytes"), 9)
    head = store.head("manual/photo.png")
    assert (head.etag, head.content_type) == (etag(b"png bytes"), "image/png")


def test_meta_for_another_version_is_ignored(store: FilesystemBlobStore) -> None:
    store.put("k.txt", b"one", content_type="application/x-custom")
    path = store.root / "k.txt"
    path.write_bytes(b"changed behind our back")
    head = store.head("k.txt")
    assert head.etag == etag(b"changed behind our back")
    assert head.content_type == "text/plain"  # back to the guess from the key


# bookkeeping


def test_delete_prunes_empty_directories(store: FilesystemBlobStore) -> None:
    store.put("raw/p1/deep/a.jpg", b"x")
    store.put("raw/p2/b.jpg", b"x")
    store.delete("raw/p1/deep/a.jpg")
    assert sorted(os.listdir(store.root / "raw")) == ["p2"]
    assert store.delete_prefix("raw/") == 1
    assert [n for n in os.listdir(store.root) if n != INTERNAL_DIR] == []
    assert files_under(store.root / INTERNAL_DIR) == []
    assert os.listdir(store.root / INTERNAL_DIR / "meta") == []


def test_delete_of_a_directory_key_is_a_no_op(store: FilesystemBlobStore) -> None:
    store.put("d/x", b"x")
    store.delete("d")
    assert store.get("d/x") == b"x"


def test_put_stream_reads_in_bounded_chunks(store: FilesystemBlobStore) -> None:
    sizes: list[int | None] = []

    class Recording(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            sizes.append(size)
            return super().read(size)

    data = os.urandom(3 * fs_io.COPY_CHUNK + 5)
    info = store.put_stream("big.bin", Recording(data))
    assert info.size == len(data) and info.etag == etag(data)
    assert all(size is not None and 0 < size <= fs_io.COPY_CHUNK for size in sizes)
    assert len(sizes) >= 4


def test_concurrent_writers_leave_a_consistent_object(store: FilesystemBlobStore) -> None:
    bodies = [bytes([index]) * (1000 + index) for index in range(16)]
    threads = [threading.Thread(target=store.put, args=("same", body)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data = store.get("same")
    assert data in bodies
    assert store.head("same").etag == etag(data)


def test_concurrent_put_and_delete_prefix(store: FilesystemBlobStore) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for index in range(100):
                store.put(f"x/a/b/{index}", b"x")
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive():
        store.delete_prefix("x/")
    thread.join()
    assert errors == []


# events


def test_one_event_per_successful_write(
    store: FilesystemBlobStore, events: RecordingEvents, signer: UrlSigner
) -> None:
    first = store.put("a.jpg", b"1")
    second = store.put_stream("b.jpg", io.BytesIO(b"22"))
    key, query = signer.parse_target(store.signed_put_url("c.jpg", expires_in=60))
    third = store.accept_signed_put(key, query, io.BytesIO(b"333"), 3, max_bytes=10)
    store.delete("a.jpg")
    store.get("b.jpg")
    with pytest.raises(InvalidInput):
        store.put("../x", b"")
    assert events.created == [first, second, third]


def test_events_queue_s3_shaped_jobs(tmp_path: Path, signer: UrlSigner, clock: FakeClock) -> None:
    jobs = RecordingJobs()
    events = QueuedBlobEvents(jobs, bucket="local-blobs", clock=clock)
    store = FilesystemBlobStore(tmp_path / "b", signer, events=events)
    info = store.put("raw/p 1/a b.jpg", b"jpeg")
    [(topic, event)] = jobs.submitted
    assert topic == "blob.created"
    [created] = parse_object_created(event)
    assert (created.bucket, created.key, created.size) == ("local-blobs", "raw/p 1/a b.jpg", 4)
    assert created.etag == info.etag.strip('"')


# signed GET / PUT helpers


def test_open_signed_get_headers_and_body(store: FilesystemBlobStore, signer: UrlSigner) -> None:
    store.put("e/x.zip", b"PK zip", content_type="application/zip")
    key, query = signer.parse_target(
        store.signed_get_url("e/x.zip", expires_in=60, filename="x.zip")
    )
    info, reader, headers = store.open_signed_get(key, query)
    with reader:
        assert b"".join(reader) == b"PK zip"
    assert info.etag == etag(b"PK zip")
    assert headers["Content-Length"] == "6"
    assert headers["Content-Type"] == "application/zip"
    assert headers["ETag"] == info.etag
    assert headers["Content-Disposition"] == 'attachment; filename="x.zip"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in headers["Content-Security-Policy"]


def test_reader_close_releases_the_file(store: FilesystemBlobStore, signer: UrlSigner) -> None:
    store.put("k", b"x" * 100_000)
    key, query = signer.parse_target(store.signed_get_url("k", expires_in=60))
    _, reader, _ = store.open_signed_get(key, query)
    next(reader)
    reader.close()
    assert list(reader) == []


def test_open_signed_get_errors(
    store: FilesystemBlobStore, signer: UrlSigner, clock: FakeClock
) -> None:
    key, query = signer.parse_target(store.signed_get_url("absent", expires_in=60))
    with pytest.raises(NotFound):
        store.open_signed_get(key, query)
    store.put("absent", b"now here")
    clock.advance(60)
    with pytest.raises(Forbidden):
        store.open_signed_get(key, query)


class NoRead(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body must not be read")


def test_accept_signed_put_verifies_before_reading(
    store: FilesystemBlobStore, signer: UrlSigner
) -> None:
    key, query = signer.parse_target(
        store.signed_put_url("u.png", expires_in=60, content_type="image/png")
    )
    with pytest.raises(Forbidden):
        store.accept_signed_put(key, {**query, "sig": "0" * 64}, NoRead(), 1, max_bytes=10)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        store.accept_signed_put(key, query, NoRead(), 1, max_bytes=10, content_type="text/html")  # type: ignore[arg-type]
    with pytest.raises(PayloadTooLarge):
        store.accept_signed_put(key, query, NoRead(), 11, max_bytes=10, content_type="image/png")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        store.accept_signed_put(key, query, NoRead(), None, max_bytes=10, content_type="image/png")  # type: ignore[arg-type]
    assert not store.exists("u.png")


def test_accept_signed_put_reads_exactly_content_length(
    store: FilesystemBlobStore, signer: UrlSigner
) -> None:
    key, query = signer.parse_target(store.signed_put_url("u.bin", expires_in=60))
    body = io.BytesIO(b"0123456789NEXT REQUEST")
    info = store.accept_signed_put(key, query, body, 10, max_bytes=100)
    assert store.get("u.bin") == b"0123456789"
    assert body.read() == b"NEXT REQUEST"
    assert info.content_type == "application/octet-stream"


def test_accept_signed_put_with_a_short_body_stores_nothing(
    store: FilesystemBlobStore, signer: UrlSigner, events: RecordingEvents
) -> None:
    key, query = signer.parse_target(store.signed_put_url("short", expires_in=60))
    with pytest.raises(InvalidInput):
        store.accept_signed_put(key, query, io.BytesIO(b"abc"), 10, max_bytes=100)
    assert not store.exists("short")
    assert events.created == []
