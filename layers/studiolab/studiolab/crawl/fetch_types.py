"""The fetching port: settings, result, helpers and the `Fetcher` Protocol.

Pure (no httpx): the crawl engine depends on these; `adapters/http` implements them.
The typed error family lives in `studiolab.crawl.fetch_errors`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

from studiolab import __version__
from studiolab.domain.models.crawler import Crawler, Politeness

AcceptKind = Literal["html", "image", "xml", "json", "any"]
ACCEPT_KINDS: tuple[AcceptKind, ...] = ("html", "image", "xml", "json", "any")
MB = 1024 * 1024

USER_AGENT = f"studiolab/{__version__} (+https://github.com/studiolab; crawler)"
ROBOTS_AGENT = "studiolab"  # the product token robots.txt groups are matched against

DEFAULT_CONTENT_TYPES: dict[AcceptKind, tuple[str, ...]] = {
    "html": ("text/html", "application/xhtml+xml"),
    "image": (
        "image/jpeg",
        "image/pjpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/avif",
        "image/bmp",
        "image/tiff",
        "image/heic",
        "image/heif",
    ),
    # Sitemaps: plain XML, text sitemaps, and `.xml.gz` files served as gzip/octet-stream.
    "xml": (
        "application/xml",
        "text/xml",
        "application/*+xml",
        "text/plain",
        "application/gzip",
        "application/x-gzip",
        "application/octet-stream",
    ),
    "json": (
        "application/json",
        "application/*+json",
        "text/json",
        "text/javascript",
        "application/javascript",
        "text/plain",
    ),
    "any": ("*/*",),
}
DEFAULT_MAX_BODY: dict[AcceptKind, int] = {
    "html": 10 * MB,
    "image": 25 * MB,
    "xml": 50 * MB,
    "json": 10 * MB,
    "any": 10 * MB,
}
ACCEPT_HEADERS: dict[AcceptKind, str] = {
    "html": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
    "image": "image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8",
    "xml": "application/xml,text/xml;q=0.9,*/*;q=0.5",
    "json": "application/json,text/javascript;q=0.9,*/*;q=0.5",
    "any": "*/*",
}
_IMAGE_MAGIC = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
)


class FetchSettings(BaseModel):
    """How one fetcher behaves. Build from a crawler with `FetchSettings.for_politeness`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_agent: str = USER_AGENT
    robots_agent: str = ROBOTS_AGENT
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=15.0, gt=0)
    # Wall-clock bound of ONE attempt (connect, redirects, whole body): a slow drip ends here.
    total_timeout_s: float = Field(default=30.0, gt=0)
    max_body_bytes: dict[AcceptKind, int] = Field(default_factory=lambda: dict(DEFAULT_MAX_BODY))
    max_decompressed_bytes: int = Field(default=50 * MB, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=30)
    retries: int = Field(default=3, ge=0, le=10)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    # A Retry-After above this is not waited for: the fetch gives up (retries_exhausted).
    retry_after_max_s: float = Field(default=120.0, ge=0)
    obey_robots: bool = True
    robots_ttl_s: float = Field(default=24 * 3600.0, ge=0)
    robots_error_ttl_s: float = Field(default=600.0, ge=0)  # 5xx / unreachable: disallow this long
    robots_max_bytes: int = Field(default=512 * 1024, gt=0)  # Google reads the first 500 KiB
    delay_s: float = Field(default=1.0, ge=0, le=600)  # per domain, raised by robots Crawl-delay
    concurrency: int = Field(default=2, ge=1, le=64)  # per domain
    max_connections: int = Field(default=64, ge=1)
    # SSRF allow-list: "host", "host:port", "[v6]:port", an IP or a CIDR ("10.1.0.0/16").
    allow_private_hosts: list[str] = Field(default_factory=list)
    # Redirect filter: a hop may only go to one of these domains (or a subdomain), or stay on
    # the host first asked (an image CDN). Empty: any public host.
    allowed_domains: tuple[str, ...] = ()
    content_types: dict[AcceptKind, tuple[str, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_CONTENT_TYPES)
    )

    @classmethod
    def for_politeness(cls, politeness: Politeness, **overrides: object) -> FetchSettings:
        """Settings for a crawler: its delay, concurrency and robots choice."""
        base: dict[str, object] = {
            "delay_s": politeness.delay_s,
            "concurrency": politeness.concurrency,
            "obey_robots": politeness.obey_robots,
        }
        base.update(overrides)
        return cls.model_validate(base)

    @classmethod
    def for_crawler(cls, crawler: Crawler, **overrides: object) -> FetchSettings:
        """`for_politeness` plus the crawler's allowed domains as the redirect filter."""
        overrides.setdefault("allowed_domains", tuple(crawler.allowed_domains))
        return cls.for_politeness(crawler.politeness, **overrides)

    def redirect_allowed(self, first_url: str, target: str) -> bool:
        """May a redirect hop (of a fetch that began at first_url) go to target?"""
        if not self.allowed_domains:
            return True
        host = (urlsplit(target).hostname or "").lower().rstrip(".")
        if host and host == (urlsplit(first_url).hostname or "").lower().rstrip("."):
            return True
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def body_limit(self, accept: AcceptKind) -> int:
        return self.max_body_bytes.get(accept, DEFAULT_MAX_BODY[accept])

    def content_type_allowed(self, accept: AcceptKind, mime: str | None) -> bool | None:
        """True/False from the declared type; None = undecided (sniff the body)."""
        if accept == "any":
            return True
        if mime is None or (accept == "image" and mime == "application/octet-stream"):
            return None if accept == "image" else True
        patterns = self.content_types.get(accept, DEFAULT_CONTENT_TYPES[accept])
        return any(fnmatch.fnmatchcase(mime, pattern) for pattern in patterns)


def looks_like_image(body: bytes) -> bool:
    if body.startswith(_IMAGE_MAGIC):
        return True
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return True
    return body[4:8] == b"ftyp" and body[8:12] in (b"avif", b"avis", b"heic", b"heix", b"mif1")


def mime_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime or None


def detect_encoding(content_type: str | None, body: bytes, accept: AcceptKind) -> str | None:
    """Charset of a text body: BOM, then the header, then the document's own declaration,
    then UTF-8 if it decodes, else cp1252 (what browsers do). None for images and binaries."""
    mime = mime_of(content_type)
    if accept == "image" or (mime or "").startswith(("image/", "video/", "audio/")):
        return None
    bom_encoding, _ = read_bom(body)
    if bom_encoding:
        return bom_encoding
    declared = http_content_type_encoding(content_type) if content_type else None
    if declared is None and accept in ("html", "xml", "any"):
        declared = html_body_declared_encoding(body[:4096])
    if declared:
        resolved = resolve_encoding(declared)
        if resolved:
            return resolved
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


@dataclass(frozen=True)
class FetchResult:
    url: str  # as asked
    final_url: str  # after redirects
    status: int
    headers: Mapping[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes  # decoded (Content-Encoding removed); empty when not_modified
    content_type: str | None  # mime only, lower case ("text/html")
    encoding: str | None  # for text bodies (see detect_encoding)
    elapsed_ms: int
    not_modified: bool = False
    redirects: tuple[str, ...] = ()  # every URL that answered with a redirect, in order
    attempts: int = 1

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @cached_property
    def text(self) -> str:
        """The body as text; undecodable bytes become U+FFFD (never raises)."""
        return self.body.decode(self.encoding or "utf-8", errors="replace")


class Fetcher(Protocol):
    """The port the crawl engine fetches through. Raises `FetchError` subclasses only.

    2xx -> result; 304 on a conditional request -> result with `not_modified=True`;
    any other status -> `HttpStatusError` (or `RetriesExhausted` for 429/5xx after retries).
    """

    def fetch(
        self,
        url: str,
        *,
        accept: AcceptKind,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult: ...

    def sitemaps(self, url: str) -> list[str]:
        """The Sitemap lines of robots.txt for url's origin, from the same cached copy the
        politeness rules use (one robots.txt request per origin, paced like any other)."""
        ...
