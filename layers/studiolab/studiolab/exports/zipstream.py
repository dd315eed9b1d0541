"""Streaming zip output with memory bounded independently of entry sizes.

The writer is the standard library's `zipfile.ZipFile` on a non-seekable sink. CPython 3.11
then writes each entry as local header + data + data descriptor (flag bit 3: CRC and sizes
follow the data), so nothing is ever seeked or buffered whole. ZIP64 is automatic: the end
records switch to ZIP64 past 65,535 entries or a 4 GiB central directory offset, and an
entry gets ZIP64 local/descriptor fields when its size is unknown (`force_zip64`) or close
to 4 GiB. Hand-written here only what zipfile does not do: safe, unique entry names, and
the pipe that lets a blob store *consume* the zip while we *produce* it (`stream_into`).

Memory: O(chunk) per entry plus zipfile's in-memory central directory (one ZipInfo per entry,
a few hundred bytes) and the set of used names - both grow with the entry count, not with
the data size (see tests/exports for the measurement).

Why a pipe (not a spooled temp file): the blob store's put_stream reads the pipe in its own
thread. S3 multipart reads 8 MB parts from it (the reader below always returns full reads,
so no part is below S3's 5 MB minimum except the last) and never needs the whole zip on
disk - a Lambda's /tmp (512 MB by default) could not hold a large export anyway. The local
store copies the pipe into its own temp file and renames it into place, so it is written
once. A producer failure makes the consumer's read raise, so put_stream aborts (S3 aborts
the multipart upload, the local store discards its temp file): no truncated zip is stored.
"""

from __future__ import annotations

import io
import os
import re
import threading
import zipfile
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime
from typing import IO, Any, BinaryIO, TypeVar, cast

T = TypeVar("T")

MAX_SEGMENT = 100
PIPE_WRITE_BUFFER = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXT = re.compile(r"^[a-z0-9]{1,8}$")
_BAD_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


class ExportAborted(RuntimeError):
    """Raised to the blob store's reader when the producer failed: the upload must not end."""


# -- names ----------------------------------------------------------------------------------


def safe_segment(value: str | None, default: str = "_") -> str:
    """One path segment: only [A-Za-z0-9._-], no leading/trailing dots (so never "." or
    ".."), at most MAX_SEGMENT characters; `default` when nothing is left."""
    cleaned = _UNSAFE.sub("_", value or "").strip("._")[:MAX_SEGMENT].strip("._")
    return cleaned or default


def safe_extension(key: str | None, default: str = "bin") -> str:
    suffix = _split_suffix((key or "").rstrip("/").rpartition("/")[2])[1]
    suffix = suffix.lower().lstrip(".")
    return suffix if _EXT.match(suffix) else default


def _split_suffix(name: str) -> tuple[str, str]:
    """(stem, suffix) of one path segment, as PurePosixPath's stem / suffix (".a" has none),
    without building a path object (this runs once per exported blob)."""
    dot = name.rfind(".")
    if 0 < dot < len(name) - 1:
        return name[:dot], name[dot:]
    return name, ""


class UniqueNames:
    """Entry names already used in one zip; a repeat gets -2, -3, ... before the extension.
    Comparison is case-insensitive so an archive unpacks the same on every filesystem."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def claim(self, name: str) -> str:
        """`name` must be a checked entry name (check_entry_name: no empty, "." or ".."
        segments), so splitting on "/" is what PurePosixPath would do."""
        lowered = name.lower()
        if lowered not in self._used:
            self._used.add(lowered)
            return name
        head, _, last = name.rpartition("/")
        stem, suffix = _split_suffix(last)
        parent = f"{head}/" if head else ""
        candidate, n = name, 1
        while candidate.lower() in self._used:
            n += 1
            candidate = f"{parent}{stem}-{n}{suffix}"
        self._used.add(candidate.lower())
        return candidate


def check_entry_name(name: str) -> str:
    parts = name.split("/")
    bad = (
        not name
        or name.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or _BAD_NAME_CHARS.search(name) is not None
    )
    if bad:
        raise ValueError(f"unsafe zip entry name {name!r}")
    return name


# -- writer ---------------------------------------------------------------------------------


class ZipStreamWriter:
    """Entries are written one at a time, each from an iterable of chunks."""

    def __init__(self, sink: IO[bytes], *, date_time: datetime | None = None) -> None:
        self._zip = zipfile.ZipFile(sink, "w", allowZip64=True)
        moment = date_time or datetime(1980, 1, 1)
        self._date_time = (
            max(moment.year, 1980),
            moment.month,
            moment.day,
            moment.hour,
            moment.minute,
            moment.second,
        )
        self._names = UniqueNames()
        self.entries = 0

    def add_chunks(
        self,
        name: str,
        chunks: Iterable[bytes],
        *,
        compress: bool = False,
        size_of: Callable[[], int] | None = None,
    ) -> tuple[str, int]:
        """Write one entry from `chunks`; returns (the unique name used, bytes written).

        The first chunk is read before anything is written, so an error raised there (a
        blob deleted meanwhile: NotFound on the first next()) leaves the zip untouched.
        The size is known when the data fits in one chunk, else asked from `size_of`
        (e.g. the blob's head()); unknown -> the entry is written as ZIP64."""
        iterator = iter(chunks)
        first = next(iterator, b"")
        second = next(iterator, None)
        size: int | None = len(first) if second is None else (size_of() if size_of else None)
        final = self._names.claim(check_entry_name(name))
        info = zipfile.ZipInfo(final, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        if size is not None:
            info.file_size = size
        written = 0
        with self._zip.open(info, "w", force_zip64=size is None) as out:
            for chunk in _chain(first, second, iterator):
                out.write(chunk)
                written += len(chunk)
        self.entries += 1
        return final, written

    def add_bytes(self, name: str, data: bytes, *, compress: bool = True) -> str:
        return self.add_chunks(name, [data], compress=compress)[0]

    def add_file(self, name: str, handle: IO[bytes], *, compress: bool = True) -> str:
        """An entry from a seekable file (e.g. a spooled manifest), from its start."""
        size = handle.seek(0, io.SEEK_END)
        handle.seek(0)
        chunks = iter(lambda: handle.read(1 << 20), b"")
        return self.add_chunks(name, chunks, compress=compress, size_of=lambda: size)[0]

    def close(self) -> None:
        """Write the central directory: the zip is complete."""
        self._zip.close()

    def abort(self) -> None:
        """Give up without writing the central directory (the sink is being discarded);
        also keeps ZipFile.__del__ from writing one into a closed sink later."""
        self._zip.fp = None


def _chain(first: bytes, second: bytes | None, rest: Iterable[bytes]) -> Iterable[bytes]:
    if first:
        yield first
    if second is None:
        return
    yield second
    yield from rest


# -- the pipe between the producer (zip writer) and the consumer (blob store) ---------------


class PipeSource(io.RawIOBase):
    """The read end of an os.pipe, for BlobStore.put_stream: read(n) returns exactly n bytes
    unless the end was reached; an end caused by a producer failure raises ExportAborted."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._failure: BaseException | None = None

    def fail(self, error: BaseException) -> None:
        self._failure = error

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        want = -1 if size is None else size
        parts: list[bytes] = []
        got = 0
        while want < 0 or got < want:
            step = (1 << 20) if want < 0 else min(want - got, 1 << 20)
            chunk = os.read(self._fd, step)
            if not chunk:
                if self._failure is not None:
                    raise ExportAborted(f"export aborted: {self._failure}") from self._failure
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        """Like read: fills `buffer` unless the end was reached (straight from the pipe into
        the caller's buffer where os.readv exists, so a reused buffer costs no allocation)."""
        if not hasattr(os, "readv"):  # Windows
            data = self.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        view = memoryview(buffer).cast("B")
        got = 0
        while got < len(view):
            count = os.readv(self._fd, [view[got:]])
            if not count:
                if self._failure is not None:
                    raise ExportAborted(f"export aborted: {self._failure}") from self._failure
                break
            got += count
        return got

    def close(self) -> None:
        if not self.closed:
            with suppress(OSError):
                os.close(self._fd)
        super().close()


def stream_into(put: Callable[[BinaryIO], T], produce: Callable[[IO[bytes]], Any]) -> T:
    """Run `put(source)` (e.g. lambda s: blobs.put_stream(key, s)) in a thread, reading what
    `produce(sink)` writes in this thread. Returns put's result. If `produce` raises, put
    sees ExportAborted and the producer's error is re-raised; if `put` fails, the producer
    gets a broken pipe and put's error is raised."""
    read_fd, write_fd = os.pipe()
    with suppress(AttributeError, OSError):  # Linux: a bigger pipe, fewer context switches
        import fcntl

        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    source = PipeSource(read_fd)
    outcome: dict[str, Any] = {}

    def consume() -> None:
        try:
            outcome["value"] = put(cast(BinaryIO, source))
        except BaseException as error:
            outcome["error"] = error
        finally:
            source.close()  # a producer still writing now gets EPIPE instead of blocking

    thread = threading.Thread(target=consume, name="zip-upload", daemon=True)
    thread.start()
    sink = os.fdopen(write_fd, "wb", buffering=PIPE_WRITE_BUFFER)
    try:
        produce(sink)
        sink.close()
    except BaseException as error:
        source.fail(error)  # before the end is seen, so the reader raises instead of ending
        with suppress(OSError):
            sink.close()
        thread.join()
        consumer_error = outcome.get("error")
        if isinstance(error, BrokenPipeError) and consumer_error is not None:
            raise consumer_error from error
        raise
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return cast(T, outcome["value"])
