"""httpx exceptions -> the typed FetchError family (and whether a retry may help)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import httpx

from studiolab.adapters.http.pinned import deadline_passed
from studiolab.crawl.fetch_errors import (
    FetchConnectionError,
    FetchError,
    FetchTimeout,
    InvalidUrl,
    TlsError,
)


@dataclass
class Failure:
    """A failed attempt: the error to report, and whether (and when) to try again."""

    error: FetchError
    retryable: bool
    retry_after_s: float | None = None


def _ssl_cause(error: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def classify(url: str, error: Exception, *, total_timeout_s: float) -> Failure:
    """Map one exception raised while sending or reading to a Failure."""
    if isinstance(error, FetchError):  # raised by the pinned backend (SSRF, DNS) or decoder
        return Failure(error.for_url(url), retryable=False)
    if isinstance(error, httpx.TimeoutException):
        if deadline_passed():
            detail = f"not finished within the {total_timeout_s:g} s total time limit"
            return Failure(FetchTimeout(url, detail), retryable=False)
        kind = {
            httpx.ConnectTimeout: "connect timeout",
            httpx.ReadTimeout: "read timeout: no data",
            httpx.WriteTimeout: "write timeout",
            httpx.PoolTimeout: "no free connection",
        }.get(type(error), "timeout")
        return Failure(FetchTimeout(url, kind), retryable=True)
    tls = _ssl_cause(error)
    if tls is not None:
        reason = getattr(tls, "reason", None) or str(tls)
        return Failure(TlsError(url, str(reason)), retryable=False)
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Failure(InvalidUrl(url, str(error)), retryable=False)
    if isinstance(error, httpx.ConnectError):
        return Failure(FetchConnectionError(url, str(error) or "connect failed"), retryable=True)
    if isinstance(error, httpx.RemoteProtocolError):
        detail = str(error) or "protocol error"
        return Failure(FetchConnectionError(url, f"broken response: {detail}"), retryable=True)
    if isinstance(error, httpx.TransportError):
        return Failure(FetchConnectionError(url, str(error) or type(error).__name__), True)
    if isinstance(error, httpx.HTTPError):
        return Failure(FetchConnectionError(url, str(error)), retryable=False)
    raise error
