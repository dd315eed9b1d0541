"""HMAC-signed blob URLs for the local mode: the counterpart of S3 presigned URLs.

A URL is `{base_url}/blobs/{quoted key}?op=get|put&exp=<unix>[&filename=..][&content_type=..]
&sig=<hex>`. The signature covers the operation, the key, the expiry and the optional
filename / content type, so none of them can be changed without invalidating it. The local
HTTP server calls `parse_target` on the request target, then the blob store's
`open_signed_get` / `accept_signed_put`, which call `verify`.

The rules both BlobStore adapters share (expiry range, filenames, content types) live in
studiolab.domain.blobrules; the serving helpers in blob_serving."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from studiolab.adapters.local.blob_serving import fsync_dir
from studiolab.domain.blobkeys import check_key
from studiolab.domain.blobrules import check_content_type, check_expires_in, check_filename
from studiolab.domain.errors import DataDirError, Forbidden, InvalidInput, NotFound
from studiolab.domain.ports import Clock

Op = Literal["get", "put"]
OPS: tuple[Op, ...] = ("get", "put")
SECRET_BYTES = 32
ROUTE = "/blobs/"
_SIGNATURE_VERSION = "studiolab-blob-v1"
_DIGITS = re.compile(r"[0-9]{1,12}")
_HEX_SIG = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class SignedRequest:
    """What a valid signed URL allows."""

    op: Op
    key: str
    expires_at: datetime
    filename: str | None
    content_type: str | None


class UrlSigner:
    def __init__(self, secret: bytes, base_url: str, clock: Clock) -> None:
        if len(secret) < 16:
            raise InvalidInput("URL signing secret must be at least 16 bytes")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise InvalidInput(f"base_url {base_url!r} must be http(s)://host[:port][/path]")
        self._secret = secret
        self._base_url = base_url.rstrip("/")
        self._route = parts.path.rstrip("/") + ROUTE
        self._clock = clock

    @property
    def route(self) -> str:
        """The path prefix the local server must route to the blob handler ("/blobs/")."""
        return self._route

    def sign(
        self,
        op: Op,
        key: str,
        expires_in: int,
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> str:
        _check_op(op)
        check_key(key)
        check_expires_in(expires_in)
        if filename is not None:
            check_filename(filename)
        if content_type is not None:
            check_content_type(content_type)
        expires = int(self._clock.now().timestamp()) + expires_in
        params: dict[str, str] = {"op": op, "exp": str(expires)}
        if filename is not None:
            params["filename"] = filename
        if content_type is not None:
            params["content_type"] = content_type
        params["sig"] = self._signature(op, key, expires, filename, content_type)
        return f"{self._base_url}{ROUTE}{quote(key, safe='/')}?{urlencode(params)}"

    def verify(
        self, op: Op, key: str, query: Mapping[str, str], *, content_type: str | None = None
    ) -> SignedRequest:
        """Check a request for `key` made with `query`; Forbidden unless it carries a valid,
        unexpired signature for `op`. For a PUT, pass the request's Content-Type: when the URL
        bound one, it must match exactly (as S3 does for a signed content-type header)."""
        _check_op(op)
        check_key(key)
        signature = query.get("sig", "")
        expires_text = query.get("exp", "")
        if not signature or not expires_text or "op" not in query:
            raise Forbidden("missing signature")
        if query["op"] != op:
            raise Forbidden(f"this URL is not valid for {op.upper()}")
        if not _DIGITS.fullmatch(expires_text) or not _HEX_SIG.fullmatch(signature):
            raise Forbidden("malformed signature")
        expires = int(expires_text)
        filename = query.get("filename")
        signed_type = query.get("content_type")
        expected = self._signature(op, key, expires, filename, signed_type)
        if not hmac.compare_digest(expected, signature):
            raise Forbidden("signature does not match")
        if int(self._clock.now().timestamp()) >= expires:
            raise Forbidden("signed URL has expired")
        if op == "put" and signed_type is not None and content_type != signed_type:
            raise Forbidden("Content-Type differs from the one the URL was signed for")
        return SignedRequest(
            op=op,
            key=key,
            expires_at=datetime.fromtimestamp(expires, UTC),
            filename=filename,
            content_type=signed_type,
        )

    def parse_target(self, target: str) -> tuple[str, dict[str, str]]:
        """Split a request target ("/blobs/raw/a%20b.jpg?op=get&..." or a full URL) into the
        key and the query. NotFound if it is not under the blob route; Forbidden if a query
        parameter is repeated (ambiguous). The key is checked later, by `verify`."""
        parts = urlsplit(target)
        if not parts.path.startswith(self._route):
            raise NotFound(f"{parts.path!r} is not a blob URL")
        key = unquote(parts.path[len(self._route) :])
        query: dict[str, str] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name in query:
                raise Forbidden(f"query parameter {name!r} is repeated")
            query[name] = value
        return key, query

    def _signature(
        self, op: str, key: str, expires: int, filename: str | None, content_type: str | None
    ) -> str:
        # A JSON array is an unambiguous encoding: no field can bleed into the next.
        message = json.dumps(
            [_SIGNATURE_VERSION, op, key, expires, filename, content_type],
            ensure_ascii=True,
            separators=(",", ":"),
        )
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()


def load_or_create_secret(path: Path) -> bytes:
    """The signing secret stored at `path`, created (32 random bytes, mode 0600) if absent.

    Reused across restarts so URLs handed out stay valid. Creation is atomic: the secret is
    written to a temporary file and hard-linked into place, so a crash never leaves a short
    file and two processes racing to create it end up with the same secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _create_secret(path)
    return _read_secret(path)


def _create_secret(path: Path) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: use its
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def _read_secret(path: Path) -> bytes:
    try:
        secret = path.read_bytes()
        if os.name == "posix" and path.stat().st_mode & 0o077:
            path.chmod(0o600)  # a copied data dir may have loosened it
    except OSError as error:
        raise DataDirError(f"cannot read the URL signing secret {path}: {error}") from error
    if len(secret) != SECRET_BYTES:
        raise DataDirError(
            f"{path} holds {len(secret)} bytes, not a {SECRET_BYTES}-byte signing secret; "
            "delete it to make a new one (signed URLs handed out so far will stop working)"
        )
    return secret


def _check_op(op: str) -> None:
    if op not in OPS:
        raise InvalidInput(f"op must be one of {OPS}, not {op!r}", fields={"op": "invalid"})
