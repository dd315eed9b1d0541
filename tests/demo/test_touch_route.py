"""`POST /_demo/products/<handle>/touch`: a product changes in a running shop, so a re-crawl
can be watched picking it up (new ETag, Last-Modified, Shopify updated_at, price)."""

from __future__ import annotations

import json

from studiolab.demo import start_demo_shop
from tests.demo.conftest import Client


def _listed(client: Client, handle: str) -> dict[str, str]:
    products = json.loads(client.get("/products.json?limit=250").body)["products"]
    [entry] = [product for product in products if product["handle"] == handle]
    return dict(entry)


def test_touch_route_makes_a_new_version_of_the_product() -> None:
    with start_demo_shop(6, crawl_delay=None) as shop:
        client = Client(shop.url)
        product = shop.catalog[2]
        before = client.get(product.path())
        listed_before = _listed(client, product.handle)
        etag = before.headers["etag"]
        assert client.get(product.path(), {"If-None-Match": etag}).status == 304

        reply = client.get(f"/_demo/products/{product.handle}/touch?price=12.5", method="POST")

        assert reply.status == 200
        document = json.loads(reply.body)
        assert (document["handle"], document["version"], document["price"]) == (
            product.handle,
            1,
            "12.50",
        )
        again = client.get(product.path(), {"If-None-Match": etag})
        assert again.status == 200 and again.headers["etag"] != etag and "12.50" in again.text
        assert again.headers["last-modified"] != before.headers["last-modified"]
        listed = _listed(client, product.handle)
        assert listed["updated_at"] > listed_before["updated_at"]
        assert listed["updated_at"][:19] == document["updated_at"][:19]


def test_touch_route_refuses_unknown_products_bad_prices_and_other_methods() -> None:
    with start_demo_shop(3, crawl_delay=None) as shop:
        client = Client(shop.url)
        handle = shop.catalog[0].handle
        assert client.get("/_demo/products/nope/touch", method="POST").status == 404
        assert client.get(f"/_demo/products/{handle}/touch?price=-1", method="POST").status == 400
        assert client.get(f"/_demo/products/{handle}/touch", method="GET").status == 404
        assert client.get("/products.json", method="POST").status == 405
        assert shop.catalog.get(handle).version == 0  # type: ignore[union-attr]
