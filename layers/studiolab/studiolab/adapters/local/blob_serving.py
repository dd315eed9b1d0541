"""The local HTTP server's side of signed blob URLs: response headers, a closing body
reader, an exact-length request body reader, and directory fsync for durable renames."""

from __future__ import annotations

import email.utils
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from studiolab.domain.blobrules import DEFAULT_CONTENT_TYPE, content_disposition
from studiolab.domain.errors import InvalidInput
from studiolab.domain.ports import BlobInfo

if TYPE_CHECKING:  # url_signer imports fsync_dir from here
    from studiolab.adapters.local.url_signer import SignedRequest

SERVE_CHUNK = 64 * 1024


class BlobReader(Iterator[bytes]):
    """The body of a signed GET: iterate for chunks; close() (or `with`) releases the file
    even when the client went away before the end."""

    def __init__(self, handle: BinaryIO, chunk_size: int = SERVE_CHUNK) -> None:
        self._handle = handle
        self._chunk_size = chunk_size

    def __next__(self) -> bytes:
        chunk = self._handle.read(self._chunk_size) if not self._handle.closed else b""
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def signed_get_headers(info: BlobInfo, signed: SignedRequest) -> dict[str, str]:
    """Response headers for a signed GET of the object `info`."""
    headers = {
        "Content-Type": info.content_type or DEFAULT_CONTENT_TYPE,
        "Content-Length": str(info.size),
        "ETag": info.etag,
        "Last-Modified": email.utils.format_datetime(info.last_modified, usegmt=True),
        "Cache-Control": "private",
        # Blobs share the local UI's origin: never let one run as a page there.
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }
    if signed.filename is not None:
        headers["Content-Disposition"] = content_disposition(signed.filename)
    return headers


def exact_reader(body: BinaryIO, length: int) -> Callable[[int], bytes]:
    """Reads exactly `length` bytes from `body`, never more (the rest of the socket belongs to
    the next request); InvalidInput if it ends early."""
    remaining = length

    def read(size: int) -> bytes:
        nonlocal remaining
        if remaining == 0:
            return b""
        chunk = body.read(min(size, remaining))
        if not chunk:
            raise InvalidInput(f"request body ended {remaining} bytes before Content-Length")
        remaining -= len(chunk)
        return chunk

    return read


def fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
