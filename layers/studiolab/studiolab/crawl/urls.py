"""URL canonicalisation and de-duplication (pages by canonical URL, images by URL and bytes)."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterable
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Click and campaign tracking: never part of what a page is.
TRACKING_PARAMS = frozenset(
    {
        "gclid",
        "gbraid",
        "wbraid",
        "dclid",
        "fbclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "ref",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    key = name.lower()
    return key.startswith("utm_") or key in TRACKING_PARAMS


@functools.lru_cache(maxsize=32768)  # pure; pages repeat the same navigation links
def canonicalize(url: str) -> str:
    """One spelling per page: w3lib's canonical form (sorted query, normalised escapes,
    lower-case scheme and host), no fragment, no default port, no tracking parameters
    (utm_*, gclid, fbclid, ref, ...), "/" for an empty path."""
    canonical = canonicalize_url(url.strip(), keep_fragments=False)
    parts = urlsplit(canonical)
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and not _is_tracking(unquote_plus(pair.split("=", 1)[0]))
    )
    netloc = parts.netloc
    host = (parts.hostname or "").rstrip(".")
    if parts.hostname is not None:
        userinfo = netloc.rpartition("@")[0]
        port = parts.port
        shown = f"[{host}]" if ":" in host else host
        if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
            shown = f"{shown}:{port}"
        netloc = f"{userinfo}@{shown}" if userinfo else shown
    return urlunsplit((parts.scheme, netloc, parts.path or "/", query, ""))


def url_hash(url: str) -> str:
    """sha256 hex of the canonical URL: the key of a page or image across runs."""
    return hashlib.sha256(canonicalize(url).encode("utf-8")).hexdigest()


def content_hash(body: bytes) -> str:
    """sha256 hex of the bytes: the same image under two URLs has one content hash."""
    return hashlib.sha256(body).hexdigest()


class SeenImages:
    """Image de-duplication by canonical-URL hash, then by content hash. Thread-safe.

    Check `seen_url` before downloading (skip known URLs), then `add` after downloading:
    False means the bytes were already stored under another URL. `state()` and the
    constructor let a resumable run persist and restore both sets.
    """

    def __init__(self, url_hashes: Iterable[str] = (), content_hashes: Iterable[str] = ()) -> None:
        self._urls: set[str] = set(url_hashes)
        self._contents: set[str] = set(content_hashes)
        self._lock = threading.Lock()

    def seen_url(self, url: str) -> bool:
        key = url_hash(url)
        with self._lock:
            return key in self._urls

    def claim_url(self, url: str) -> bool:
        """Record the URL; True if it was new (this caller should download it)."""
        key = url_hash(url)
        with self._lock:
            if key in self._urls:
                return False
            self._urls.add(key)
            return True

    def add(self, url: str, body: bytes) -> bool:
        """Record a downloaded image; True if its bytes are new (keep it), False if a
        duplicate of an image already seen (under this or another URL)."""
        url_key, body_key = url_hash(url), content_hash(body)
        with self._lock:
            self._urls.add(url_key)
            if body_key in self._contents:
                return False
            self._contents.add(body_key)
            return True

    def state(self) -> tuple[list[str], list[str]]:
        with self._lock:
            return sorted(self._urls), sorted(self._contents)

    def __len__(self) -> int:
        with self._lock:
            return len(self._contents)
