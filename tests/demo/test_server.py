"""The shop's pages and feeds: robots, sitemaps, JSON-LD, Open Graph, Shopify JSON, listings,
conditional requests, compression and clean shutdown."""

from __future__ import annotations

import gzip
import re
import socket
import xml.etree.ElementTree as ET
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from studiolab.demo import DemoShop, start_demo_shop
from tests.demo.conftest import Client, json_ld, walk

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def locs(xml: bytes) -> list[str]:
    return [element.text or "" for element in ET.fromstring(xml).iter(f"{SM}loc")]


def test_robots_txt(shop: DemoShop, client: Client) -> None:
    reply = client.get("/robots.txt")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/plain")
    assert "Disallow: /cart" in reply.text and "Disallow: /account" in reply.text
    assert "Crawl-delay: 1" in reply.text
    assert f"Sitemap: {shop.url}/sitemap.xml" in reply.text
    protego = pytest.importorskip("protego")
    robots = protego.Protego.parse(reply.text)
    assert robots.crawl_delay("studiolab-bot") == 1.0
    assert not robots.can_fetch(f"{shop.url}/cart", "studiolab-bot")
    assert not robots.can_fetch(f"{shop.url}/account/login", "studiolab-bot")
    assert not robots.can_fetch(f"{shop.url}/collections/skirts?sort_by=price-ascending", "x")
    assert robots.can_fetch(f"{shop.url}/products/anything", "studiolab-bot")
    assert not robots.can_fetch(f"{shop.url}/products/anything", "BadBot")
    with start_demo_shop(5, crawl_delay=None) as other:
        assert "Crawl-delay" not in Client(other.url).get("/robots.txt").text


def test_sitemap_index_leads_to_every_product(shop: DemoShop, client: Client) -> None:
    index = client.get("/sitemap.xml")
    assert index.status == 200 and b"<sitemapindex" in index.body
    children = locs(index.body)
    assert f"{shop.url}/sitemap_products_1.xml" in children
    product_urls: list[str] = []
    for child in children:
        reply = client.get(child)
        assert reply.status == 200
        body = gzip.decompress(reply.body) if child.endswith(".gz") else reply.body
        if "sitemap_products" in child:
            product_urls += locs(body)
    assert sorted(product_urls) == sorted(shop.product_urls())
    for url in product_urls[::20]:
        assert client.get(url).status == 200


def test_product_page_markup(shop: DemoShop, client: Client) -> None:
    for markup in ("product", "graph", "group"):
        product = next(p for p in shop.catalog if p.markup == markup)
        reply = client.get(product.path())
        assert reply.status == 200 and reply.headers["content-type"] == "text/html; charset=utf-8"
        html = reply.text
        nodes = [node for doc in json_ld(html) for node in walk(doc)]
        main = next(n for n in nodes if n.get("@type") in {"Product", "ProductGroup"})
        assert main["name"] == product.title and main["brand"]["name"] == product.brand
        assert main["image"] == [f"{shop.url}{product.image_path(s.n)}" for s in product.images]
        assert main["color"] == product.colour_label
        offers = [n for n in nodes if n.get("@type") == "Offer"]
        assert offers and all(Decimal(o["price"]) == Decimal(product.price) for o in offers)
        assert all(o["priceCurrency"] == "EUR" for o in offers)
        availability = {o["availability"].rsplit("/", 1)[1] for o in offers}
        assert product.availability in availability
        skus = {
            n.get("sku") or n.get("productGroupID")
            for n in nodes
            if "sku" in n or "productGroupID" in n
        }
        assert product.sku in skus
        if markup == "group":
            assert {v["sku"] for v in main["hasVariant"]} == {v.sku for v in product.variants}
        crumbs = next(n for n in nodes if n.get("@type") == "BreadcrumbList")
        assert [e["name"] for e in crumbs["itemListElement"]][:2] == [
            "Home",
            product.breadcrumbs[1][0],
        ]
        assert f'<link rel="canonical" href="{shop.url}{product.path()}">' in html
        assert f'<meta property="product:price:amount" content="{product.price}">' in html
        assert '<meta property="og:type" content="product">' in html
        assert 'aria-label="Breadcrumb"' in html
        assert (
            f'srcset="{product.image_path(1, 400)} 400w, {product.image_path(1, 800)} 800w"' in html
        )


def test_availability_in_json_ld_follows_stock(shop: DemoShop, client: Client) -> None:
    for product in [p for p in shop.catalog if not p.available][:3]:
        nodes = [n for doc in json_ld(client.get(product.path()).text) for n in walk(doc)]
        offers = [n["availability"] for n in nodes if n.get("@type") == "Offer"]
        assert offers and all(o == "https://schema.org/OutOfStock" for o in offers)


def test_products_json_pages_cover_the_catalog_once(shop: DemoShop, client: Client) -> None:
    seen: list[str] = []
    page = 1
    while True:
        products = client.get(f"/products.json?page={page}&limit=50").json()["products"]
        if not products:
            break
        seen += [p["handle"] for p in products]
        page += 1
    assert seen == [p.handle for p in shop.catalog]
    first = client.get("/products.json").json()["products"]
    assert len(first) == 30  # Shopify's default limit
    item = first[0]
    product = shop.product(item["handle"])
    assert item["vendor"] == product.brand and item["product_type"] == product.product_type
    assert item["variants"][0]["price"] == product.price
    assert {v["option1"] for v in item["variants"]} == set(product.sizes)
    assert {v["sku"] for v in item["variants"]} == {v.sku for v in product.variants}
    assert item["images"][0]["src"] == f"{shop.url}{product.image_path(1)}"
    assert item["updated_at"] == product.updated_at.isoformat()
    assert len(client.get("/products.json?limit=1000").json()["products"]) == 240  # capped at 250


def test_product_js_prices_in_cents(shop: DemoShop, client: Client) -> None:
    product = next(p for p in shop.catalog if p.compare_at_price)
    data = client.get(f"/products/{product.handle}.js").json()
    assert data["price"] == int(Decimal(product.price) * 100)
    assert data["compare_at_price"] == int(Decimal(product.compare_at_price or "0") * 100)
    assert all(v["price"] == data["price"] for v in data["variants"])
    assert data["images"][0].startswith("//127.0.0.1:")  # protocol-relative, as Shopify
    assert client.get(f"/products/{product.handle}.json").json()["product"]["id"] == product.id


def test_collection_json_and_listing_pagination(shop: DemoShop, client: Client) -> None:
    skirts = [p.handle for p in shop.catalog if p.category == "skirt"]
    data = client.get("/collections/skirts/products.json?limit=250").json()
    assert [p["handle"] for p in data["products"]] == skirts
    found: list[str] = []
    url: str | None = "/collections/skirts"
    pages = 0
    while url:
        html = client.get(url).text
        pages += 1
        found += re.findall(r'<li class="product-card"><a href="/products/([a-z0-9-]+)"', html)
        head_next = re.search(r'<link rel="next" href="([^"]+)">', html)
        body_next = re.search(r'<a rel="next" href="([^"]+)">', html)
        assert bool(head_next) == bool(body_next)
        url = body_next.group(1) if body_next else None
        if head_next and url:
            assert head_next.group(1) == shop.url + url
    assert found == skirts and pages == -(-len(skirts) // 24)
    assert client.get("/collections/skirts?page=99").status == 404
    flare = client.get("/collections/flare-skirts").text
    assert "Flare Skirt" in flare and 'rel="next"' not in flare


def test_conditional_requests(shop: DemoShop, client: Client) -> None:
    product = shop.catalog[2]
    for path in (product.path(), product.image_path(1, 400)):
        first = client.get(path)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        again = client.get(path, {"If-None-Match": etag})
        assert again.status == 304 and again.body == b"" and again.headers["etag"] == etag
        assert client.get(path, {"If-Modified-Since": modified}).status == 304
        assert client.get(path, {"If-None-Match": '"other"'}).status == 200
    image_etag = client.get(product.image_path(1, 400)).headers["etag"]
    assert client.get(product.image_path(1, 800)).headers["etag"] != image_etag


def test_touch_changes_etag(client: Client) -> None:
    with start_demo_shop(10) as shop:
        own = Client(shop.url)
        product = shop.catalog[1]
        etag = own.get(product.path()).headers["etag"]
        shop.touch(product.handle, price="9.99")
        reply = own.get(product.path(), {"If-None-Match": etag})
        assert reply.status == 200 and "9.99" in reply.text


def test_gzip_head_and_errors(shop: DemoShop, client: Client) -> None:
    path = shop.catalog[0].path()
    plain = client.get(path)
    zipped = client.get(path, {"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == plain.body
    head = client.get(path, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert int(head.headers["content-length"]) == len(plain.body)
    assert client.get("/products/no-such-thing-0000").status == 404
    assert client.get("/nowhere").status == 404
    assert client.get(shop.catalog[0].image_path(9)).status == 404
    assert client.get(path, method="POST").status == 405
    assert client.get("/cart").status == 200  # exists, only robots.txt keeps crawlers out


def test_pages_link_to_each_other(shop: DemoShop, client: Client) -> None:
    home = client.get("/").text
    assert 'href="/collections/skirts"' in home and 'href="/cart"' in home
    assert shop.catalog[0].path() in home
    collections = client.get("/collections").text
    assert "/collections/pleated-skirts" in collections
    assert client.get("/sitemap_collections_1.xml").status == 200


def test_binds_loopback_only_and_stops_cleanly() -> None:
    with pytest.raises(ValueError, match="loopback"):
        start_demo_shop(5, host="0.0.0.0")
    shop = start_demo_shop(5)
    port = urlsplit(shop.url).port
    assert port and Client(shop.url).get("/").status == 200
    idle = Client(shop.url)
    idle.get("/")  # leaves a keep-alive connection open
    shop.stop()
    shop.stop()  # idempotent
    assert shop.wait(0)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_json_endpoints_answer_304(shop: DemoShop, client: Client) -> None:
    for path in ("/products.json?page=2", f"/products/{shop.catalog[4].handle}.js"):
        etag = client.get(path).headers["etag"]
        assert client.get(path, {"If-None-Match": etag}).status == 304
