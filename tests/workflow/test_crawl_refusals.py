"""Through the real state machine: a refused off-site redirect is a typed, counted, logged
per-page (or per-image) failure, and an image that failed is retried by the next run even
though its product did not change."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest

from studiolab.adapters.http.httpx_fetcher import HttpxFetcher
from studiolab.crawl.fetch_errors import FetchError, HttpStatusError, OffsiteRedirect
from studiolab.crawl.fetch_types import AcceptKind, FetchResult, FetchSettings
from studiolab.demo import DemoShop
from studiolab.domain.models import Crawler, RunStatus
from studiolab.runtime.wiring import AppContext, run_control
from tests.workflow.conftest import PRODUCTS, add_crawler, wait_terminal


class RedirectingFetcher:
    """The real fetcher; URLs for which `refuse` answers an error fail with it instead, the
    way HttpxFetcher fails a redirect hop it refuses."""

    def __init__(self, crawler: Crawler, refuse: Callable[[str], FetchError | None]) -> None:
        self.inner = HttpxFetcher(
            FetchSettings.for_crawler(crawler, allow_private_hosts=["127.0.0.1"])
        )
        self.refuse = refuse
        self.asked: list[str] = []
        self.lock = threading.Lock()

    def fetch(
        self,
        url: str,
        *,
        accept: AcceptKind,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        with self.lock:
            self.asked.append(url)
        error = self.refuse(url)
        if error is not None:
            raise error
        return self.inner.fetch(url, accept=accept, etag=etag, last_modified=last_modified)

    def sitemaps(self, url: str) -> list[str]:
        return self.inner.sitemaps(url)


def test_offsite_redirects_are_counted_logged_and_do_not_stop_the_run(
    context_factory: Callable[..., AppContext], shop: DemoShop, caplog: pytest.LogCaptureFixture
) -> None:
    context = context_factory()
    victim = shop.catalog[3]
    page = f"{shop.url}/products/{victim.handle}"
    image = shop.catalog[5].handle

    def refuse(url: str) -> FetchError | None:
        if url == page or f"/cdn/images/{image}-1" in url:
            return OffsiteRedirect(url, f"{url} -> https://evil.example/")
        return None

    context.fetcher_factory = lambda crawler: RedirectingFetcher(crawler, refuse)
    crawler = add_crawler(context, shop)
    with caplog.at_level(logging.INFO, logger="studiolab"):
        run = wait_terminal(context, run_control().start_run(crawler.id).id)

    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.counters.redirects_refused == 2  # the page and the image
    assert run.counters.pages_failed == 1 and run.counters.items == PRODUCTS - 1
    assert run.status_message.startswith("last page failure: offsite_redirect: ")
    assert "evil.example" in run.status_message
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and "evil" in r.message]
    assert warned and "refused: redirect" in warned[0].message


def test_a_failed_image_is_retried_by_the_next_run_of_an_unchanged_product(
    context_factory: Callable[..., AppContext], shop: DemoShop
) -> None:
    context = context_factory()
    flaky = shop.catalog[4].handle
    failing = {"on": True}
    made: list[RedirectingFetcher] = []

    def refuse(url: str) -> FetchError | None:
        if failing["on"] and f"/cdn/images/{flaky}-" in url:
            return HttpStatusError(url, "404 Not Found", status=404)
        return None

    def factory(crawler: Crawler) -> RedirectingFetcher:
        made.append(RedirectingFetcher(crawler, refuse))
        return made[-1]

    context.fetcher_factory = factory
    crawler = add_crawler(context, shop, strategy="jsonld")  # conditional GETs on pages
    first = wait_terminal(context, run_control().start_run(crawler.id).id)
    assert first.status is RunStatus.SUCCEEDED and first.counters.items == PRODUCTS
    raw = {blob.key for blob in context.blobs.list("raw/")}
    failing["on"] = False
    before = len(made[-1].asked)

    second = wait_terminal(context, run_control().start_run(crawler.id).id)

    assert second.status is RunStatus.SUCCEEDED
    asked = made[-1].asked[before:]
    # the flaky product's page is fetched in full again (its record was not kept) ...
    assert second.counters.pages_unchanged == PRODUCTS - 1
    assert second.counters.items_unchanged == PRODUCTS
    # ... and only its images are downloaded; they are new blobs
    images = [url for url in asked if "/cdn/images/" in url]
    assert images and all(f"/cdn/images/{flaky}-" in url for url in images)
    assert second.counters.images == len(images)
    assert {blob.key for blob in context.blobs.list("raw/")} > raw
