"""The redirect filter: a redirect hop to a host outside the crawler's allowed_domains is
refused before anything is sent there (typed `OffsiteRedirect`, not retried), on every hop."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from studiolab.adapters.http import HttpxFetcher
from studiolab.crawl.fetch_errors import OffsiteRedirect
from studiolab.crawl.fetch_types import FetchSettings
from studiolab.domain.models import Crawler
from tests.crawl.hostile_server import (
    PNG_1X1,
    HostileServer,
    loopback_settings,
    offline_dns,
    running_server,
)
from tests.crawl.test_fetch_ssrf import FakeResolver

HOSTS = ["shop.test", "www.shop.test", "evil.test", "cdn.test"]


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    offline_dns(monkeypatch)


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with running_server() as hostile:
        yield hostile


def fetcher(**overrides: object) -> HttpxFetcher:
    values: dict[str, object] = {
        "allow_private_hosts": HOSTS,  # all of them resolve to the hostile server
        "allowed_domains": ("shop.test",),
        "obey_robots": False,
    }
    values.update(overrides)
    resolver = FakeResolver({host: [["127.0.0.1"]] for host in HOSTS})
    return HttpxFetcher(loopback_settings(**values), resolver=resolver)


def hop(server: HostileServer, host: str, then: str, *, start: str = "shop.test") -> str:
    """A URL on `start` that redirects to `then` on `host`."""
    return server.url("/to-host?" + urlencode({"host": host, "then": then}), host=start)


def hosts_asked(server: HostileServer) -> list[str]:
    return [headers.get("Host", "").split(":")[0] for _, _, headers in server.hits]


def test_redirect_to_another_domain_is_refused_before_it_is_asked(server: HostileServer) -> None:
    url = hop(server, "evil.test", "/page")
    with fetcher() as client, pytest.raises(OffsiteRedirect) as caught:
        client.fetch(url, accept="html")
    error = caught.value
    assert error.code == "offsite_redirect" and not error.transient and error.url == url
    assert "evil.test" in error.message
    assert hosts_asked(server) == ["shop.test"]  # asked once (not retried), never evil.test


def test_every_hop_is_checked_not_only_the_first(server: HostileServer) -> None:
    # shop.test -> www.shop.test (allowed: a subdomain) -> evil.test (refused)
    url = hop(server, "www.shop.test", "/to-host?" + urlencode({"host": "evil.test"}))
    with fetcher() as client, pytest.raises(OffsiteRedirect) as caught:
        client.fetch(url, accept="html")
    assert "www.shop.test" in caught.value.message and "evil.test" in caught.value.message
    assert hosts_asked(server) == ["shop.test", "www.shop.test"]


def test_redirects_within_the_allowed_domains_are_followed(server: HostileServer) -> None:
    with fetcher() as client:
        result = client.fetch(hop(server, "www.shop.test", "/page"), accept="html")
    assert result.status == 200 and result.final_url.startswith("http://www.shop.test:")
    assert len(result.redirects) == 1


def test_an_image_on_a_cdn_may_redirect_on_its_own_host_but_not_elsewhere(
    server: HostileServer,
) -> None:
    with fetcher() as client:
        result = client.fetch(
            hop(server, "cdn.test", "/image.png", start="cdn.test"), accept="image"
        )
        assert result.body == PNG_1X1
        with pytest.raises(OffsiteRedirect):
            client.fetch(hop(server, "evil.test", "/image.png", start="cdn.test"), accept="image")
    assert "evil.test" not in hosts_asked(server)


def test_without_allowed_domains_redirects_are_not_filtered(server: HostileServer) -> None:
    with fetcher(allowed_domains=()) as client:
        result = client.fetch(hop(server, "evil.test", "/page"), accept="html")
    assert result.status == 200 and hosts_asked(server) == ["shop.test", "evil.test"]


def test_a_crawlers_settings_carry_its_allowed_domains() -> None:
    crawler = Crawler.model_validate(
        {
            "id": "cr_1",
            "project_id": "pr_1",
            "name": "c",
            "start_urls": ["https://www.shop.example/"],
            "created_at": "2026-11-01T00:00:00Z",
            "updated_at": "2026-11-01T00:00:00Z",
        }
    )
    settings = FetchSettings.for_crawler(crawler)
    assert settings.allowed_domains == ("www.shop.example",)
    assert settings.redirect_allowed("https://www.shop.example/a", "https://www.shop.example/b")
    assert not settings.redirect_allowed("https://www.shop.example/a", "https://shop.example/")
    assert settings.redirect_allowed("https://img.cdn.example/1.jpg", "http://img.cdn.example/2")
