"""robots.txt and politeness through the real fetcher, with a fake clock for schedules."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest

from studiolab.adapters.http import HttpxFetcher
from studiolab.crawl.fetch_errors import FetchError, RobotsDisallowed
from tests.crawl.hostile_server import (
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
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[HostileServer]:
    with running_server(clock=clock) as hostile:  # arrival times on the fake clock
        yield hostile


def paced(clock: FakeClock, **overrides: object) -> HttpxFetcher:
    settings = loopback_settings(**{"delay_s": 1.0, **overrides})
    return HttpxFetcher(settings, clock=clock, sleep=clock.sleep)


def arrivals(server: HostileServer, prefix: str = "/page") -> list[float]:
    return [when for when, path, _ in server.hits if path.startswith(prefix)]


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


def test_robots_disallow_all_refuses_every_page(server: HostileServer, clock: FakeClock) -> None:
    server.robots = (200, "User-agent: *\nDisallow: /\n")
    with paced(clock) as client:
        for path in ("/page", "/image.png"):
            with pytest.raises(RobotsDisallowed) as caught:
                client.fetch(server.url(path), accept="any")
            assert caught.value.code == "robots_disallowed" and path in caught.value.message
    assert server.paths() == ["/robots.txt"]  # asked once, cached
    with HttpxFetcher(loopback_settings(), robots=False) as ignoring:
        assert ignoring.fetch(server.url("/page"), accept="html").status == 200


def test_robots_groups_match_our_product_token(server: HostileServer, clock: FakeClock) -> None:
    server.robots = (
        200,
        "User-agent: crawler\nDisallow: /\n\n"  # "crawler" appears in our UA comment only
        "User-agent: studiolab\nDisallow: /page2\n\n"
        "User-agent: *\nDisallow: /\n",
    )
    with paced(clock, delay_s=0.0) as client:
        assert client.fetch(server.url("/page"), accept="html").status == 200
        with pytest.raises(RobotsDisallowed):
            client.fetch(server.url("/page2"), accept="html")


def test_robots_5xx_disallows_for_a_while_then_asks_again(
    server: HostileServer, clock: FakeClock
) -> None:
    server.robots = (503, "down")
    with paced(clock, delay_s=0.0, retries=0, robots_error_ttl_s=600) as client:
        with pytest.raises(RobotsDisallowed) as caught:
            client.fetch(server.url("/page"), accept="html")
        assert "503" in caught.value.message
        server.robots = (404, "")
        clock.sleep(599)
        with pytest.raises(RobotsDisallowed):
            client.fetch(server.url("/page"), accept="html")  # still cached
        clock.sleep(2)
        assert client.fetch(server.url("/page"), accept="html").status == 200
    assert server.paths() == ["/robots.txt", "/robots.txt", "/page"]


def test_robots_crawl_delay_2_spaces_requests(server: HostileServer, clock: FakeClock) -> None:
    sitemap = server.url("/sitemap.xml")
    server.robots = (200, f"User-agent: *\nCrawl-delay: 2\nAllow: /\nSitemap: {sitemap}\n")
    with paced(clock) as client:
        for path in ("/page", "/page2", "/page3", "/page"):
            client.fetch(server.url(path), accept="html")
        assert client.robots_rules(server.url("/")).sitemaps == [sitemap]
        assert client.throttle.delay_for("127.0.0.1") == 2.0
    pages = arrivals(server)
    assert len(pages) == 4 and all(gap >= 2.0 for gap in gaps(pages)), pages


def test_default_pace_is_at_most_one_request_per_second_per_domain(
    server: HostileServer, clock: FakeClock
) -> None:
    with paced(clock) as client:  # delay_s = 1.0: the default of the Politeness model
        assert client.settings.delay_s == 1.0
        for _ in range(5):
            client.fetch(server.url("/page"), accept="html")
    times = [when for when, _, _ in server.hits]  # robots.txt counts as a request too
    assert len(times) == 6 and gaps(times) == [1.0] * 5
    for start in times:  # no one-second window holds two requests
        assert len([t for t in times if start <= t < start + 1.0]) == 1


def test_per_domain_concurrency_is_capped(server: HostileServer) -> None:
    server.hold_s = 0.25
    settings = loopback_settings(concurrency=2, delay_s=0.0)
    errors: list[FetchError] = []
    with HttpxFetcher(settings) as client:
        client.fetch(server.url("/page"), accept="html")  # robots.txt loaded first

        def worker() -> None:
            try:
                client.fetch(server.url("/page"), accept="html")
            except FetchError as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert not errors
    assert server.max_active == 2
