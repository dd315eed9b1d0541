"""Blob rules both BlobStore adapters share (S3 presigned and local signed URLs): expiry
range, download filenames, content types. Pure functions, no I/O."""

from __future__ import annotations

import mimetypes
import re
from urllib.parse import quote

from studiolab.domain.errors import InvalidInput

MIN_EXPIRES_IN = 1
MAX_EXPIRES_IN = 604_800  # 7 days, the S3 presigned-URL maximum
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_HEADER_VALUE = 255


def check_expires_in(expires_in: int) -> int:
    if (
        not isinstance(expires_in, int)
        or isinstance(expires_in, bool)
        or not MIN_EXPIRES_IN <= expires_in <= MAX_EXPIRES_IN
    ):
        raise InvalidInput(
            f"expires_in must be {MIN_EXPIRES_IN}..{MAX_EXPIRES_IN} seconds, not {expires_in!r}",
            fields={"expires_in": "out of range"},
        )
    return expires_in


def check_filename(filename: str) -> str:
    """A download filename: non-empty, no '/', '\\' or control characters (no header
    injection, no path in the name), at most 255 characters."""
    if (
        not filename
        or len(filename) > _MAX_HEADER_VALUE
        or _CONTROL.search(filename)
        or "/" in filename
        or "\\" in filename
    ):
        raise InvalidInput(
            f"invalid download filename {filename!r}", fields={"filename": "invalid"}
        )
    return filename


def check_content_type(content_type: str) -> str:
    if (
        not content_type
        or len(content_type) > _MAX_HEADER_VALUE
        or _CONTROL.search(content_type)
        or not content_type.isascii()
    ):
        raise InvalidInput(
            f"invalid content type {content_type!r}", fields={"content_type": "invalid"}
        )
    return content_type


def default_content_type(key: str, content_type: str | None) -> str:
    """The content type an object is stored with: the given one, else a guess from the key's
    extension, else application/octet-stream. Both adapters apply it, so `head` agrees."""
    if content_type is not None:
        return check_content_type(content_type)
    return mimetypes.guess_type(key, strict=False)[0] or DEFAULT_CONTENT_TYPE


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266)."""
    check_filename(filename)
    fallback = "".join(c if c.isascii() and c not in '"%' else "_" for c in filename)
    encoded = quote(filename, safe="")
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
