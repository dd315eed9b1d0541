"""Discovery in a crawl (services/crawl_discovery.py, crawl/links.py): a shop with neither a
sitemap nor Shopify JSON is crawled through its links (listings, pagination by page number
and rel=next), within allowed_domains, max_pages and the depth limit; a Shopify collection
start URL crawls that collection through its own products.json; feeds go first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from studiolab.crawl.extract.page import load_page
from studiolab.crawl.fetch_errors import FetchError
from studiolab.crawl.links import followable, site_links
from studiolab.demo import DemoShop, start_demo_shop
from studiolab.domain.models import Crawler
from studiolab.runtime.site_crawl import CrawlOptions, SiteCrawl
from studiolab.services.crawl_discovery import collection_of, in_scope, products_json_url, seed
from studiolab.services.crawl_state import RunState
from tests.crawl.link_shop import FOUND, NEVER, LinkShop, running_link_shop


@pytest.fixture(autouse=True)
def _in_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIOLAB_EXTRACT_PROCESSES", "0")


@pytest.fixture
def link_shop() -> Iterator[LinkShop]:
    with running_link_shop() as shop:
        yield shop


def _options(**overrides: object) -> CrawlOptions:
    values: dict[str, object] = {
        "delay_s": 0,
        "concurrency": 2,
        "allow_hosts": ("127.0.0.1",),
        "images": False,
    }
    values.update(overrides)
    return CrawlOptions(**values)  # type: ignore[arg-type]


def _handles(out: Path) -> set[str]:
    rows = [json.loads(line) for line in (out / "products.jsonl").read_text().splitlines()]
    return {str(row["product"]["url"]).rsplit("/", 1)[-1] for row in rows}


def test_a_shop_without_sitemap_or_json_is_crawled_through_its_links(
    link_shop: LinkShop, tmp_path: Path
) -> None:
    summary = SiteCrawl(link_shop.url + "/", tmp_path, _options()).run()
    assert summary.error is None
    assert _handles(tmp_path) == FOUND  # all 3 listing pages, and the product at depth 3
    assert summary.items == len(FOUND)
    asked = [path for _, path in link_shop.hits]
    assert "/catalog/dresses?page=2" in asked  # a page number link
    assert "/catalog/dresses?page=3" in asked  # <link rel=next>
    assert "/catalog/skirts/all/more" in asked
    assert not [path for path in asked if any(word in path for word in NEVER)]
    assert {host.split(":")[0] for host, _ in link_shop.hits} == {"127.0.0.1"}  # not localhost
    assert len(asked) == len(set(asked))  # nothing fetched twice


def test_max_pages_bounds_link_following(link_shop: LinkShop, tmp_path: Path) -> None:
    summary = SiteCrawl(link_shop.url + "/", tmp_path, _options(max_pages=4)).run()
    assert summary.error is None
    # max_pages counts every frontier entry: the seed's /products.json and /sitemap.xml
    # (404 here) too; robots.txt is not a page
    pages = [p for _, p in link_shop.hits if p != "/robots.txt"]
    assert len(pages) == 4 and summary.items < len(FOUND)


@pytest.fixture(scope="module")
def shop() -> Iterator[DemoShop]:
    with start_demo_shop(products=120, port=0, crawl_delay=None) as demo:
        yield demo


def test_a_shopify_collection_start_url_crawls_that_collection(
    shop: DemoShop, tmp_path: Path
) -> None:
    collection = shop.catalog.collections["flare-skirts"]
    assert 0 < len(collection.handles) < 60
    shop.clear_arrivals()
    summary = SiteCrawl(shop.url + "/collections/flare-skirts", tmp_path, _options()).run()
    assert summary.error is None
    assert _handles(tmp_path) == set(collection.handles)
    asked = [arrival.path for arrival in shop.arrivals()]
    assert any(p.startswith("/collections/flare-skirts/products.json") for p in asked)
    assert not [p for p in asked if p.startswith(("/products.json", "/sitemap"))]


def _crawler(*urls: str, strategy: str = "auto") -> Crawler:
    return Crawler.model_validate(
        {
            "id": "cr_1",
            "project_id": "pr_1",
            "name": "c",
            "start_urls": list(urls),
            "strategy": strategy,
            "created_at": "2026-11-01T00:00:00Z",
            "updated_at": "2026-11-01T00:00:00Z",
        }
    )


class _Robots:
    def __init__(self, sitemaps: list[str] | None = None) -> None:
        self.asked: list[str] = []
        self.sitemaps_listed = sitemaps

    def sitemaps(self, url: str) -> list[str]:
        self.asked.append(url)
        if self.sitemaps_listed is None:
            raise FetchError(url, "unreachable")
        return self.sitemaps_listed

    def fetch(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("seeding fetches nothing but robots.txt")


def _seeded(crawler: Crawler, robots: _Robots) -> list[tuple[str, str]]:
    state = RunState()
    seed(state, crawler, robots, 250)  # type: ignore[arg-type]
    assert state.seeded
    return [(entry.kind, entry.url) for entry in state.frontier]


def test_seed_whole_site_collection_and_category() -> None:
    robots = _Robots(["https://s.example/sitemap_index.xml", "https://elsewhere.example/s.xml"])
    assert _seeded(_crawler("https://s.example/"), robots) == [
        ("products_json", "https://s.example/products.json?limit=250&page=1"),
        ("sitemap", "https://s.example/sitemap_index.xml"),  # not the other domain's
        ("page", "https://s.example/"),
    ]
    assert robots.asked == ["https://s.example/"]  # robots.txt is read either way
    collection = _crawler("https://s.example/collections/skirts?page=2")
    assert _seeded(collection, _Robots([])) == [
        ("products_json", "https://s.example/collections/skirts/products.json?limit=250&page=1"),
        ("page", "https://s.example/collections/skirts?page=2"),
    ]
    category = _crawler("https://s.example/women/skirts")
    assert _seeded(category, _Robots(None)) == [("page", "https://s.example/women/skirts")]
    no_json = _crawler("https://s.example/", strategy="jsonld")
    assert _seeded(no_json, _Robots([])) == [
        ("sitemap", "https://s.example/sitemap.xml"),  # the conventional place
        ("page", "https://s.example/"),
    ]


def test_products_json_pages_stay_in_their_collection() -> None:
    first = "https://s.example/collections/skirts/products.json?limit=250&page=1"
    assert products_json_url(first, 2, 250) == (
        "https://s.example/collections/skirts/products.json?limit=250&page=2"
    )
    assert products_json_url("https://s.example/products.json?page=1", 2, 50) == (
        "https://s.example/products.json?limit=50&page=2"
    )
    assert collection_of("https://s.example/collections/all") is None  # = the whole shop
    assert collection_of("https://s.example/collections/skirts/products/x") == "skirts"


def test_site_links_rules() -> None:
    page = load_page(
        '<a href="/c/dresses">Dresses</a><a href="/c/dresses?page=2">2</a>'
        '<a href="/c/dresses?sort=price">Cheap</a><a href="/c/dresses?color=red&size=m">Red</a>'
        '<a href="/product/x">X</a><a href="/cart">Cart</a><a href="/blogs/news/a">Blog</a>'
        '<a rel="nofollow" href="/c/promo">Promo</a><a href="/lookbook.pdf">PDF</a>'
        '<a href="mailto:a@s.example">Mail</a><a href="/c/dresses#top">Again</a>'
        '<a href="/c/skirts">Skirts</a><a href="https://other.example/c/x">Other</a>',
        "https://s.example/c/tops",
    )
    assert site_links(page, exclude=["https://s.example/c/skirts"]) == [
        "https://s.example/c/dresses",
        "https://s.example/c/dresses?page=2",
        "https://other.example/c/x",  # (the engine keeps to allowed_domains)
    ]
    assert followable("https://s.example/c?page=3") and not followable("ftp://s.example/c")


def test_depth_and_deferred_links_survive_the_state_round_trip() -> None:
    state = RunState()
    state.enqueue("https://s.example/products/a", depth=1)
    state.enqueue("https://s.example/c/dresses", depth=2, defer=True)
    assert not state.enqueue("https://s.example/c/dresses")  # queued once, deferred or not
    again = RunState.from_json(state.to_json())
    assert [(e.url, e.depth) for e in again.frontier] == [("https://s.example/products/a", 1)]
    assert [(e.url, e.depth) for e in again.deferred] == [("https://s.example/c/dresses", 2)]
    assert again.next_entry() is not None and not again.exhausted
    assert again.next_entry(deferred=False) is None  # mid-batch: feeds may still add pages
    entry = again.next_entry()
    assert entry is not None and entry.url.endswith("/c/dresses") and again.exhausted


def test_links_are_followed_below_the_start_urls_only() -> None:
    category = _crawler("https://s.example/women/skirts", "https://s.example/sale/")
    assert in_scope(category, "https://s.example/women/skirts/flare?page=2")
    assert in_scope(category, "https://s.example/women/skirts")
    assert in_scope(category, "https://s.example/sale")
    assert not in_scope(category, "https://s.example/women/skirts-archive")
    assert not in_scope(category, "https://s.example/men/shirts")
    assert not in_scope(category, "https://other.example/women/skirts/x")
    assert in_scope(_crawler("https://s.example/"), "https://s.example/anything/at/all")
