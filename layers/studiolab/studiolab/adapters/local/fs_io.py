"""Low-level file I/O of FilesystemBlobStore (fs_blobstore.py): directory walks, the
fd-based path check, the copy loop (MD5 while the object is small, early writeback),
OS error mapping. Split out to keep each module readable; nothing here knows about keys
beyond naming them in errors."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
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
# A streamed write is hashed while it is at most this big: S3 (and the S3 adapter, whose
# multipart threshold this is) gives a streamed object past 8 MB a multipart ETag that is not
# the MD5 of its bytes, so no caller can rely on one, and hashing an export's whole zip cost
# a third of its CPU time.
STREAM_MD5_LIMIT = 8 << 20
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


def _copy_into(
    readinto: _ReadInto, digest: hashlib._Hash, fd: int, key: str, *, md5_limit: int
) -> bool:
    """Source -> fd in one pass through one reused COPY_CHUNK buffer (no allocation per
    chunk). `digest` is fed while the object is at most `md5_limit` bytes; True if it covers
    the whole object. Every WRITEBACK_STEP bytes the kernel is asked to start writing back
    what is already written (posix_fadvise DONTNEED starts writeback of dirty pages without
    waiting and drops only clean ones), so the final fsync - still the only durability point
    - has less left. The source's errors propagate as they are, ours are BackendError."""
    buffer = memoryview(bytearray(COPY_CHUNK))
    written = flushed = 0
    hashed = True
    while count := _fill(readinto, buffer, key):
        chunk = buffer[:count]
        if hashed and written + count > md5_limit:
            hashed = False
        if hashed:
            digest.update(chunk)
        _write_all(fd, chunk, key)
        written += count
        if written - flushed >= WRITEBACK_STEP:
            _start_writeback(fd, flushed, written - flushed)
            flushed = written
    return hashed


def _readinto_via(read: _Read) -> _ReadInto:
    """A readinto over a source that only reads: each chunk is copied into the buffer."""

    def readinto(view: memoryview) -> int:
        chunk = read(len(view)) or b""  # None (nothing yet) ends the copy, as read() did
        view[: len(chunk)] = chunk
        return len(chunk)

    return readinto


def _fill(readinto: _ReadInto, view: memoryview, key: str) -> int:
    count = readinto(view)
    if count is None:
        raise BlockingIOError(f"put_stream of {key!r}: the source would block")
    return count


def _write_all(fd: int, chunk: memoryview, key: str) -> None:
    with _os_errors(key):
        while chunk:
            chunk = chunk[os.write(fd, chunk) :]


def _start_writeback(fd: int, offset: int, length: int) -> None:
    if _fadvise is not None:
        with contextlib.suppress(OSError):  # advice only
            _fadvise(fd, offset, length, _DONTNEED)


def _multipart_etag(st: os.stat_result) -> str:
    """The ETag of a streamed object past STREAM_MD5_LIMIT: S3's multipart shape
    (`"<32 hex>-<parts>"`, parts of 8 MB), made from the file's identity (inode, mtime,
    size) instead of its bytes, so a rewrite always gets a new one."""
    identity = f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}".encode()
    parts = -(-st.st_size // STREAM_MD5_LIMIT)
    return f'"{hashlib.md5(identity, usedforsecurity=False).hexdigest()}-{parts}"'


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
