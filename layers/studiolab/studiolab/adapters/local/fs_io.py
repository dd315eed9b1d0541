"""Low-level file I/O of FilesystemBlobStore (fs_blobstore.py): directory walks, the
fd-based path check, the copy loop with MD5 in a second thread and early writeback,
OS error mapping. Split out to keep each module readable; nothing here knows about keys
beyond naming them in errors."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import queue
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from studiolab.domain.blobkeys import check_key
from studiolab.domain.errors import (
    BackendError,
    InvalidInput,
)

COPY_CHUNK = 1 << 20
HASH_BUFFERS = 4  # buffers in flight between a big put_stream's writer and its MD5 thread
WRITEBACK_STEP = 16 << 20  # a big put_stream starts writeback every so many bytes
_fadvise = getattr(os, "posix_fadvise", None)
_DONTNEED = getattr(os, "POSIX_FADV_DONTNEED", 0)
NAME_MAX = 255  # bytes per path segment on every common filesystem
_Read = Callable[[int], bytes]
_ReadInto = Callable[[memoryview], "int | None"]


def _walk(
    directory: Path, key_prefix: str, name_prefix: str
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Regular files below `directory` in S3 key order. A directory sorts as `name/`, since
    every key inside it starts so (`a-b` < `a/x` < `a0`). Symlinks, and names no key can
    have (the internal dir among them), are skipped."""
    try:
        with os.scandir(directory) as iterator:
            entries = [entry for entry in iterator if entry.name.startswith(name_prefix)]
    except (FileNotFoundError, NotADirectoryError):
        return
    ordered: list[tuple[str, os.DirEntry[str], bool]] = []
    for entry in entries:
        if not _valid_segment(entry.name) or entry.is_symlink():
            continue
        if entry.is_dir(follow_symlinks=False):
            ordered.append((entry.name + "/", entry, True))
        elif entry.is_file(follow_symlinks=False):
            ordered.append((entry.name, entry, False))
    ordered.sort(key=lambda item: item[0])
    for _, entry, is_dir in ordered:
        if is_dir:
            yield from _walk(Path(entry.path), f"{key_prefix}{entry.name}/", "")
        else:
            yield f"{key_prefix}{entry.name}", entry


def _valid_segment(name: str) -> bool:
    try:
        name.encode()  # undecodable names come back with surrogates
        check_key(name)
    except (UnicodeEncodeError, InvalidInput):
        return False
    return True


_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO would block the open; refused as not regular
    | getattr(os, "O_NOCTTY", 0)
)


def _fd_paths_work(root: Path) -> bool:
    """Whether /proc/self/fd/<fd> names the file an fd was opened on (Linux, /proc mounted):
    checked once, on the (resolved) root directory itself."""
    try:
        fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return False
    try:
        return _opened_path(fd) == str(root)
    except OSError:
        return False
    finally:
        os.close(fd)


def _opened_path(fd: int) -> str:
    """The path the kernel has for an open fd (symlinks resolved; " (deleted)" appended when
    it was unlinked since). os.readlink, not Path.readlink: this is once per blob read."""
    return os.readlink(f"/proc/self/fd/{fd}")  # noqa: PTH115


def _inside(path: str | Path, base_prefix: str) -> bool:
    """Whether `path`, symlinks resolved, is strictly below the directory `base_prefix`
    (a resolved path ending in the separator)."""
    resolved = os.path.realpath(path)
    return len(resolved) > len(base_prefix) and resolved.startswith(base_prefix)


def _prune_empty_dirs(directory: Path, stop: Path) -> None:
    while directory != stop and directory.is_relative_to(stop):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def _own_readinto(source: BinaryIO) -> _ReadInto | None:
    """A raw stream's readinto, its primitive - unless it implements only read()."""
    if isinstance(source, io.RawIOBase) and type(source).readinto is not io.RawIOBase.readinto:
        return source.readinto
    return None


def _copy_into(readinto: _ReadInto, digest: hashlib._Hash, fd: int, key: str) -> None:
    """Source -> fd in one pass, chunks of COPY_CHUNK bytes into reused buffers (no allocation
    per chunk). The first chunk is hashed here; from the second on (a big object: an export's
    zip) a helper thread hashes each buffer while this thread writes it and reads the next,
    so the MD5 is off the copy's path (MD5, read and write all release the GIL). The source's
    errors propagate as they are, ours are BackendError."""
    first = memoryview(bytearray(COPY_CHUNK))
    count = _fill(readinto, first, key)
    if not count:
        return
    digest.update(first[:count])
    _write_all(fd, first[:count], key)
    hashed = count
    count = _fill(readinto, first, key)
    if not count:
        return
    with _Hasher(digest, fd, written=hashed) as hasher:
        buffer = first
        while count:
            _write_all(fd, buffer[:count], key)
            hasher.hand_over(buffer, count)  # hashed by the helper while we go on
            buffer = hasher.free_buffer()
            count = _fill(readinto, buffer, key)


def _fill(readinto: _ReadInto, view: memoryview, key: str) -> int:
    count = readinto(view)
    if count is None:
        raise BlockingIOError(f"put_stream of {key!r}: the source would block")
    return count


def _write_all(fd: int, chunk: memoryview, key: str) -> None:
    with _os_errors(key):
        while chunk:
            chunk = chunk[os.write(fd, chunk) :]


class _Hasher:
    """Feeds `digest` in a helper thread, in hand-over order. Buffers circulate: the writer
    hands a filled one over and takes a free one (a new one while fewer than HASH_BUFFERS
    exist, else the next the helper has finished with), so at most HASH_BUFFERS * COPY_CHUNK
    bytes are held. Leaving the `with` block waits for the helper, so the digest is complete
    (or, after an error, no longer touched).

    Every WRITEBACK_STEP bytes the helper also asks the kernel to start writing back what is
    already written (posix_fadvise DONTNEED: starts writeback of dirty pages without waiting,
    drops only clean ones), so the final fsync has less left to wait for. Durability still
    comes from that fsync alone."""

    def __init__(self, digest: hashlib._Hash, fd: int, *, written: int) -> None:
        self._digest = digest
        self._fd = fd
        self._hashed = written  # bytes of the object hashed so far (all written already)
        self._flushed = 0
        self._filled: queue.SimpleQueue[tuple[memoryview, int] | None] = queue.SimpleQueue()
        self._free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
        self._buffers = 1
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="blob-md5", daemon=True)

    def __enter__(self) -> _Hasher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._filled.put(None)
        self._thread.join()
        if self._failure is not None and exc[0] is None:
            raise self._failure

    def hand_over(self, buffer: memoryview, count: int) -> None:
        self._filled.put((buffer, count))

    def free_buffer(self) -> memoryview:
        if self._buffers < HASH_BUFFERS:
            try:
                return self._free.get_nowait()
            except queue.Empty:
                self._buffers += 1
                return memoryview(bytearray(COPY_CHUNK))
        return self._free.get()

    def _run(self) -> None:
        while (job := self._filled.get()) is not None:
            buffer, count = job
            if self._failure is None:
                try:
                    self._digest.update(buffer[:count])
                    self._hashed += count
                    self._start_writeback()
                except BaseException as error:  # keep draining: the writer must not block
                    self._failure = error
            self._free.put(buffer)

    def _start_writeback(self) -> None:
        if _fadvise is None or self._hashed - self._flushed < WRITEBACK_STEP:
            return
        with contextlib.suppress(OSError):  # advice only
            _fadvise(self._fd, self._flushed, self._hashed - self._flushed, _DONTNEED)
        self._flushed = self._hashed


def _md5_etag(read: _Read) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    while chunk := read(COPY_CHUNK):
        digest.update(chunk)
    return f'"{digest.hexdigest()}"'


@contextlib.contextmanager
def _os_errors(key: str) -> Iterator[None]:
    try:
        yield
    except OSError as error:
        raise BackendError(f"local blob store failed on {key!r}: {error}") from error


def _mtime(st: os.stat_result) -> datetime:
    return datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC)
