"""Discovery: sitemaps, robots.txt, listing pages, product-URL rules, Shopify endpoints."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from studiolab.crawl.discover import (
    MAX_SITEMAP_BYTES,
    canonicalize,
    dedupe_urls,
    is_product_url,
    listing_links,
    parse_sitemap,
    robots_sitemaps,
    shopify_collection_urls,
    shopify_product_js_url,
    shopify_product_urls,
    shopify_products_json_url,
)
from studiolab.domain.errors import InvalidInput, PayloadTooLarge

FIXTURES = Path(__file__).parent / "fixtures"


def test_sitemap_index() -> None:
    sitemap = parse_sitemap(
        (FIXTURES / "sitemap_index.xml").read_bytes(), "https://dawn.example/sitemap.xml"
    )
    assert sitemap.urls == []
    assert sitemap.sitemaps == [
        "https://dawn.example/sitemap_products_1.xml.gz?from=1&to=99",
        "https://dawn.example/sitemap_collections_1.xml",
        "https://dawn.example/sitemap_pages_1.xml",
    ]


def test_gzipped_urlset_dedups_and_drops_non_http() -> None:
    body = (FIXTURES / "sitemap_products_1.xml.gz").read_bytes()
    assert body[:2] == b"\x1f\x8b"
    sitemap = parse_sitemap(body, "https://dawn.example/sitemap_products_1.xml.gz")
    assert sitemap.sitemaps == []
    assert sitemap.urls == [
        "https://dawn.example/",
        "https://dawn.example/products/aria-pleated-midi-skirt",
        "https://dawn.example/products/noor-satin-slip-skirt",
    ]


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * (MAX_SITEMAP_BYTES + 10))
    assert len(bomb) < 200_000
    with pytest.raises(PayloadTooLarge):
        parse_sitemap(bomb, "https://x.example/sitemap.xml.gz")


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"\x1f\x8b\x08garbage",
        b"<html><body>Not found</body></html>",
        b"<?xml?><urlset><url>",
        b"\x00\xff\xfe",
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><urlset><url><loc>&e;</loc></url></urlset>',
    ],
)
def test_junk_sitemaps_are_empty(junk: bytes) -> None:
    sitemap = parse_sitemap(junk, "https://x.example/sitemap.xml")
    assert sitemap.urls == [] and sitemap.sitemaps == []


def test_text_and_feed_sitemaps() -> None:
    text = b"https://x.example/a\n\nnot a url\nhttps://x.example/b\n"
    assert parse_sitemap(text, "https://x.example/s.txt").urls == [
        "https://x.example/a",
        "https://x.example/b",
    ]
    rss = b"<rss><channel><item><link>https://x.example/p/1</link></item></channel></rss>"
    assert parse_sitemap(rss, "https://x.example/feed").urls == ["https://x.example/p/1"]
    unnamespaced = b"<urlset><url><loc>/relative</loc></url></urlset>"
    assert parse_sitemap(unnamespaced, "https://x.example/s.xml").urls == [
        "https://x.example/relative"
    ]


def test_robots_sitemaps() -> None:
    robots = (FIXTURES / "robots.txt").read_text()
    assert robots_sitemaps(robots, "https://dawn.example/robots.txt") == [
        "https://dawn.example/sitemap.xml",
        "https://dawn.example/sitemap_index_2.xml",
        "https://dawn.example/relative-sitemap.xml",
    ]
    assert robots_sitemaps(b"\xff\xfe garbage") == []


def test_listing_page_products_and_pagination() -> None:
    html = (FIXTURES / "listing.html").read_bytes()
    listing = listing_links(html, "https://dawn.example/collections/skirts?page=2")
    assert listing.product_urls == [
        "https://dawn.example/collections/skirts/products/aria-pleated-midi-skirt",
        "https://dawn.example/products/noor-satin-slip-skirt",
        "https://dawn.example/products/lina-denim-mini",
    ]
    assert listing.next_pages == [
        "https://dawn.example/collections/skirts?page=3",
        "https://dawn.example/collections/skirts?page=4",
    ]  # not page 1 (behind us), not another collection's page 5


def test_listing_with_selectors() -> None:
    html = (
        '<div class="tile"><a href="/x/1">1</a></div>'
        '<a class="more" href="/list?offset=24">More</a>'
    )
    listing = listing_links(
        html, "https://s.example/list", selectors={"product_link": ".tile a", "next_page": "a.more"}
    )
    assert listing.product_urls == ["https://s.example/x/1"]
    assert listing.next_pages == ["https://s.example/list?offset=24"]
    with pytest.raises(InvalidInput):
        listing_links(html, "https://s.example/list", selectors={"product_link": "a[["})


def test_listing_path_pagination_and_next_labels() -> None:
    html = (
        '<a href="/shop/page/3/">3</a><a href="/shop/page/2/">Next »</a>'
        '<a href="/product/lino-dress/">Lino</a><a href="/product-category/dresses/">Dresses</a>'
    )
    listing = listing_links(html, "https://w.example/shop/")
    assert listing.next_pages == [
        "https://w.example/shop/page/2/",
        "https://w.example/shop/page/3/",
    ]
    assert listing.product_urls == ["https://w.example/product/lino-dress/"]


@pytest.mark.parametrize(
    ("url", "is_product"),
    [
        ("https://s.example/products/aria-skirt", True),
        ("https://s.example/collections/skirts/products/aria-skirt", True),
        ("https://s.example/en-de/products/aria-skirt?variant=1", True),
        ("https://s.example/product/flared-denim-skirt/", True),
        ("https://s.example/produkt/jeansrock/", True),
        ("https://s.example/de/p/linen-wrap-dress-nl-2291", True),
        ("https://s.example/dp/B0C1234567", True),
        ("https://s.example/prd/12345678", True),
        ("https://s.example/linen-dress-p-10234.html", True),
        ("https://s.example/linen-dress-p10234567", True),
        ("https://s.example/en_gb/productpage.0970819001.html", True),
        ("https://s.example/ines-wide-leg-trousers-wsh12.html", True),
        ("https://s.example/index.php?route=product/product&product_id=42", True),
        ("https://s.example/products", False),
        ("https://s.example/products/aria-skirt.js", False),
        ("https://s.example/collections/skirts/products.json", False),
        ("https://s.example/collections/skirts", False),
        ("https://s.example/product-category/dresses/", False),
        ("https://s.example/blogs/news/summer-edit", False),
        ("https://s.example/pages/about-us.html", False),
        ("https://s.example/cart", False),
        ("https://s.example/about-us.html", False),
        ("https://s.example/women/skirts.html", False),
        ("https://s.example/img/products/a.jpg", False),
        ("mailto:x@s.example", False),
        ("not a url", False),
    ],
)
def test_product_url_rules(url: str, is_product: bool) -> None:
    assert is_product_url(url) is is_product


def test_canonicalize_and_dedupe() -> None:
    url = "HTTPS://Shop.Example:443/p/x?utm_source=a&b=2&a=1&gclid=9&fbclid=3#reviews"
    assert canonicalize(url) == "https://shop.example/p/x?a=1&b=2"
    assert dedupe_urls(
        ["https://s.example/a?utm_medium=x", "https://s.example/a#top", "https://s.example/b"]
    ) == [
        "https://s.example/a",
        "https://s.example/b",
    ]


def test_shopify_helpers() -> None:
    assert shopify_products_json_url("https://s.example/anything", 3) == (
        "https://s.example/products.json?limit=250&page=3"
    )
    assert shopify_collection_urls("https://s.example/collections/skirts?page=2", pages=2) == [
        "https://s.example/collections/skirts/products.json?limit=250&page=1",
        "https://s.example/collections/skirts/products.json?limit=250&page=2",
    ]
    assert shopify_collection_urls("https://s.example/", limit=999) == [
        "https://s.example/products.json?limit=250&page=1"
    ]
    assert shopify_product_js_url("https://s.example/collections/c/products/aria?variant=1") == (
        "https://s.example/products/aria.js"
    )
    assert shopify_product_js_url("https://s.example/pages/x") is None
    doc = json.loads((FIXTURES / "shopify_products.json").read_text())
    assert shopify_product_urls(doc, "https://dawn.example/") == [
        "https://dawn.example/products/aria-pleated-midi-skirt",
        "https://dawn.example/products/noor-satin-slip-skirt",
    ]
    assert shopify_product_urls(b"{}", "https://dawn.example/") == []
    assert shopify_product_urls(b"junk", "https://dawn.example/") == []
