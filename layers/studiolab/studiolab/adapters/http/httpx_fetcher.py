"""`HttpxFetcher`: the crawler's `Fetcher` over an httpx sync client.

Per fetch: SSRF check -> robots.txt -> per-domain slot (pace + concurrency) -> one HTTP
exchange under a wall-clock deadline -> manual redirect (every hop repeats the checks) ->
bounded body read -> content-type check. Failed attempts are retried with jittered
exponential backoff (timeouts, connection errors, 408/429/5xx, honouring Retry-After).
Thread-safe: one instance serves all worker threads of a crawl.
"""

from __future__ import annotations

import random
import ssl
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit

import httpcore
import httpx

from studiolab.adapters.http.body import BodyDecoder, gunzip_bounded
from studiolab.adapters.http.errors import Failure, classify
from studiolab.adapters.http.pinned import PinnedTransport, deadline
from studiolab.crawl.fetch_errors import (
    BadContentType,
    BodyTooLarge,
    DnsError,
    FetchConnectionError,
    FetchError,
    HttpStatusError,
    InvalidUrl,
    OffsiteRedirect,
    RedirectLoop,
    RetriesExhausted,
    RobotsDisallowed,
    SsrfBlocked,
    TlsError,
    TooManyRedirects,
)
from studiolab.crawl.fetch_types import (
    ACCEPT_HEADERS,
    AcceptKind,
    FetchResult,
    FetchSettings,
    detect_encoding,
    looks_like_image,
    mime_of,
)
from studiolab.crawl.politeness import (
    RETRY_STATUSES,
    Clock,
    DomainThrottle,
    Sleep,
    parse_retry_after,
    retry_wait,
)
from studiolab.crawl.robots import RobotsCache, RobotsResponse, RobotsRules
from studiolab.crawl.ssrf import Resolver, SsrfGuard

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# robots.txt failures that say "this site cannot be reached", not "robots.txt is broken".
_UNREACHABLE = (DnsError, TlsError, SsrfBlocked, InvalidUrl, FetchConnectionError)


class _AttemptFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.error.message)
        self.failure = failure


@dataclass
class _Redirect:
    location: str
    set_cookie: bool


@dataclass
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    mime: str | None = None
    content_type: str | None = None
    not_modified: bool = False
    redirects: list[str] = field(default_factory=list)
    final_url: str = ""


def _headers(response: httpx.Response) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in response.headers.multi_items():
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


class HttpxFetcher:
    """The `Fetcher` adapter. `robots=False` ignores robots.txt even if the settings obey it
    (e.g. for a user-supplied single URL); `clock`/`sleep` drive politeness and backoff."""

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        robots: bool = True,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        throttle: DomainThrottle | None = None,
        rng: Callable[[], float] = random.random,
        network_backend: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.settings = settings = settings or FetchSettings()
        self.obey_robots = robots and settings.obey_robots
        self._sleep = sleep
        self._rng = rng
        self.guard = SsrfGuard(settings.allow_private_hosts, resolver=resolver)
        self.throttle = throttle or DomainThrottle(
            settings.delay_s, settings.concurrency, clock=clock, sleep=sleep
        )
        self.robots = RobotsCache(
            self._load_robots,
            agent=settings.robots_agent,
            clock=clock,
            ttl_s=settings.robots_ttl_s,
            error_ttl_s=settings.robots_error_ttl_s,
            max_bytes=settings.robots_max_bytes,
        )
        limits = httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_connections,
            keepalive_expiry=30.0,
        )
        self.transport = PinnedTransport(
            self.guard,
            ssl_context=ssl_context or httpx.create_ssl_context(),
            limits=limits,
            inner_backend=network_backend,  # tests: a spy around the real sockets
        )
        self._client = httpx.Client(
            transport=self.transport,
            timeout=httpx.Timeout(
                connect=settings.connect_timeout_s,
                read=settings.read_timeout_s,
                write=settings.read_timeout_s,
                pool=settings.total_timeout_s,
            ),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    # ------------------------------------------------------------------ public API

    def fetch(
        self,
        url: str,
        *,
        accept: AcceptKind,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        headers = {"Accept": ACCEPT_HEADERS[accept]}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self._fetch(url, accept, headers, check_robots=self.obey_robots)

    def robots_rules(self, url: str) -> RobotsRules:
        """The robots.txt rules for url's origin (cached), e.g. for its Sitemap lines."""
        self.guard.check_url(url, timeout=self.settings.connect_timeout_s)
        return self.robots.rules(url)

    def sitemaps(self, url: str) -> list[str]:
        return self.robots_rules(url).sitemaps

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpxFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ retries

    def _fetch(
        self,
        url: str,
        accept: AcceptKind,
        headers: dict[str, str],
        *,
        check_robots: bool,
        truncate_at: int | None = None,
        filter_redirects: bool = True,
    ) -> FetchResult:
        settings = self.settings
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                answer = self._attempt(
                    url, accept, headers, check_robots, truncate_at, filter_redirects
                )
                break
            except _AttemptFailed as failed:
                failure = failed.failure
            wait = None
            if failure.retryable and attempt < settings.retries:
                wait = retry_wait(
                    attempt,
                    failure.retry_after_s,
                    base_s=settings.backoff_base_s,
                    max_s=settings.backoff_max_s,
                    retry_after_max_s=settings.retry_after_max_s,
                    rng=self._rng,
                )
            if wait is None:
                raise self._give_up(url, failure, attempt + 1) from failure.error
            if failure.retry_after_s:
                self.throttle.pause(urlsplit(failure.error.url).hostname or "", wait)
            self._sleep(wait)
            attempt += 1
        elapsed_ms = int((time.monotonic() - started) * 1000)
        encoding = (
            None
            if answer.not_modified
            else detect_encoding(answer.content_type, answer.body, accept)
        )
        return FetchResult(
            url=url,
            final_url=answer.final_url,
            status=answer.status,
            headers=answer.headers,
            body=answer.body,
            content_type=answer.mime,
            encoding=encoding,
            elapsed_ms=elapsed_ms,
            not_modified=answer.not_modified,
            redirects=tuple(answer.redirects),
            attempts=attempt + 1,
        )

    def _give_up(self, url: str, failure: Failure, attempts: int) -> FetchError:
        error = failure.error
        if not failure.retryable or self.settings.retries == 0:
            return error  # names the URL (or redirect hop) that failed
        why = f"{attempts} attempts; last: {error.code}: {error.message}"
        if failure.retry_after_s and failure.retry_after_s > self.settings.retry_after_max_s:
            why = f"server asked to wait {failure.retry_after_s:g} s; last: {error.message}"
        return RetriesExhausted(url, why, status=error.status, attempts=attempts, last=error)

    # ------------------------------------------------------------------ one attempt

    def _attempt(
        self,
        url: str,
        accept: AcceptKind,
        headers: dict[str, str],
        check_robots: bool,
        truncate_at: int | None,
        filter_redirects: bool = True,
    ) -> _Answer:
        settings = self.settings
        current = url
        redirects: list[str] = []
        visits: Counter[str] = Counter({self._loop_key(url): 1})
        while True:
            host = self._check_hop(current, check_robots)
            with self.throttle.slot(host), deadline(settings.total_timeout_s):
                outcome = self._exchange(current, accept, headers, truncate_at)
            if isinstance(outcome, _Answer):
                outcome.redirects = redirects
                outcome.final_url = current
                return outcome
            target = urljoin(current, outcome.location.strip())
            redirects.append(current)
            if urlsplit(target).scheme not in ("http", "https"):
                raise InvalidUrl(target, f"redirected from {current} to a non-http(s) URL")
            if filter_redirects and not settings.redirect_allowed(url, target):
                # Refused before anything is sent to target (not even its robots.txt).
                raise OffsiteRedirect(url, f"{current} -> {target}")
            key = self._loop_key(target)
            visits[key] += 1
            chain = " -> ".join([*redirects, target])
            if visits[key] > 2 or (visits[key] == 2 and not outcome.set_cookie):
                raise RedirectLoop(url, chain)
            if len(redirects) > settings.max_redirects:
                raise TooManyRedirects(url, f"more than {settings.max_redirects}: {chain}")
            current = target

    @staticmethod
    def _loop_key(url: str) -> str:
        # Exact URL minus fragment: "/a?utm_source=x" -> "/a" is a clean-up, not a loop.
        return urldefrag(url)[0]

    def _check_hop(self, url: str, check_robots: bool) -> str:
        """SSRF first (nothing is sent to a refused host, not even for robots.txt)."""
        self.guard.check_url(url, timeout=self.settings.connect_timeout_s)
        host = urlsplit(url).hostname or ""
        if check_robots:
            try:
                rules = self.robots.rules(url)
            except FetchError as error:  # the site is unreachable: the page would fail alike
                raise error.for_url(url) from error
            if not rules.allowed(url, self.robots.agent):
                raise RobotsDisallowed(url, rules.why or "robots.txt")
            self.throttle.set_min_delay(host, rules.crawl_delay(self.robots.agent))
        return host

    def _exchange(
        self, url: str, accept: AcceptKind, headers: dict[str, str], truncate_at: int | None
    ) -> _Answer | _Redirect:
        total = self.settings.total_timeout_s
        try:
            request = self._client.build_request("GET", url, headers=headers)
            response = self._client.send(request, stream=True, follow_redirects=False)
        except Exception as error:
            raise _AttemptFailed(classify(url, error, total_timeout_s=total)) from error
        try:
            return self._answer(url, response, accept, truncate_at)
        except FetchError as error:
            raise _AttemptFailed(Failure(error.for_url(url), retryable=False)) from error
        except (httpx.HTTPError, OSError) as error:
            raise _AttemptFailed(classify(url, error, total_timeout_s=total)) from error
        finally:
            response.close()

    def _answer(
        self, url: str, response: httpx.Response, accept: AcceptKind, truncate_at: int | None
    ) -> _Answer | _Redirect:
        status = response.status_code
        headers = _headers(response)
        if status in _REDIRECTS and headers.get("location"):
            return _Redirect(headers["location"], "set-cookie" in headers)
        if status == 304:
            return _Answer(status, headers, not_modified=True)
        reason = f"{status} {response.reason_phrase}".strip()
        if status in RETRY_STATUSES:
            retry_after = parse_retry_after(headers.get("retry-after"))
            error = HttpStatusError(url, reason, status=status)
            raise _AttemptFailed(Failure(error, retryable=True, retry_after_s=retry_after))
        if not 200 <= status < 300:
            raise HttpStatusError(url, reason, status=status)
        content_type = headers.get("content-type")
        mime = mime_of(content_type)
        verdict = self.settings.content_type_allowed(accept, mime)
        if verdict is False:
            raise BadContentType(url, f"got {mime}, expected {accept}")
        body = self._read_body(url, response, accept, truncate_at)
        if verdict is None and accept == "image" and not looks_like_image(body):
            raise BadContentType(url, f"got {mime or 'no type'} and the bytes are not an image")
        return _Answer(status, headers, body, mime, content_type)

    def _read_body(
        self, url: str, response: httpx.Response, accept: AcceptKind, truncate_at: int | None
    ) -> bytes:
        limit = self.settings.body_limit(accept)
        declared = response.headers.get("content-length", "")
        if truncate_at is None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(url, f"Content-Length {declared} is over the {limit} byte limit")
        decoder = BodyDecoder(
            url,
            response.headers.get("content-encoding"),
            max_wire=limit,
            max_decoded=self.settings.max_decompressed_bytes,
            truncate_at=truncate_at,
            kind=accept,
        )
        for chunk in response.iter_raw():
            decoder.feed(chunk)
            if decoder.done:
                break
        body = decoder.body
        if accept == "xml" and body[:2] == b"\x1f\x8b":  # sitemap.xml.gz served as a file
            body = gunzip_bounded(url, body, limit=self.settings.max_decompressed_bytes)
        return body

    # ------------------------------------------------------------------ robots.txt

    def _load_robots(self, robots_url: str) -> RobotsResponse:
        """robots.txt through this same fetcher (SSRF guard, pacing, caps), never raising:
        the outcome becomes allow-all (4xx) or disallow-all (5xx, unreachable)."""
        try:
            result = self._fetch(
                robots_url,
                "any",
                {"Accept": "text/plain,*/*;q=0.5"},
                check_robots=False,
                truncate_at=self.settings.robots_max_bytes,
                filter_redirects=False,  # RFC 9309: robots.txt redirects are followed
            )
        except HttpStatusError as error:
            return RobotsResponse(error.status, error=error.message)
        except RetriesExhausted as error:
            if error.last is not None and isinstance(error.last, _UNREACHABLE):
                raise
            return RobotsResponse(error.status, error=error.message)
        except _UNREACHABLE:
            raise  # not a robots decision: the page fetch reports it (and nothing is cached)
        except (TooManyRedirects, RedirectLoop) as error:
            return RobotsResponse(404, error=error.message)  # RFC 9309: unavailable
        except FetchError as error:
            return RobotsResponse(None, error=error.message)
        return RobotsResponse(result.status, result.body)
