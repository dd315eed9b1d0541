"""2,000 products, as the crawl throughput benchmark uses: feeds stay complete and fast."""

from __future__ import annotations

import gzip
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from studiolab.demo import DemoShop, start_demo_shop
from tests.demo.conftest import Client

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(scope="module")
def big() -> Iterator[DemoShop]:
    started = time.perf_counter()
    with start_demo_shop(2000, crawl_delay=None) as shop:
        assert time.perf_counter() - started < 3.0
        yield shop


def test_products_json_covers_2000_products_fast(big: DemoShop) -> None:
    client = Client(big.url)
    seen: list[str] = []
    slowest = 0.0
    for page in range(1, 10):
        started = time.perf_counter()
        products = client.get(f"/products.json?page={page}&limit=250").json()["products"]
        slowest = max(slowest, time.perf_counter() - started)
        seen += [p["handle"] for p in products]
    assert len(seen) == 2000 == len(set(seen))
    assert slowest < 0.5, f"products.json page took {slowest * 1000:.0f} ms"


def test_sitemaps_split_and_gzip(big: DemoShop) -> None:
    client = Client(big.url)
    index = client.get("/sitemap.xml").text
    assert "sitemap_products_1.xml<" in index and "sitemap_products_2.xml.gz<" in index
    second = client.get("/sitemap_products_2.xml.gz")
    assert second.headers["content-type"] == "application/x-gzip"
    first = ET.fromstring(client.get("/sitemap_products_1.xml").body)
    rest = ET.fromstring(gzip.decompress(second.body))
    urls = [e.text or "" for tree in (first, rest) for e in tree.iter(f"{SM}loc")]
    assert sorted(urls) == sorted(big.product_urls())
    assert client.get("/sitemap_products_2.xml").status == 404


def test_listing_and_product_pages_fast(big: DemoShop) -> None:
    client = Client(big.url)
    pages = [f"/collections/all?page={k}" for k in range(1, 40)]
    pages += [p.path() for p in big.catalog][::10]
    started = time.perf_counter()
    for path in pages:
        assert client.get(path).status == 200
    per_page_ms = (time.perf_counter() - started) / len(pages) * 1000
    assert per_page_ms < 20, f"{per_page_ms:.1f} ms per page"
    last = client.get("/collections/all?page=84").text
    assert 'rel="next"' not in last and 'rel="prev"' in last
