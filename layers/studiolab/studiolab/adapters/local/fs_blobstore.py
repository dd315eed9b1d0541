"""BlobStore on the local filesystem: object `k` is the plain file `root/k`.

Layout and guarantees:
- Every key goes through check_key, then its path, symlinks resolved, must stay inside
  `root`, so no key and no planted symlink can reach outside the blob directory. Writes and
  deletes resolve the path first (os.path.realpath: an lstat per path component). Reads, where
  Linux's /proc/self/fd allows it, open first and then check what was actually opened (one
  readlink instead of a dozen lstats per read - the export reads every blob - and no window
  between check and open); they open non-blocking and refuse non-regular files, so a planted
  FIFO or device cannot stall them, and a key that cannot be opened gets the realpath check
  before its NotFound, so outside paths answer Forbidden whether they exist or not.
- Writes are atomic: data goes to a temporary file, is fsynced, then os.replace'd into place,
  so a reader or a crash sees the old object or the new one, never half of one.
- Bookkeeping lives in one top-level directory, `root/.\\x7fstudiolab/` (`tmp/` for writes in
  progress, `meta/<key>` for each object's etag and content type). Its name contains DEL,
  which check_key refuses in keys, so it can never collide with an object and the listing
  never shows it. Temporary files live there rather than beside their target: still the same
  filesystem (os.replace stays atomic) and object directories only ever hold objects.
- A meta file records the inode, size and mtime of the file it describes and is ignored when
  they differ (crash between meta and data, concurrent writers, files dropped in by hand):
  the etag is then recomputed and the content type guessed from the key, as S3 would.
- ETags: the MD5 of the bytes, as S3 gives a single-part upload - except for put_stream
  objects over 8 MB, which S3 (multipart) gives an ETag that is not the MD5; here they get
  the same `"<hex>-<parts>"` shape from the file's identity, so an export's zip is not hashed.
  Recomputed after a lost meta file, an ETag is the MD5 again (a changed ETag: a cache miss).

Filesystem limits S3 does not have: an object `a` and an object `a/b` cannot both exist
(Conflict); on case-insensitive filesystems `A` and `a` are the same object.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from studiolab.adapters.local.blob_serving import (
    BlobReader,
    exact_reader,
    fsync_dir,
    signed_get_headers,
)
from studiolab.adapters.local.fs_io import (
    _READ_FLAGS,
    NAME_MAX,
    STREAM_MD5_LIMIT,
    _copy_into,
    _fd_paths_work,
    _inside,
    _md5_etag,
    _mtime,
    _multipart_etag,
    _opened_path,
    _os_errors,
    _own_readinto,
    _prune_empty_dirs,
    _Read,
    _ReadInto,
    _readinto_via,
    _walk,
)
from studiolab.adapters.local.url_signer import UrlSigner
from studiolab.domain.blobkeys import check_key, check_prefix
from studiolab.domain.blobrules import default_content_type
from studiolab.domain.errors import (
    BackendError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
)
from studiolab.domain.ports import BlobEvents, BlobInfo

INTERNAL_DIR = ".\x7fstudiolab"
STALE_TEMP_SECONDS = 3600


@dataclass(frozen=True)
class _Meta:
    etag: str
    content_type: str
    size: int
    mtime_ns: int
    ino: int

    def describes(self, st: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.ino) == (st.st_size, st.st_mtime_ns, st.st_ino)


class FilesystemBlobStore:
    # Reads are local files (usually page-cached): reading them ahead in threads costs more
    # in GIL hand-offs than it saves. Callers that read ahead for latency-bound stores (the
    # export's prefetch) read this store inline instead.
    read_ahead = 0

    def __init__(self, root: Path, signer: UrlSigner, *, events: BlobEvents | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self._root = root.resolve()
        self._root_prefix = str(self._root).rstrip(os.sep) + os.sep  # inside paths start so
        self._internal = self._root / INTERNAL_DIR
        self._tmp = self._internal / "tmp"
        self._meta = self._internal / "meta"
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._meta.mkdir(parents=True, exist_ok=True)
        self._signer = signer
        self._events = events
        self._opened_paths = _fd_paths_work(self._root)
        self._sweep_stale_temps()

    @property
    def root(self) -> Path:
        return self._root

    @property
    def signer(self) -> UrlSigner:
        return self._signer

    # writes

    def put(self, key: str, data: bytes, *, content_type: str | None = None) -> BlobInfo:
        return self._write(key, io.BytesIO(data).readinto, content_type)

    def put_stream(
        self, key: str, source: BinaryIO, *, content_type: str | None = None
    ) -> BlobInfo:
        # a raw stream fills the reused buffer itself; any other is read and copied into it
        readinto = _own_readinto(source) or _readinto_via(source.read)
        return self._write(key, readinto, content_type, md5_limit=STREAM_MD5_LIMIT)

    def delete(self, key: str) -> None:
        self._delete(self._path(key), key)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix:
            raise InvalidInput("delete_prefix needs a non-empty prefix", fields={"prefix": "empty"})
        deleted = 0
        for key, entry in self._walk_prefix(check_prefix(prefix)):
            deleted += self._delete(Path(entry.path), key)
        return deleted

    # reads

    def get(self, key: str) -> bytes:
        handle, _ = self._open(key)
        with handle:
            return handle.read()

    def stream(self, key: str, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        # invalid keys fail now; absent ones, and (Linux) ones outside root, on the first next()
        path = self._lexical_path(key) if self._opened_paths else self._path(key)
        if chunk_size < 1:
            raise InvalidInput("chunk_size must be positive", fields={"chunk_size": "< 1"})
        return self._chunks(key, path, chunk_size)

    def head(self, key: str) -> BlobInfo:
        handle, st = self._open(key)
        with handle:
            return self._info(key, st, handle.read)

    def exists(self, key: str) -> bool:
        try:
            st = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return False
        return stat.S_ISREG(st.st_mode)

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """In UTF-8 byte order of the keys, like S3. content_type is None, as in S3's
        ListObjectsV2: use head() when you need it."""
        for key, entry in self._walk_prefix(check_prefix(prefix)):
            try:
                st = entry.stat(follow_symlinks=False)
                meta = self._read_meta(key, st)
                if meta is not None:
                    etag = meta.etag
                else:  # rare: hash it once, from the file as it is now
                    handle, st = self._open(key)
                    with handle:
                        etag = self._info(key, st, handle.read).etag
            except (FileNotFoundError, NotFound):  # deleted while we walked
                continue
            yield BlobInfo(key, st.st_size, etag, None, _mtime(st))

    # signed URLs and the local server's side of them

    def signed_get_url(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        return self._signer.sign("get", key, expires_in, filename=filename)

    def signed_put_url(self, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        return self._signer.sign("put", key, expires_in, content_type=content_type)

    def open_signed_get(
        self, key: str, query: Mapping[str, str]
    ) -> tuple[BlobInfo, BlobReader, dict[str, str]]:
        """Serve GET /blobs/<key>?<query>: verify the signature (Forbidden), open the object
        (NotFound); returns its info, a reader to stream and close, and the response headers.
        `key` and `query` come from UrlSigner.parse_target(self.path)."""
        signed = self._signer.verify("get", key, query)
        handle, st = self._open(key)
        try:
            info = self._info(key, st, handle.read)
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        return info, BlobReader(handle), signed_get_headers(info, signed)

    def accept_signed_put(
        self,
        key: str,
        query: Mapping[str, str],
        body: BinaryIO,
        content_length: int | None,
        max_bytes: int,
        content_type: str | None = None,
    ) -> BlobInfo:
        """Serve PUT /blobs/<key>?<query>: verify first (Forbidden; a content type bound in
        the URL must equal `content_type`, the request's header), then read exactly
        `content_length` bytes from `body` into the object. Missing length -> InvalidInput,
        above `max_bytes` -> PayloadTooLarge, body shorter than announced -> InvalidInput
        and nothing is stored. The object-created event fires as for `put`."""
        content_type = content_type or None
        signed = self._signer.verify("put", key, query, content_type=content_type)
        if content_length is None or content_length < 0:
            raise InvalidInput("Content-Length is required", fields={"Content-Length": "missing"})
        if content_length > max_bytes:
            raise PayloadTooLarge(f"{content_length} bytes is more than the {max_bytes} allowed")
        reader = _readinto_via(exact_reader(body, content_length))
        return self._write(key, reader, signed.content_type or content_type)

    # internals

    def _path(self, key: str) -> Path:
        """The object's path, checked: symlinks resolved, it must be inside root."""
        path = self._lexical_path(key)
        self._check_inside(key, path)
        return Path(path)

    def _lexical_path(self, key: str) -> str:
        """The object's path from a valid key, symlinks not yet checked: open it with _open.
        A string: check_key leaves no empty, '.' or '..' segment, no leading '/' and no
        backslash, so root + key is the joined path (and no pathlib parsing per read)."""
        parts = check_key(key).split("/")
        if any(len(part.encode()) > NAME_MAX for part in parts):
            raise InvalidInput(
                f"blob key {key!r} has a segment longer than {NAME_MAX} bytes (local limit)",
                fields={"key": "segment too long"},
            )
        return self._root_prefix + key if os.sep == "/" else str(self._root.joinpath(*parts))

    def _check_inside(self, key: str, path: str | Path) -> None:
        if not _inside(path, self._root_prefix):
            raise Forbidden(f"blob key {key!r} resolves outside the blob directory")

    def _meta_path(self, key: str) -> Path:
        return self._meta.joinpath(*key.split("/"))

    def _open(self, key: str, path: str | Path | None = None) -> tuple[BinaryIO, os.stat_result]:
        """Open the object for reading; `path`: from _lexical_path(key) (or _path(key)).
        Where /proc/self/fd works, the opened file's own path is checked (see the module
        doc); elsewhere the path is resolved and checked before the open."""
        if not self._opened_paths:
            return self._open_checked_path(key, self._path(key) if path is None else path)
        path = self._lexical_path(key) if path is None else path
        try:
            fd = os.open(path, _READ_FLAGS)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as error:
            self._check_inside(key, path)  # Forbidden, not NotFound, for an outside path
            raise NotFound(f"no blob {key!r}") from error
        except OSError as error:
            self._check_inside(key, path)
            raise BackendError(f"cannot open blob {key!r}: {error}") from error
        try:
            opened = _opened_path(fd)
            if not (len(opened) > len(self._root_prefix) and opened.startswith(self._root_prefix)):
                raise Forbidden(f"blob key {key!r} resolves outside the blob directory")
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):  # a directory, FIFO, device...
                raise NotFound(f"no blob {key!r}")
        except BaseException:
            os.close(fd)
            raise
        # unbuffered: one read() per chunk; callers read big chunks
        return os.fdopen(fd, "rb", buffering=0), st

    def _open_checked_path(self, key: str, path: str | Path) -> tuple[BinaryIO, os.stat_result]:
        try:
            fd = os.open(path, _READ_FLAGS)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as error:
            raise NotFound(f"no blob {key!r}") from error
        except OSError as error:
            raise BackendError(f"cannot open blob {key!r}: {error}") from error
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # a directory, FIFO, device...
            os.close(fd)
            raise NotFound(f"no blob {key!r}")
        # unbuffered: one read() per chunk; callers read big chunks
        return os.fdopen(fd, "rb", buffering=0), st

    def _chunks(self, key: str, path: str | Path, chunk_size: int) -> Iterator[bytes]:
        handle, st = self._open(key, path)
        with handle:
            left = st.st_size
            while chunk := handle.read(chunk_size):
                yield chunk
                left -= len(chunk)
                if left <= 0:  # the object as opened is complete: no read() just to see EOF
                    return

    def _info(self, key: str, st: os.stat_result, read: _Read) -> BlobInfo:
        meta = self._read_meta(key, st)
        if meta is None:  # no valid meta: recompute and remember
            etag = _md5_etag(read)
            meta = _Meta(
                etag, default_content_type(key, None), st.st_size, st.st_mtime_ns, st.st_ino
            )
            self._write_meta(key, meta)
        return BlobInfo(key, st.st_size, meta.etag, meta.content_type, _mtime(st))

    def _read_meta(self, key: str, st: os.stat_result) -> _Meta | None:
        try:
            meta = _Meta(**json.loads(self._meta_path(key).read_bytes()))
        except (OSError, ValueError, TypeError):
            return None
        return meta if meta.describes(st) else None

    def _write_meta(self, key: str, meta: _Meta) -> None:
        """Best effort: the meta file is a cache, validated on every read."""
        path = self._meta_path(key)
        with contextlib.suppress(OSError):
            fd, temp = tempfile.mkstemp(dir=self._tmp, prefix="meta-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(json.dumps(asdict(meta)).encode())
                path.parent.mkdir(parents=True, exist_ok=True)
                Path(temp).replace(path)
            finally:
                Path(temp).unlink(missing_ok=True)

    def _write(
        self,
        key: str,
        readinto: _ReadInto,
        content_type: str | None,
        *,
        md5_limit: int | None = None,
    ) -> BlobInfo:
        """Copy `readinto` (one reused COPY_CHUNK buffer) into the object, atomically. The
        ETag is the MD5 of the bytes unless the object is over `md5_limit` (put_stream: S3's
        multipart threshold), when it is S3's multipart shape made from the file's identity
        (fs_io._multipart_etag)."""
        target = self._path(key)
        content_type = default_content_type(key, content_type)
        # Our own I/O failures (disk full, permissions) become BackendError; the source's
        # (a client that went away) propagate as they are.
        with _os_errors(key):
            fd, temp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        temp = Path(temp_name)
        try:
            digest = hashlib.md5(usedforsecurity=False)
            limit = sys.maxsize if md5_limit is None else md5_limit
            with os.fdopen(fd, "wb") as out:
                hashed = _copy_into(readinto, digest, out.fileno(), key, md5_limit=limit)
                with _os_errors(key):
                    os.fsync(out.fileno())
            with _os_errors(key):
                st = temp.stat()
                etag = f'"{digest.hexdigest()}"' if hashed else _multipart_etag(st)
                self._write_meta(
                    key, _Meta(etag, content_type, st.st_size, st.st_mtime_ns, st.st_ino)
                )
                self._install(key, temp, target)
        finally:
            temp.unlink(missing_ok=True)
        info = BlobInfo(key, st.st_size, etag, content_type, _mtime(st))
        if self._events is not None:
            self._events.object_created(info)
        return info

    def _install(self, key: str, temp: Path, target: Path) -> None:
        for _ in range(5):  # a concurrent delete may prune the parent between mkdir and replace
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                temp.replace(target)
                break
            except FileNotFoundError:
                continue
            except (FileExistsError, NotADirectoryError, IsADirectoryError) as error:
                # `a` is a file and the key is `a/b`, or `a` is a directory: S3 allows both
                raise Conflict(f"blob key {key!r} clashes with another blob's path") from error
        else:
            raise Conflict(f"blob key {key!r}: its directory kept disappearing")
        with contextlib.suppress(FileNotFoundError):  # a concurrent delete already pruned it
            fsync_dir(target.parent)

    def _delete(self, path: Path, key: str) -> int:
        try:
            if stat.S_ISDIR(path.lstat().st_mode):
                return 0
            path.unlink()
            deleted = 1
        except (FileNotFoundError, NotADirectoryError):
            deleted = 0
        except OSError as error:
            raise BackendError(f"cannot delete blob {key!r}: {error}") from error
        meta = self._meta_path(key)
        with contextlib.suppress(OSError):  # absent, or a stale directory: nothing to do
            meta.unlink()
        _prune_empty_dirs(path.parent, self._root)
        _prune_empty_dirs(meta.parent, self._meta)
        return deleted

    def _walk_prefix(self, prefix: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
        directory, _, name_prefix = prefix.rpartition("/")
        start = self._root.joinpath(*directory.split("/")) if directory else self._root
        if os.path.realpath(start) != str(start):  # a symlink on the way: not ours to list
            return
        yield from _walk(start, f"{directory}/" if directory else "", name_prefix)

    def _sweep_stale_temps(self) -> None:
        """Temporary files left by a crash (no live writer is that old)."""
        cutoff = time.time() - STALE_TEMP_SECONDS
        with os.scandir(self._tmp) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        Path(entry.path).unlink()
