"""Incremental re-crawl through the real state machine: a second run of the same crawler skips
what did not change (Shopify updated_at, or a 304 to a conditional GET), downloads no stored
image again, creates no duplicate item, and still picks up a product changed in between."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from studiolab.demo import DemoShop, start_demo_shop
from studiolab.demo.arrivals import Arrival
from studiolab.domain.models import Run, RunStatus
from studiolab.domain.models.crawler import CrawlLimits
from studiolab.runtime.wiring import AppContext
from studiolab.services.runs import RunControl
from tests.workflow.conftest import add_crawler, wait_terminal

PRODUCTS = 24


@pytest.fixture
def shop() -> Iterator[DemoShop]:
    """A shop of its own: the tests change its products."""
    with start_demo_shop(products=PRODUCTS, port=0, crawl_delay=None, image_size=(96, 120)) as demo:
        yield demo


def _product_pages(arrivals: list[Arrival], status: int) -> list[str]:
    return [
        a.path
        for a in arrivals
        if a.path.startswith("/products/")
        and not a.path.endswith((".js", ".json"))
        and a.status == status
    ]


def _images(arrivals: list[Arrival], status: int) -> list[str]:
    return [a.path for a in arrivals if a.path.startswith("/cdn/images/") and a.status == status]


def _crawl(context: AppContext, runs: RunControl, crawler_id: str) -> Run:
    run = wait_terminal(context, runs.start_run(crawler_id).id, timeout=60)
    assert run.status is RunStatus.SUCCEEDED, run.error
    return run


@pytest.mark.parametrize("strategy", ["auto", "jsonld"])
def test_second_run_skips_unchanged_products_and_picks_up_a_changed_one(
    context: AppContext, runs: RunControl, shop: DemoShop, strategy: str
) -> None:
    # Given a first full crawl
    crawler = add_crawler(context, shop, strategy=strategy)
    first = _crawl(context, runs, crawler.id)
    arrivals = shop.log.snapshot()
    assert len(_product_pages(arrivals, 200)) >= PRODUCTS
    first_images = len(_images(arrivals, 200))
    assert first.counters.items == PRODUCTS and first_images > 0
    items = {i.id: i for i in context.catalog.list_items(crawler.project_id, limit=500).items}

    # When one product changes (new version, new price) and the crawler runs again
    changed = next(iter(shop.catalog)).handle
    shop.catalog.touch(changed, price="123.45")
    shop.log.clear()
    second = _crawl(context, runs, crawler.id)
    arrivals = shop.log.snapshot()

    # Then only the changed product's page body is fetched again ...
    bodies = _product_pages(arrivals, 200)
    assert bodies == [f"/products/{changed}"]
    if strategy == "auto":  # products.json's updated_at: unchanged pages are not even asked
        assert _product_pages(arrivals, 304) == []
    else:  # conditional GETs: every unchanged page answers 304 Not Modified
        assert len(_product_pages(arrivals, 304)) == PRODUCTS - 1
    assert second.counters.pages_unchanged == len(_product_pages(arrivals, 304))
    # ... only the changed product's images are asked again, conditionally: the shop's new
    # ETag makes them answer in full, but the same bytes are not stored twice
    asked = _images(arrivals, 200) + _images(arrivals, 304)
    assert asked and all(path.startswith(f"/cdn/images/{changed}-") for path in asked)
    # ... the changed item is updated in place, none is duplicated or re-created
    assert (second.counters.items, second.counters.items_updated) == (0, 1)
    assert second.counters.items_unchanged == PRODUCTS - 1
    assert second.counters.images == 0
    assert second.counters.images_unchanged == len(asked)
    after = {i.id: i for i in context.catalog.list_items(crawler.project_id, limit=500).items}
    assert after.keys() == items.keys()
    updated = [i for i in after.values() if i.product_url and i.product_url.endswith(changed)]
    assert len(updated) == 1 and updated[0].product.price == "123.45"
    assert updated[0].run_id == second.id
    assert all(i.run_id == first.id for i in after.values() if i.id != updated[0].id)
    # ... and the status shows the run as complete (unchanged products count as progress)
    progress = runs.run_status(second)
    assert progress.remaining == 0 and progress.items_per_min

    # And a third run with nothing changed fetches no product page body and no image at all
    shop.log.clear()
    third = _crawl(context, runs, crawler.id)
    arrivals = shop.log.snapshot()
    assert _product_pages(arrivals, 200) == [] and _images(arrivals, 200) == []
    assert third.counters.items_unchanged == PRODUCTS
    assert (third.counters.items, third.counters.items_updated) == (0, 0)


def test_max_items_counts_unchanged_products_and_a_larger_limit_adds_the_next_ones(
    context: AppContext, runs: RunControl, shop: DemoShop
) -> None:
    crawler = add_crawler(context, shop, limits={"max_items": PRODUCTS // 2})
    first = _crawl(context, runs, crawler.id)
    assert first.counters.items == PRODUCTS // 2
    # the same limit: the products already covered count towards it, nothing new is taken
    second = _crawl(context, runs, crawler.id)
    assert second.counters.items_unchanged == PRODUCTS // 2 and second.counters.items == 0
    # a larger limit: the next products are new items, the first ones still unchanged
    context.catalog.update_crawler(
        context.catalog.get_crawler(crawler.id).model_copy(
            update={"limits": CrawlLimits(max_items=100)}
        )
    )
    third = _crawl(context, runs, crawler.id)
    assert third.counters.items == PRODUCTS - PRODUCTS // 2
    assert third.counters.items_unchanged == PRODUCTS // 2
    assert len(context.catalog.list_items(crawler.project_id, limit=500).items) == PRODUCTS
