"""2,000 products, as the crawl throughput benchmark uses: feeds stay complete (their speed is
measured by that benchmark, `make bench-crawl`, not here)."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from studiolab.demo import DemoShop, start_demo_shop
from tests.demo.conftest import Client

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(scope="module")
def big() -> Iterator[DemoShop]:
    with start_demo_shop(2000, crawl_delay=None) as shop:
        yield shop


def test_products_json_covers_2000_products(big: DemoShop) -> None:
    client = Client(big.url)
    seen: list[str] = []
    for page in range(1, 10):
        products = client.get(f"/products.json?page={page}&limit=250").json()["products"]
        seen += [p["handle"] for p in products]
    assert len(seen) == 2000 == len(set(seen))


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


def test_listing_and_product_pages_answer(big: DemoShop) -> None:
    client = Client(big.url)
    pages = [f"/collections/all?page={k}" for k in range(1, 40)]
    pages += [p.path() for p in big.catalog][::10]
    for path in pages:
        assert client.get(path).status == 200
    last = client.get("/collections/all?page=84").text
    assert 'rel="next"' not in last and 'rel="prev"' in last
