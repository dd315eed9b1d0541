"""HttpxFetcher against a hostile local server: every case ends in bounded time and memory
with a typed error code naming the URL."""

from __future__ import annotations

import socket
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from studiolab.adapters.http import HttpxFetcher
from studiolab.crawl.fetch_errors import FetchError, RetriesExhausted
from studiolab.crawl.fetch_types import MB, AcceptKind, Fetcher, FetchResult
from tests.crawl.hostile_server import (
    HTML_OK,
    LATIN1_HTML,
    PNG_1X1,
    FakeClock,
    HostileServer,
    loopback_settings,
    offline_dns,
    running_server,
)


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    offline_dns(monkeypatch)


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with running_server() as hostile:
        yield hostile


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def fetcher(clock: FakeClock | None = None, **overrides: object) -> HttpxFetcher:
    if clock is None:
        return HttpxFetcher(loopback_settings(**overrides))
    return HttpxFetcher(loopback_settings(**overrides), clock=clock, sleep=clock.sleep)


def fails(
    client: HttpxFetcher, url: str, code: str, *, accept: AcceptKind = "html", within_s: float = 5
) -> FetchError:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        client.fetch(url, accept=accept)
    elapsed = time.monotonic() - started
    error = caught.value
    assert error.code == code, f"{error.code}: {error.message}"
    assert elapsed < within_s, f"took {elapsed:.1f} s"
    assert url.split("?")[0] in error.message or error.url in error.message
    return error


def ok(client: HttpxFetcher, url: str, accept: AcceptKind = "html") -> FetchResult:
    started = time.monotonic()
    result = client.fetch(url, accept=accept)
    assert time.monotonic() - started < 5
    return result


# ---------------------------------------------------------------- the happy paths


def test_httpx_fetcher_implements_the_fetcher_port() -> None:
    with HttpxFetcher(loopback_settings()) as client:
        port: Fetcher = client  # checked by mypy: the adapter satisfies the Protocol
        assert callable(port.fetch)


def test_page_is_fetched_with_identifying_user_agent_after_robots(server: HostileServer) -> None:
    with fetcher() as client:
        result = ok(client, server.url("/page"))
    assert (result.status, result.body, result.content_type) == (200, HTML_OK, "text/html")
    assert result.encoding == "utf-8" and "ok" in result.text
    assert result.etag == '"v1"' and result.last_modified
    assert result.final_url == result.url and result.redirects == () and result.attempts == 1
    assert server.paths() == ["/robots.txt", "/page"]
    agent = server.hits[-1][2]["User-Agent"]
    assert agent.startswith("studiolab/") and "crawler" in agent


def test_conditional_request_reports_not_modified(server: HostileServer) -> None:
    with fetcher() as client:
        result = client.fetch(server.url("/page"), accept="html", etag='"v1"')
    assert result.not_modified and result.status == 304 and result.body == b""
    assert server.hits[-1][2]["If-None-Match"] == '"v1"'


def test_gzip_body_is_decoded(server: HostileServer) -> None:
    with fetcher() as client:
        assert ok(client, server.url("/gzip-ok")).body == HTML_OK


def test_redirect_chain_within_limit_is_followed(server: HostileServer) -> None:
    with fetcher() as client:
        result = ok(client, server.url("/chain/17"))
    assert result.final_url.endswith("/chain/20")
    assert [url.rsplit("/", 1)[1] for url in result.redirects] == ["17", "18", "19"]


def test_redirect_that_strips_tracking_parameters_is_not_a_loop(server: HostileServer) -> None:
    with fetcher() as client:
        result = ok(client, server.url("/tracked?utm_source=mail"))
    assert result.final_url == server.url("/tracked") and len(result.redirects) == 1


def test_cookie_redirect_back_to_the_same_url_is_not_a_loop(server: HostileServer) -> None:
    with fetcher() as client:
        result = ok(client, server.url("/cookie-bounce"))
    assert result.body == HTML_OK and len(result.redirects) == 2


# ---------------------------------------------------------------- slow, endless, huge


def test_slow_drip_ends_at_the_total_timeout(server: HostileServer) -> None:
    with fetcher(total_timeout_s=1.5, read_timeout_s=5.0) as client:
        started = time.monotonic()
        error = fails(client, server.url("/slow-drip"), "timeout", within_s=3.5)
    assert time.monotonic() - started >= 1.4
    assert "total time limit" in error.message


def test_slow_headers_hit_the_read_timeout_and_are_retried(
    server: HostileServer, clock: FakeClock
) -> None:
    with fetcher(clock, read_timeout_s=0.4, retries=1) as client:
        error = fails(client, server.url("/slow-headers"), "retries_exhausted", within_s=3)
    assert isinstance(error, RetriesExhausted) and error.last is not None
    assert error.last.code == "timeout" and error.attempts == 2


def test_endless_body_is_cut_at_the_body_cap_with_bounded_memory(server: HostileServer) -> None:
    with fetcher(max_body_bytes={"html": 1 * MB}) as client:
        tracemalloc.start()
        try:
            error = fails(client, server.url("/endless"), "body_too_large")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB"
    assert "1.0 MB" in error.message


def test_huge_content_length_is_refused_before_reading(server: HostileServer) -> None:
    with fetcher() as client:
        error = fails(client, server.url("/huge-length"), "body_too_large", within_s=2)
    assert "Content-Length 1000000000000" in error.message


def test_body_shorter_than_its_content_length_is_a_connection_error(
    server: HostileServer,
) -> None:
    with fetcher(retries=0) as client:
        fails(client, server.url("/short-body"), "connection_error")


def test_gzip_bomb_is_stopped_early_with_bounded_memory(server: HostileServer) -> None:
    from tests.crawl.hostile_server import gzip_bomb

    assert len(gzip_bomb()) < 1 * MB  # 100 MB of zeros on the wire as ~100 KB
    with fetcher(max_decompressed_bytes=5 * MB) as client:
        tracemalloc.start()
        try:
            fails(client, server.url("/gzip-bomb"), "decompression_bomb", within_s=3)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 16 * MB, f"peak {peak / MB:.1f} MB"


def test_unsupported_content_encoding_is_a_decoding_error(server: HostileServer) -> None:
    with fetcher() as client:
        fails(client, server.url("/brotli"), "decoding_error")


# ---------------------------------------------------------------- redirects


def test_redirect_loop(server: HostileServer) -> None:
    with fetcher() as client:
        error = fails(client, server.url("/loop/a"), "redirect_loop")
    assert "/loop/b" in error.message


def test_redirect_chain_over_the_limit(server: HostileServer) -> None:
    with fetcher(max_redirects=5) as client:
        fails(client, server.url("/chain/0"), "too_many_redirects")
    assert server.paths().count("/robots.txt") == 1
    assert len([path for path in server.paths() if path.startswith("/chain/")]) == 6


def test_redirect_to_another_scheme_is_refused(server: HostileServer) -> None:
    with fetcher() as client:
        fails(client, server.url("/to-ftp"), "bad_url")


# ---------------------------------------------------------------- statuses and retries


def test_429_storm_honours_retry_after_then_gives_up(
    server: HostileServer, clock: FakeClock
) -> None:
    with fetcher(clock, retries=3) as client:
        error = fails(client, server.url("/429"), "retries_exhausted", within_s=3)
    assert isinstance(error, RetriesExhausted)
    assert error.status == 429 and error.attempts == 4 and error.last is not None
    assert server.paths().count("/429") == 4
    backoffs = [wait for wait in clock.sleeps if wait >= 0.5]
    assert len(backoffs) == 3 and all(wait >= 1.0 for wait in backoffs)


def test_retry_after_beyond_the_cap_gives_up_at_once(
    server: HostileServer, clock: FakeClock
) -> None:
    with fetcher(clock, retries=3, retry_after_max_s=60) as client:
        error = fails(client, server.url("/503-long"), "retries_exhausted")
    assert "3600" in error.message and server.paths().count("/503-long") == 1
    assert not [wait for wait in clock.sleeps if wait > 0]


def test_500_then_200_succeeds_on_retry(server: HostileServer, clock: FakeClock) -> None:
    with fetcher(clock, retries=2) as client:
        result = ok(client, server.url("/flaky?id=a&fail=1"))
    assert result.status == 200 and result.attempts == 2


def test_always_500_exhausts_retries(server: HostileServer, clock: FakeClock) -> None:
    with fetcher(clock, retries=2) as client:
        error = fails(client, server.url("/always-500"), "retries_exhausted")
    assert isinstance(error, RetriesExhausted) and error.status == 500
    assert error.last is not None and error.last.code == "http_status"
    assert server.paths().count("/always-500") == 3
    with fetcher(clock, retries=0) as client:
        assert fails(client, server.url("/always-500"), "http_status").status == 500


def test_404_is_not_retried(server: HostileServer, clock: FakeClock) -> None:
    with fetcher(clock, retries=3) as client:
        error = fails(client, server.url("/404"), "http_status")
    assert error.status == 404 and not error.transient
    assert server.paths().count("/404") == 1


# ---------------------------------------------------------------- content


def test_malformed_html_and_broken_json_ld_are_fetched_fine(server: HostileServer) -> None:
    with fetcher() as client:
        malformed = ok(client, server.url("/malformed"))
        broken = ok(client, server.url("/broken-jsonld"))
    assert b"unclosed" in malformed.body and "unclosed" in malformed.text
    assert b"ld+json" in broken.body


def test_wrong_content_type_for_an_image(server: HostileServer) -> None:
    with fetcher() as client:
        error = fails(client, server.url("/html-as-image"), "bad_content_type", accept="image")
        assert "text/html" in error.message
        fails(client, server.url("/octet-text"), "bad_content_type", accept="image")
        fails(client, server.url("/page"), "bad_content_type", accept="json")
        image = ok(client, server.url("/image.png"), "image")
        sniffed = ok(client, server.url("/octet-image"), "image")
        data = ok(client, server.url("/json"), "json")
        sitemap = ok(client, server.url("/sitemap.xml.gz"), "xml")
    assert image.body == PNG_1X1 and image.encoding is None
    assert sniffed.body == PNG_1X1
    assert data.body == b'{"products": []}'
    assert sitemap.body.startswith(b"<?xml") and b"<loc>/p</loc>" in sitemap.body


def test_non_utf8_bodies_decode_without_errors(server: HostileServer) -> None:
    with fetcher() as client:
        declared = ok(client, server.url("/latin1"))
        meta = ok(client, server.url("/meta-charset"))
        broken = ok(client, server.url("/bad-utf8"))
    assert (
        declared.encoding == "cp1252"
        and "Caf\u00e9 \u2013 d\u00e9j\u00e0 vu, 20 \u20ac" in declared.text
    )
    assert meta.encoding == "cp1252" and LATIN1_HTML in meta.text
    assert "ok" in broken.text and "end" in broken.text
    assert broken.encoding == "utf-8" and "\ufffd" in broken.text


# ---------------------------------------------------------------- network faults


def test_tls_to_a_plain_http_port_is_a_tls_error(server: HostileServer) -> None:
    with fetcher() as client:
        fails(client, f"https://127.0.0.1:{server.port}/page", "tls_error", within_s=3)


def test_dns_failure_is_a_dns_error_without_real_dns() -> None:
    # offline_dns (autouse) patches socket.getaddrinfo: `.invalid` never resolves (RFC 6761).
    with fetcher(allow_private_hosts=[]) as client:
        error = fails(client, "http://shop.invalid/products/1", "dns_error", within_s=2)
    assert "shop.invalid" in error.message


def test_connection_refused_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with fetcher(retries=0) as client:
        fails(client, f"http://127.0.0.1:{port}/", "connection_error", within_s=3)
