"""robots.txt policy: one cached rule set per origin (protego), RFC 9309 / Google semantics.

- 2xx: parse the first `max_bytes` (Google reads 500 KiB).
- 4xx (except 429): no usable robots.txt -> everything allowed.
- 429, 5xx, timeouts: everything disallowed for `error_ttl_s`, then asked again.
The loader (a fetch of `<origin>/robots.txt`) is injected: the crawler's own fetcher, so the
robots request gets the same SSRF guard, timeouts and politeness as any page. A loader may
raise instead (DNS, TLS, refused connection: the site itself is unreachable); nothing is
cached then and the error reaches the caller.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from studiolab.crawl.fetch_types import ROBOTS_AGENT
from studiolab.crawl.ssrf import default_port


@dataclass(frozen=True)
class RobotsResponse:
    status: int | None  # None: unreachable (DNS, connection, timeout, too many redirects...)
    body: bytes = b""
    error: str = ""


class RobotsRules:
    """The rules of one origin for one robot."""

    def __init__(
        self, parser: Protego | None, *, disallow_all: bool = False, why: str = ""
    ) -> None:
        self._parser = parser
        self.disallow_all = disallow_all
        self.why = why

    @classmethod
    def allow_all(cls, why: str) -> RobotsRules:
        return cls(None, why=why)

    def allowed(self, url: str, agent: str = ROBOTS_AGENT) -> bool:
        if urlsplit(url).path == "/robots.txt":
            return True
        if self.disallow_all:
            return False
        return True if self._parser is None else self._parser.can_fetch(url, agent)

    def crawl_delay(self, agent: str = ROBOTS_AGENT) -> float | None:
        """Crawl-delay, or the interval a Request-rate implies, whichever is larger."""
        if self._parser is None:
            return None
        delays = [self._parser.crawl_delay(agent)]
        rate = self._parser.request_rate(agent)
        if rate is not None and rate.requests > 0:
            delays.append(rate.seconds / rate.requests)
        known = [float(delay) for delay in delays if delay is not None and delay > 0]
        return max(known) if known else None

    @property
    def sitemaps(self) -> list[str]:
        return [] if self._parser is None else list(self._parser.sitemaps)


def rules_from_response(response: RobotsResponse, *, max_bytes: int) -> tuple[RobotsRules, bool]:
    """(rules, ok) - ok False means a temporary failure, cached only for the error TTL."""
    status = response.status
    if status is None or status == 429 or status >= 500:
        why = response.error or f"robots.txt answered {status}"
        return RobotsRules(None, disallow_all=True, why=f"{why}: disallow all for now"), False
    if 200 <= status < 300:
        text = response.body[:max_bytes].decode("utf-8", errors="replace")
        return RobotsRules(Protego.parse(text), why="robots.txt"), True
    return RobotsRules.allow_all(f"robots.txt answered {status}: allow all"), True


def robots_origin(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or default_port(scheme)
    suffix = "" if port == default_port(scheme) else f":{port}"
    return f"{scheme}://{host}{suffix}"


class RobotsCache:
    """Thread-safe, bounded (LRU) cache of rules per origin. One load per origin at a time."""

    def __init__(
        self,
        loader: Callable[[str], RobotsResponse],
        *,
        agent: str = ROBOTS_AGENT,
        clock: Callable[[], float] = time.monotonic,
        ttl_s: float = 24 * 3600.0,
        error_ttl_s: float = 600.0,
        max_entries: int = 1024,
        max_bytes: int = 512 * 1024,
    ) -> None:
        self._loader = loader  # gets the robots.txt URL
        self.agent = agent
        self._clock = clock
        self._ttl = ttl_s
        self._error_ttl = error_ttl_s
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[float, RobotsRules]] = OrderedDict()
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def rules(self, url: str) -> RobotsRules:
        origin = robots_origin(url)
        cached = self._cached(origin)
        if cached is not None:
            return cached
        with self._lock:
            origin_lock = self._loading.setdefault(origin, threading.Lock())
        with origin_lock:
            cached = self._cached(origin)  # another thread may have loaded it meanwhile
            if cached is not None:
                return cached
            try:
                response = self._loader(f"{origin}/robots.txt")
            except BaseException:
                with self._lock:
                    self._loading.pop(origin, None)
                raise
            rules, ok = rules_from_response(response, max_bytes=self._max_bytes)
            expires = self._clock() + (self._ttl if ok else self._error_ttl)
            with self._lock:
                self._entries[origin] = (expires, rules)
                self._entries.move_to_end(origin)
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
                self._loading.pop(origin, None)
            return rules

    def _cached(self, origin: str) -> RobotsRules | None:
        with self._lock:
            entry = self._entries.get(origin)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[origin]
                return None
            self._entries.move_to_end(origin)
            return entry[1]

    def allowed(self, url: str) -> bool:
        return self.rules(url).allowed(url, self.agent)

    def crawl_delay(self, url: str) -> float | None:
        return self.rules(url).crawl_delay(self.agent)

    def sitemaps(self, url: str) -> list[str]:
        return self.rules(url).sitemaps

    def invalidate(self, url: str) -> None:
        with self._lock:
            self._entries.pop(robots_origin(url), None)
