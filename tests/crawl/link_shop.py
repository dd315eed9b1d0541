"""A small shop on 127.0.0.1 with no sitemap, no robots.txt Sitemap line and no Shopify
JSON: its products can only be found by following links from the home page.

    /                         home (depth 0): categories, and links a crawler must not take:
                              /cart, /account/login, a facet (?sort=price), rel=nofollow,
                              a PDF, and the same shop under another host name (localhost)
    /catalog/dresses          listing: 3 products, a plain "2" link to ?page=2
    /catalog/dresses?page=2   3 products, <link rel=next> to ?page=3
    /catalog/dresses?page=3   2 products, last page
    /catalog/skirts           -> /catalog/skirts/all -> /catalog/skirts/all/more (depth 3:
                              product skirt-deep) -> /catalog/skirts/all/more/hidden
                              (depth 4: never fetched with max_depth 3, so skirt-hidden
                              is not found)
    /product/<handle>         a product page (JSON-LD), linking back to its category
Everything else is 404. `hits` records (host, path-with-query) of every request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DRESSES = [f"dress-{n}" for n in range(1, 9)]
PAGES = {1: DRESSES[:3], 2: DRESSES[3:6], 3: DRESSES[6:]}
FOUND = {*DRESSES, "skirt-deep"}  # what a crawl with max_depth 3 finds
NEVER = ("/cart", "/account", "sort=", "/catalog/nofollow", ".pdf", "/hidden", "skirt-hidden")


def _html(body: str, head: str = "") -> bytes:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>".encode()


def _product(handle: str) -> bytes:
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": handle.replace("-", " ").title(),
        "sku": handle.upper(),
        "offers": {"@type": "Offer", "price": "49.00", "priceCurrency": "EUR"},
    }
    category = "skirts" if handle.startswith("skirt") else "dresses"
    return _html(
        f'<h1>{data["name"]}</h1><a href="/catalog/{category}">Back</a><a href="/">Home</a>',
        f'<script type="application/ld+json">{json.dumps(data)}</script>',
    )


def _cards(handles: list[str]) -> str:
    return "".join(f'<a href="/product/{h}">{h}</a>' for h in handles)


@dataclass
class LinkShop:
    port: int = 0
    hits: list[tuple[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page(self, path: str, query: dict[str, list[str]]) -> bytes | None:
        if path == "/":
            return _html(
                '<nav><a href="/catalog/dresses">Dresses</a> <a href="/catalog/skirts">Skirts</a>'
                ' <a href="/catalog/dresses?sort=price">Cheapest</a>'
                ' <a rel="nofollow" href="/catalog/nofollow">Promo</a>'
                ' <a href="/cart">Cart</a> <a href="/account/login">Login</a>'
                ' <a href="/lookbook.pdf">Lookbook</a>'
                f' <a href="http://localhost:{self.port}/catalog/dresses">Mirror</a></nav>'
            )
        if path == "/catalog/dresses":
            number = int((query.get("page") or ["1"])[0])
            if number not in PAGES:
                return None
            links = _cards(PAGES[number])
            head = ""
            if number == 1:
                links += '<nav class="pager"><a href="/catalog/dresses?page=2">2</a></nav>'
            elif number == 2:
                head = '<link rel="next" href="/catalog/dresses?page=3">'
            return _html(links + '<a href="/">Home</a>', head)
        chain = {
            "/catalog/skirts": '<a href="/catalog/skirts/all">All skirts</a>',
            "/catalog/skirts/all": '<a href="/catalog/skirts/all/more">More skirts</a>',
            "/catalog/skirts/all/more": _cards(["skirt-deep"])
            + '<a href="/catalog/skirts/all/more/hidden">Hidden</a>',
            "/catalog/skirts/all/more/hidden": _cards(["skirt-hidden"]),
        }
        if path in chain:
            return _html(chain[path])
        if path.startswith("/product/"):
            return _product(path.removeprefix("/product/"))
        return None


@contextmanager
def running_link_shop() -> Iterator[LinkShop]:
    shop = LinkShop()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            shop.hits.append((self.headers.get("Host", ""), self.path))
            body = shop.page(parts.path, parse_qs(parts.query))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            payload = body if body is not None else b"not found"
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    shop.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield shop
    finally:
        server.shutdown()
        server.server_close()
