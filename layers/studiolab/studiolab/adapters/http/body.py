"""Bounded, incremental body decoding: byte caps on the wire AND after decompression.

The raw (still encoded) stream is fed chunk by chunk; gzip/deflate are inflated here in
pieces of at most `_STEP` bytes, so a decompression bomb is stopped as soon as the decoded
size passes the cap, with memory bounded by the cap plus one piece.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

from studiolab.crawl.fetch_errors import BodyTooLarge, DecodingError, DecompressionBomb

_STEP = 64 * 1024
_SUPPORTED = ("gzip", "x-gzip", "deflate")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


class _Inflater:
    """One Content-Encoding layer (gzip incl. multi-member, or zlib/raw deflate)."""

    def __init__(self, encoding: str, url: str, limit: int) -> None:
        self.gzip = encoding in ("gzip", "x-gzip")
        self.encoding = encoding
        self.url = url
        self.limit = limit
        self.total = 0
        self._obj: zlib._Decompress | None = None
        self._pending = b""  # deflate: first byte(s) until the zlib header can be recognised

    def _new(self, data: bytes) -> zlib._Decompress:
        if self.gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        is_zlib = (data[0] & 0x0F) == 8 and (data[0] * 256 + data[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if is_zlib else -zlib.MAX_WBITS)

    def inflate_all(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            yield from self.inflate(piece)

    def inflate(self, data: bytes) -> Iterator[bytes]:
        if self._pending:
            data, self._pending = self._pending + data, b""
        while True:
            if self._obj is None:
                if not data:
                    return
                if not self.gzip and len(data) < 2:
                    self._pending = data
                    return
                self._obj = self._new(data)
            try:
                out = self._obj.decompress(data, _STEP)
            except zlib.error as error:
                raise DecodingError(self.url, f"corrupt {self.encoding} stream: {error}") from None
            if out:
                self.total += len(out)
                if self.total > self.limit:
                    raise DecompressionBomb(
                        self.url, f"{self.encoding} body inflates past {_mb(self.limit)}"
                    )
                yield out
            if self._obj.eof:
                rest = self._obj.unused_data
                self._obj = None
                if self.gzip and rest.strip(b"\0"):
                    data = rest  # the next gzip member
                    continue
                return
            data = self._obj.unconsumed_tail
            if not data and len(out) < _STEP:
                return


class BodyDecoder:
    """Feed raw chunks; read `body` at the end. Raises BodyTooLarge past `max_wire` raw bytes,
    DecompressionBomb past `max_decoded` decoded bytes, DecodingError on a corrupt or
    unsupported encoding. With `truncate_at`, stops quietly (`done`) at that decoded size."""

    def __init__(
        self,
        url: str,
        content_encoding: str | None,
        *,
        max_wire: int,
        max_decoded: int,
        truncate_at: int | None = None,
        kind: str = "",
    ) -> None:
        self.url = url
        self.max_wire = max_wire
        self.max_decoded = max_decoded
        self.truncate_at = truncate_at
        self.kind = kind
        self.wire = 0
        self.decoded = 0
        self.done = False
        self._parts: list[bytes] = []
        encodings = [
            token.strip().lower()
            for token in (content_encoding or "").split(",")
            if token.strip() and token.strip().lower() != "identity"
        ]
        unsupported = [name for name in encodings if name not in _SUPPORTED]
        if unsupported:
            raise DecodingError(url, f"unsupported Content-Encoding {', '.join(unsupported)}")
        # Encodings are listed in the order applied: undo them last-first.
        self._stages = [_Inflater(name, url, max_decoded) for name in reversed(encodings)]

    def feed(self, raw: bytes) -> None:
        if self.done or not raw:
            return
        self.wire += len(raw)
        if self.wire > self.max_wire and self.truncate_at is None:
            raise BodyTooLarge(
                self.url, f"more than {_mb(self.max_wire)} on the wire (limit for {self.kind})"
            )
        pieces: Iterable[bytes] = (raw,)
        for stage in self._stages:
            pieces = stage.inflate_all(pieces)
        for piece in pieces:
            self._append(piece)
            if self.done:
                return
        if self.wire > self.max_wire:  # truncating: stop at the wire cap too
            self.done = True

    def _append(self, piece: bytes) -> None:
        if self.truncate_at is not None and self.decoded + len(piece) >= self.truncate_at:
            piece = piece[: self.truncate_at - self.decoded]
            self.done = True
        self.decoded += len(piece)
        if self.decoded > self.max_decoded:
            if not self._stages:  # nothing was inflated: plainly too big
                raise BodyTooLarge(self.url, f"more than {_mb(self.max_decoded)}")
            raise DecompressionBomb(self.url, f"body larger than {_mb(self.max_decoded)} decoded")
        self._parts.append(piece)

    @property
    def body(self) -> bytes:
        return b"".join(self._parts)


def gunzip_bounded(url: str, data: bytes, *, limit: int) -> bytes:
    """Inflate a gzip FILE (e.g. a sitemap.xml.gz served as application/gzip) with a cap."""
    decoder = BodyDecoder(url, "gzip", max_wire=len(data) + 1, max_decoded=limit, kind="gzip")
    decoder.feed(data)
    return decoder.body
