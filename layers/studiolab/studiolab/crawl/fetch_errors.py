"""The fetching port's typed error family: `FetchError`, its subclasses and `FETCH_ERRORS`.

Pure (no httpx): every `Fetcher` raises these; `code` names the reason for reports and the API.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from studiolab.domain.errors import StudiolabError

FetchErrorCode = Literal[
    "bad_url",
    "timeout",
    "body_too_large",
    "decompression_bomb",
    "decoding_error",
    "too_many_redirects",
    "redirect_loop",
    "bad_content_type",
    "robots_disallowed",
    "ssrf_blocked",
    "offsite_redirect",
    "http_status",
    "dns_error",
    "tls_error",
    "connection_error",
    "retries_exhausted",
]


class FetchError(StudiolabError):
    """A page or image could not be fetched. `code` says why; the message names the URL."""

    code: ClassVar[str] = "fetch_error"
    http_status: ClassVar[int] = 502
    title: ClassVar[str] = "fetch failed"
    transient_error: ClassVar[bool] = False  # may a later attempt (next batch/run) succeed?

    def __init__(self, url: str, detail: str = "", *, status: int | None = None) -> None:
        self.url = url
        self.detail = detail
        self.status = status
        message = f"{self.title}: {url}" + (f" ({detail})" if detail else "")
        fields = {"url": url} | ({"status": str(status)} if status is not None else {})
        super().__init__(message, fields=fields)

    @property
    def transient(self) -> bool:
        return self.transient_error

    def for_url(self, url: str) -> FetchError:
        """The same error naming another URL (raised deep in the transport, reported per page)."""
        if url == self.url:
            return self
        clone = type(self)(url, self.detail, status=self.status)
        clone.__cause__ = self.__cause__
        return clone


class InvalidUrl(FetchError):
    code = "bad_url"
    http_status = 400
    title = "not a fetchable http(s) URL"


class FetchTimeout(FetchError):
    code = "timeout"
    http_status = 504
    title = "timed out"
    transient_error = True


class BodyTooLarge(FetchError):
    code = "body_too_large"
    title = "response body too large"


class DecompressionBomb(FetchError):
    code = "decompression_bomb"
    title = "decompressed body too large (decompression bomb?)"


class DecodingError(FetchError):
    code = "decoding_error"
    title = "cannot decode the response body"


class TooManyRedirects(FetchError):
    code = "too_many_redirects"
    title = "too many redirects"


class RedirectLoop(FetchError):
    code = "redirect_loop"
    title = "redirect loop"


class BadContentType(FetchError):
    code = "bad_content_type"
    title = "unexpected content type"


class RobotsDisallowed(FetchError):
    code = "robots_disallowed"
    http_status = 403
    title = "disallowed by robots.txt"


class SsrfBlocked(FetchError):
    code = "ssrf_blocked"
    http_status = 403
    title = "refused: host resolves to a non-public address"


class OffsiteRedirect(FetchError):
    """A redirect hop pointed outside the crawler's allowed domains: nothing was sent there."""

    code = "offsite_redirect"
    http_status = 403
    title = "refused: redirect to a host outside the allowed domains"


class HttpStatusError(FetchError):
    code = "http_status"
    title = "HTTP error status"

    @property
    def transient(self) -> bool:
        return self.status is not None and (self.status == 429 or self.status >= 500)


class DnsError(FetchError):
    code = "dns_error"
    title = "DNS lookup failed"


class TlsError(FetchError):
    code = "tls_error"
    title = "TLS handshake failed"


class FetchConnectionError(FetchError):
    code = "connection_error"
    title = "connection failed"
    transient_error = True


class RetriesExhausted(FetchError):
    code = "retries_exhausted"
    http_status = 503
    title = "gave up after retries"
    transient_error = True

    def __init__(
        self,
        url: str,
        detail: str = "",
        *,
        status: int | None = None,
        attempts: int = 0,
        last: FetchError | None = None,
    ) -> None:
        super().__init__(url, detail, status=status)
        self.attempts = attempts
        self.last = last
        if last is not None:
            self.fields["last_code"] = last.code

    def for_url(self, url: str) -> FetchError:
        if url == self.url:
            return self
        return RetriesExhausted(
            url, self.detail, status=self.status, attempts=self.attempts, last=self.last
        )


FETCH_ERRORS: dict[str, type[FetchError]] = {
    cls.code: cls
    for cls in (
        InvalidUrl,
        FetchTimeout,
        BodyTooLarge,
        DecompressionBomb,
        DecodingError,
        TooManyRedirects,
        RedirectLoop,
        BadContentType,
        RobotsDisallowed,
        SsrfBlocked,
        OffsiteRedirect,
        HttpStatusError,
        DnsError,
        TlsError,
        FetchConnectionError,
        RetriesExhausted,
    )
}
