"""The pure fetch policy: throttle, retry schedule, robots cache, URLs, encodings, decoding,
settings and the error family. No sockets."""

from __future__ import annotations

import threading
import time
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from studiolab.adapters.http.body import BodyDecoder, gunzip_bounded
from studiolab.crawl.fetch_errors import (
    FETCH_ERRORS,
    BodyTooLarge,
    DecodingError,
    DecompressionBomb,
    FetchError,
    FetchTimeout,
    HttpStatusError,
    RetriesExhausted,
)
from studiolab.crawl.fetch_types import MB, FetchSettings, detect_encoding, looks_like_image
from studiolab.crawl.politeness import (
    DomainThrottle,
    backoff_delay,
    parse_retry_after,
    retry_wait,
)
from studiolab.crawl.robots import RobotsCache, RobotsResponse, robots_origin
from studiolab.crawl.urls import SeenImages, canonicalize, content_hash, url_hash
from studiolab.domain.models.crawler import Politeness
from tests.crawl.hostile_server import PNG_1X1, FakeClock, gzip_bytes

# ---------------------------------------------------------------- throttle


def test_throttle_spaces_one_domain_and_leaves_others_alone() -> None:
    clock = FakeClock()
    throttle = DomainThrottle(1.0, clock=clock, sleep=clock.sleep)
    starts = [throttle.wait_turn("Shop.Test") for _ in range(5)]
    assert starts == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert throttle.wait_turn("other.test") == clock()  # no wait for another domain
    throttle.set_min_delay("shop.test", 2.5)  # robots Crawl-delay: larger wins
    first, second = throttle.wait_turn("shop.test"), throttle.wait_turn("shop.test")
    assert second - first == 2.5
    throttle.set_min_delay("shop.test", 0.2)  # smaller than the default: default wins
    assert throttle.delay_for("shop.test") == 1.0
    throttle.pause("shop.test", 30)
    now = clock()
    assert throttle.wait_turn("shop.test") >= now + 30


def test_crawl_delay_learnt_from_the_first_request_spaces_the_next_one() -> None:
    # robots.txt is the first request, paced at the default 1 s; its Crawl-delay (2 s) must
    # already hold for the request right after it.
    clock = FakeClock()
    throttle = DomainThrottle(1.0, clock=clock, sleep=clock.sleep)
    robots_request = throttle.wait_turn("shop.test")
    throttle.set_min_delay("shop.test", 2.0)
    assert throttle.wait_turn("shop.test") - robots_request == 2.0


def test_throttle_reserves_slots_in_order_across_threads() -> None:
    clock = FakeClock()
    throttle = DomainThrottle(1.0, concurrency=8, clock=clock, sleep=clock.sleep)
    starts: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        with throttle.slot("shop.test") as start, lock:
            starts.append(start)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sorted(starts) == [float(n) for n in range(8)]


def test_throttle_caps_concurrency_per_domain() -> None:
    throttle = DomainThrottle(0.0, concurrency=3)
    active = peak = 0
    lock = threading.Lock()

    def worker(domain: str) -> None:
        nonlocal active, peak
        with throttle.slot(domain):
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.05)
            with lock:
                active -= 1

    threads = [threading.Thread(target=worker, args=("shop.test",)) for _ in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert peak == 3


# ---------------------------------------------------------------- retry schedule


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    assert [backoff_delay(n, base_s=0.5, max_s=5, rng=lambda: 1.0) for n in range(6)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        5.0,
        5.0,
    ]
    assert backoff_delay(3, base_s=0.5, max_s=5, rng=lambda: 0.0) == 0.0
    assert 0 <= backoff_delay(40, base_s=1, max_s=60) <= 60


def test_retry_after_is_a_floor_and_too_long_means_give_up() -> None:
    common = {"base_s": 0.5, "max_s": 10.0, "retry_after_max_s": 60.0, "rng": lambda: 0.5}
    assert retry_wait(0, None, **common) == 0.25  # type: ignore[arg-type]
    assert retry_wait(0, 7.0, **common) == 7.0  # type: ignore[arg-type]
    assert retry_wait(0, 61.0, **common) is None  # type: ignore[arg-type]


def test_parse_retry_after_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
    )
    assert parse_retry_after("Sun, 01 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None and parse_retry_after("") is None


# ---------------------------------------------------------------- robots cache


class Loader:
    def __init__(self, *answers: RobotsResponse) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, url: str) -> RobotsResponse:
        self.calls.append(url)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_robots_statuses_follow_rfc9309() -> None:
    clock = FakeClock()
    cases = {
        RobotsResponse(404): True,
        RobotsResponse(401): True,
        RobotsResponse(429): False,
        RobotsResponse(500): False,
        RobotsResponse(None, error="timed out"): False,
        RobotsResponse(200, b"User-agent: *\nDisallow: /private\n"): True,
    }
    for response, allowed in cases.items():
        cache = RobotsCache(Loader(response), clock=clock)
        assert cache.allowed("http://shop.test/page") is allowed, response
        assert cache.allowed("http://shop.test/robots.txt")  # robots.txt itself: always


def test_robots_cache_ttls_bounds_and_single_load() -> None:
    clock = FakeClock()
    loader = Loader(RobotsResponse(503), RobotsResponse(200, b"User-agent: *\nCrawl-delay: 4\n"))
    cache = RobotsCache(loader, clock=clock, error_ttl_s=60, ttl_s=3600, max_entries=2)
    assert not cache.allowed("https://shop.test/a")
    clock.sleep(61)
    assert cache.allowed("https://shop.test/a") and cache.crawl_delay("https://shop.test/") == 4
    assert loader.calls == ["https://shop.test/robots.txt"] * 2
    cache.allowed("https://b.test/")
    cache.allowed("https://c.test/")  # evicts shop.test (LRU, max 2)
    cache.allowed("https://shop.test/a")
    assert loader.calls.count("https://shop.test/robots.txt") == 3

    slow_calls: list[str] = []

    def slow(url: str) -> RobotsResponse:
        slow_calls.append(url)
        time.sleep(0.05)
        return RobotsResponse(404)

    shared = RobotsCache(slow)
    threads = [threading.Thread(target=shared.allowed, args=("http://x.test/",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert slow_calls == ["http://x.test/robots.txt"]


def test_robots_failing_loader_caches_nothing_and_big_files_are_truncated() -> None:
    def boom(url: str) -> RobotsResponse:
        raise FetchTimeout(url, "boom")

    cache = RobotsCache(boom)
    for _ in range(2):
        with pytest.raises(FetchTimeout):
            cache.allowed("http://shop.test/")
    huge = b"User-agent: *\nDisallow: /a\n" + b"# padding\n" * 100_000 + b"Disallow: /\n"
    truncated = RobotsCache(Loader(RobotsResponse(200, huge)), max_bytes=1024)
    assert truncated.allowed("http://shop.test/b") and not truncated.allowed("http://shop.test/a")


def test_robots_origin_is_normalised() -> None:
    assert robots_origin("HTTP://Shop.Test:80/x?y") == "http://shop.test"
    assert robots_origin("https://shop.test:8443/") == "https://shop.test:8443"
    assert robots_origin("http://[::1]:81/") == "http://[::1]:81"


# ---------------------------------------------------------------- URLs and dedup


def test_canonicalize_drops_tracking_fragments_and_default_ports() -> None:
    url = "HTTP://Shop.Test:80/Skirts?utm_source=x&b=2&gclid=1&a=1&ref=home&UTM_Medium=y#top"
    assert canonicalize(url) == "http://shop.test/Skirts?a=1&b=2"
    assert canonicalize("https://shop.test:443") == "https://shop.test/"
    assert canonicalize("https://shop.test:8443/a b") == "https://shop.test:8443/a%20b"
    assert canonicalize("https://shop.test/?page=2&fbclid=z") == "https://shop.test/?page=2"
    assert url_hash(url) == url_hash("http://shop.test/Skirts?b=2&a=1")
    assert url_hash("http://shop.test/a") != url_hash("http://shop.test/b")
    assert len(content_hash(b"x")) == 64


def test_seen_images_dedups_by_url_then_by_content() -> None:
    seen = SeenImages()
    assert seen.claim_url("https://cdn.test/a.jpg?utm_source=mail")
    assert not seen.claim_url("https://CDN.test/a.jpg#zoom")  # same canonical URL
    assert seen.add("https://cdn.test/a.jpg", PNG_1X1)
    assert not seen.add("https://cdn.test/copy.jpg", PNG_1X1)  # same bytes elsewhere
    assert seen.seen_url("https://cdn.test/copy.jpg") and len(seen) == 1
    restored = SeenImages(*seen.state())
    assert restored.seen_url("https://cdn.test/a.jpg")
    assert not restored.add("https://cdn.test/third.jpg", PNG_1X1)


# ---------------------------------------------------------------- content checks


def test_detect_encoding() -> None:
    assert detect_encoding("text/html; charset=ISO-8859-1", b"x", "html") == "cp1252"
    assert detect_encoding("text/html", b'<meta charset="shift_jis">', "html") == "cp932"
    assert detect_encoding("text/html", "é".encode(), "html") == "utf-8"
    assert detect_encoding("text/html", "é".encode("cp1252"), "html") == "cp1252"
    assert detect_encoding(None, b"\xef\xbb\xbf<p>", "html") == "utf-8"
    assert detect_encoding("text/html; charset=bogus", b"ok", "html") == "utf-8"
    assert detect_encoding("image/png", PNG_1X1, "image") is None


def test_content_type_policy_and_image_sniffing() -> None:
    settings = FetchSettings()
    assert settings.content_type_allowed("html", "text/html") is True
    assert settings.content_type_allowed("html", "image/png") is False
    assert settings.content_type_allowed("image", "image/webp") is True
    assert settings.content_type_allowed("image", "image/svg+xml") is False
    assert settings.content_type_allowed("image", "application/octet-stream") is None
    assert settings.content_type_allowed("json", "application/vnd.api+json") is True
    assert settings.content_type_allowed("any", "application/pdf") is True
    assert looks_like_image(PNG_1X1) and looks_like_image(b"RIFF\0\0\0\0WEBPVP8 ")
    assert not looks_like_image(b"<html>")


def test_settings_from_a_crawler_politeness() -> None:
    settings = FetchSettings.for_politeness(
        Politeness(delay_s=3, concurrency=4, obey_robots=False), retries=1
    )
    assert (settings.delay_s, settings.concurrency, settings.obey_robots) == (3, 4, False)
    assert settings.retries == 1 and settings.body_limit("image") == 25 * MB
    assert FetchSettings().delay_s == 1.0 and FetchSettings().max_redirects == 5
    assert FetchSettings().user_agent.startswith("studiolab/0.")


# ---------------------------------------------------------------- body decoding


def test_decoder_inflates_gzip_members_zlib_and_raw_deflate() -> None:
    two_members = gzip_bytes(b"hello ") + gzip_bytes(b"world")
    decoder = BodyDecoder("u", "gzip", max_wire=MB, max_decoded=MB)
    for index in range(0, len(two_members), 3):
        decoder.feed(two_members[index : index + 3])
    assert decoder.body == b"hello world"
    for packer in (zlib.compressobj(wbits=15), zlib.compressobj(wbits=-15)):
        data = packer.compress(b"deflated" * 100) + packer.flush()
        decoder = BodyDecoder("u", "deflate", max_wire=MB, max_decoded=MB)
        decoder.feed(data[:1])
        decoder.feed(data[1:])
        assert decoder.body == b"deflated" * 100
    assert gunzip_bounded("u", gzip_bytes(b"<urlset/>"), limit=MB) == b"<urlset/>"


def test_decoder_caps_wire_and_decoded_sizes() -> None:
    bomb = gzip_bytes(bytes(20 * MB))
    decoder = BodyDecoder("http://x.test/b", "gzip", max_wire=MB, max_decoded=2 * MB)
    with pytest.raises(DecompressionBomb) as caught:
        decoder.feed(bomb)
    assert "http://x.test/b" in caught.value.message and decoder.decoded <= 2 * MB
    with pytest.raises(BodyTooLarge):
        BodyDecoder("u", None, max_wire=10, max_decoded=MB).feed(b"x" * 11)
    with pytest.raises(BodyTooLarge):  # identity body over the decoded cap: not a "bomb"
        BodyDecoder("u", None, max_wire=MB, max_decoded=10).feed(b"x" * 11)
    with pytest.raises(DecodingError):
        BodyDecoder("u", "gzip", max_wire=MB, max_decoded=MB).feed(b"\x1f\x8bnot gzip at all")
    with pytest.raises(DecodingError):
        BodyDecoder("u", "br", max_wire=MB, max_decoded=MB)
    truncating = BodyDecoder("u", None, max_wire=MB, max_decoded=MB, truncate_at=5)
    truncating.feed(b"0123456789")
    assert truncating.done and truncating.body == b"01234"


# ---------------------------------------------------------------- errors


def test_error_family_codes_messages_and_transience() -> None:
    assert set(FETCH_ERRORS) == {
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
    }
    for code, cls in FETCH_ERRORS.items():
        error = cls("https://shop.test/p/1", "detail")
        assert isinstance(error, FetchError) and error.code == code
        assert "https://shop.test/p/1" in error.message and error.to_dict()["code"] == code
    assert (
        HttpStatusError("u", status=503).transient
        and not HttpStatusError("u", status=404).transient
    )
    last = HttpStatusError("https://a.test/", status=500)
    exhausted = RetriesExhausted("https://a.test/", "x", status=500, attempts=4, last=last)
    moved = exhausted.for_url("https://b.test/")
    assert isinstance(moved, RetriesExhausted) and moved.last is last and moved.attempts == 4
    assert exhausted.fields == {
        "url": "https://a.test/",
        "status": "500",
        "last_code": "http_status",
    }
