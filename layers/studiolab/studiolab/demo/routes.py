"""The demo shop's URL layout: one method call turns (method, target, headers) into a Response.

Kept apart from the socket code so routing, conditional requests (ETag / Last-Modified → 304),
gzip and fault injection are plain functions of the request."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

from studiolab.demo import feeds, pages
from studiolab.demo.catalog import Catalog, Collection, Product
from studiolab.demo.faults import Fault, FaultInjector
from studiolab.demo.images import ImageRenderer

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
XML = "application/xml; charset=utf-8"
HANDLE = r"(?P<handle>[a-z0-9][a-z0-9-]*)"
SHOPIFY_DEFAULT_LIMIT, SHOPIFY_MAX_LIMIT = 30, 250
# `POST /_demo/products/<handle>/touch[?price=12.50]`: a new version of a product (new
# updated_at, ETag and Last-Modified; optionally a new price), to watch a re-crawl pick it up.
TOUCH = re.compile(rf"/_demo/products/{HANDLE}/touch")


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = HTML
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: datetime | None = None
    delay: float = 0.0  # seconds to wait before answering (slow-page fault)
    compress: bool = True
    fault: str = ""  # why a fault was injected, "" for normal answers

    def header_items(self) -> list[tuple[str, str]]:
        items = [("Content-Type", self.content_type)] if self.status != 304 else []
        if self.etag:
            items.append(("ETag", self.etag))
        if self.last_modified is not None:
            moment = self.last_modified.astimezone(UTC)
            items.append(("Last-Modified", format_datetime(moment, usegmt=True)))
        return items + list(self.headers.items())


def _digest(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()[:20]


def _not_modified(headers: Mapping[str, str], etag: str, modified: datetime | None) -> bool:
    """RFC 9110: If-None-Match (weak comparison) wins over If-Modified-Since."""
    candidates = headers.get("if-none-match")
    if candidates is not None:
        wanted = etag.removeprefix("W/")
        return any(
            tag.strip() == "*" or tag.strip().removeprefix("W/") == wanted
            for tag in candidates.split(",")
        )
    since = headers.get("if-modified-since")
    if since and modified is not None:
        try:
            return modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(query[name][0])
    except (KeyError, IndexError, ValueError):
        return default


class ShopApp:
    def __init__(
        self,
        catalog: Catalog,
        renderer: ImageRenderer,
        injector: FaultInjector,
        *,
        base: str,
        crawl_delay: float | None,
        page_size: int,
        sitemap_chunk: int,
        compress: bool = True,
    ) -> None:
        self.catalog = catalog
        self.renderer = renderer
        self.injector = injector
        self.base = base
        self.crawl_delay = crawl_delay
        self.page_size = max(1, page_size)
        self.sitemap_chunk = max(1, sitemap_chunk)
        self.compress = compress
        route = Callable[[re.Match[str], dict[str, list[str]], Mapping[str, str]], Response]
        self._routes: list[tuple[re.Pattern[str], route]] = [
            (re.compile(p), f)
            for p, f in (
                (r"/", self._home),
                (r"/robots\.txt", self._robots),
                (r"/sitemap\.xml", self._sitemap_index),
                (r"/sitemap_products_(?P<n>\d+)\.xml(?P<gz>\.gz)?", self._sitemap_products),
                (r"/sitemap_collections_1\.xml", self._sitemap_collections),
                (r"/sitemap_pages_1\.xml", self._sitemap_pages),
                (r"/products\.json", self._products_json),
                (rf"/products/{HANDLE}\.js", self._product_js),
                (rf"/products/{HANDLE}\.json", self._product_json),
                (rf"/products/{HANDLE}", self._product),
                (r"/collections/?", self._collections),
                (r"/collections/(?P<slug>[a-z0-9-]+)/products\.json", self._collection_json),
                (rf"/collections/(?P<slug>[a-z0-9-]+)/products/{HANDLE}", self._product),
                (r"/collections/(?P<slug>[a-z0-9-]+)", self._listing),
                (rf"/cdn/images/{HANDLE}-(?P<n>\d+)\.jpg", self._image),
                (r"/(?P<page>cart|account|checkout|search)(?:/.*)?", self._private),
                (r"/pages/about", self._about),
            )
        ]

    # -- entry point ---------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Mapping[str, str]) -> Response:
        """Answer one request; `headers` keys are lower-case."""
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        touch = TOUCH.fullmatch(parts.path)
        if method == "POST" and touch:
            return self._touch(touch["handle"], query)
        if method not in {"GET", "HEAD"}:
            return Response(405, b"method not allowed\n", "text/plain", {"Allow": "GET, HEAD"})
        for pattern, handler in self._routes:
            match = pattern.fullmatch(parts.path)
            if match:
                response = handler(match, query, headers)
                break
        else:
            response = self._not_found()
        return self._encode(response, headers)

    def _encode(self, response: Response, headers: Mapping[str, str]) -> Response:
        etag = response.etag
        if response.status == 200 and etag and _not_modified(headers, etag, response.last_modified):
            response.status, response.body = 304, b""
            return response
        wants_gzip = "gzip" in headers.get("accept-encoding", "").lower()
        if not (self.compress and response.compress and len(response.body) >= 1024):
            return response
        response.headers.setdefault("Vary", "Accept-Encoding")
        if wants_gzip:
            response.body = gzip.compress(response.body, 5, mtime=0)
            response.headers["Content-Encoding"] = "gzip"
        return response

    # -- helpers -------------------------------------------------------------------------------
    def _not_found(self, what: str = "page") -> Response:
        body = pages.simple_page("Not found", f"This {what} does not exist.", self.base, "/404")
        return Response(404, body)

    def _fault(self, fault: Fault | None) -> Response | None:
        if fault is None or fault.status is None:
            return None
        body = f"{fault.status} {fault.reason}\n".encode()
        return Response(fault.status, body, "text/plain", dict(fault.headers), fault=fault.reason)

    def _json(self, document: object, *, etag: bool = True) -> Response:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        return Response(200, body, JSON, etag=f'W/"{_digest(body)}"' if etag else None)

    def _touch(self, handle: str, query: dict[str, list[str]]) -> Response:
        if self.catalog.get(handle) is None:
            return self._not_found("product")
        price = query.get("price", [""])[0]
        if price and not re.fullmatch(r"\d{1,6}(\.\d{1,2})?", price):
            return Response(400, b"price must look like 12.50\n", "text/plain")
        product = self.catalog.touch(handle, price=f"{float(price):.2f}" if price else None)
        document = {
            "handle": product.handle,
            "version": product.version,
            "price": product.price,
            "updated_at": product.updated_at.isoformat(),
        }
        return self._json(document, etag=False)

    # -- pages ---------------------------------------------------------------------------------
    def _home(self, *_: object) -> Response:
        return Response(200, pages.home(self.catalog, self.base))

    def _robots(self, *_: object) -> Response:
        return Response(200, feeds.robots_txt(self.base, self.crawl_delay).encode(), "text/plain")

    def _about(self, *_: object) -> Response:
        text = "A local fashion shop generated by studiolab for crawler tests and benchmarks."
        return Response(200, pages.simple_page("About us", text, self.base, "/pages/about"))

    def _private(self, match: re.Match[str], *_: object) -> Response:
        name = match["page"]
        body = pages.simple_page(name.title(), "Nothing here for robots.", self.base, f"/{name}",
                                 noindex=True)  # fmt: skip
        return Response(200, body, headers={"Cache-Control": "private, no-store"})

    def _collections(self, *_: object) -> Response:
        return Response(200, pages.collections_index(self.catalog, self.base))

    def _collection(self, slug: str, query: dict[str, list[str]]) -> Collection | None:
        collection = self.catalog.collections.get(slug)
        sort = query.get("sort_by", [""])[0]
        if collection is None or sort not in {"price-ascending", "created-descending"}:
            return collection
        products = [p for h in collection.handles if (p := self.catalog.get(h)) is not None]
        if sort == "price-ascending":
            products.sort(key=lambda p: float(p.price))
        else:
            products.sort(key=lambda p: p.created_at, reverse=True)
        return replace(collection, handles=tuple(p.handle for p in products))

    def _listing(self, match: re.Match[str], query: dict[str, list[str]], _: object) -> Response:
        collection = self._collection(match["slug"], query)
        if collection is None:
            return self._not_found("collection")
        page = _int(query, "page", 1)
        total = max(1, -(-len(collection.handles) // self.page_size))
        if not 1 <= page <= total:
            return self._not_found("page of the collection")
        failed = self._fault(self.injector.for_page(f"/collections/{collection.slug}", page))
        if failed:
            return failed
        body = pages.listing(self.catalog, collection, page, total, self.base, self.page_size)
        return Response(200, body)

    def _lookup(self, handle: str, path: str) -> tuple[Product | None, Response, float]:
        """The product, or the error answer; plus the slow-page delay."""
        product = self.catalog.get(handle)
        if product is None:
            return None, self._not_found("product"), 0.0
        fault = self.injector.for_product(handle, path)
        failed = self._fault(fault)
        if failed:
            return None, failed, 0.0
        return product, Response(200), fault.delay if fault else 0.0

    def _product(self, match: re.Match[str], _: object, headers: Mapping[str, str]) -> Response:
        product, failed, delay = self._lookup(match["handle"], match.string)
        if product is None:
            return failed
        etag = f'W/"{_digest(self.catalog.seed, product.handle, product.version, "html")}"'
        modified = product.updated_at
        if _not_modified(headers, etag, modified):
            return Response(304, etag=etag, last_modified=modified, delay=delay)
        body = pages.product_page(product, self.base)
        return Response(200, body, etag=etag, last_modified=modified, delay=delay)

    def _product_js(self, match: re.Match[str], *_: object) -> Response:
        product, failed, delay = self._lookup(match["handle"], match.string)
        if product is None:
            return failed
        response = self._json(feeds.shopify_js(product, self.base))
        response.last_modified, response.delay = product.updated_at, delay
        return response

    def _product_json(self, match: re.Match[str], *_: object) -> Response:
        product, failed, delay = self._lookup(match["handle"], match.string)
        if product is None:
            return failed
        size = self.renderer.base_size
        response = self._json({"product": feeds.shopify_product(product, self.base, size)})
        response.last_modified, response.delay = product.updated_at, delay
        return response

    def _products_json(self, _: object, query: dict[str, list[str]], __: object) -> Response:
        return self._shopify_page(list(self.catalog), "/products.json", query)

    def _collection_json(
        self, match: re.Match[str], query: dict[str, list[str]], _: object
    ) -> Response:
        collection = self.catalog.collections.get(match["slug"])
        if collection is None:
            return self._not_found("collection")
        products = [p for h in collection.handles if (p := self.catalog.get(h)) is not None]
        return self._shopify_page(products, f"/collections/{collection.slug}/products.json", query)

    def _shopify_page(
        self, products: list[Product], path: str, query: dict[str, list[str]]
    ) -> Response:
        page = max(1, _int(query, "page", 1))
        limit = min(SHOPIFY_MAX_LIMIT, max(1, _int(query, "limit", SHOPIFY_DEFAULT_LIMIT)))
        failed = self._fault(self.injector.for_page(path, page))
        if failed:
            return failed
        size = self.renderer.base_size
        chosen = feeds.page_of(products, page, limit)
        return self._json({"products": [feeds.shopify_product(p, self.base, size) for p in chosen]})

    # -- feeds ---------------------------------------------------------------------------------
    def _sitemap_index(self, *_: object) -> Response:
        body = feeds.sitemap_index(self.catalog, self.base, self.sitemap_chunk)
        return Response(200, body, XML)

    def _sitemap_products(self, match: re.Match[str], *_: object) -> Response:
        number = int(match["n"])
        if bool(match["gz"]) != (number > 1):  # chunk 1 is .xml, the others .xml.gz
            return self._not_found("sitemap")
        ghosts = self.injector.plan.missing if self.injector.enabled else ()
        body = feeds.sitemap_products(self.catalog, self.base, number, self.sitemap_chunk, ghosts)
        if body is None:
            return self._not_found("sitemap")
        if number > 1:
            return Response(200, body, "application/x-gzip", compress=False)
        return Response(200, body, XML)

    def _sitemap_collections(self, *_: object) -> Response:
        paths = [f"/collections/{slug}" for slug in self.catalog.collections]
        return Response(200, feeds.sitemap_urls(self.base, paths), XML)

    def _sitemap_pages(self, *_: object) -> Response:
        return Response(200, feeds.sitemap_urls(self.base, ["/", "/pages/about"]), XML)

    # -- images --------------------------------------------------------------------------------
    def _image(
        self, match: re.Match[str], query: dict[str, list[str]], headers: Mapping[str, str]
    ) -> Response:
        product = self.catalog.get(match["handle"])
        n = int(match["n"])
        if product is None or not 1 <= n <= len(product.images):
            return self._not_found("image")
        failed = self._fault(self.injector.for_image(product.handle, n))
        if failed:
            return failed
        width = _int(query, "width", 0) or None
        size = self.renderer.size_for(width)
        etag = f'"{_digest(self.catalog.seed, product.handle, product.version, n, *size)}"'
        cache = {"Cache-Control": "public, max-age=86400"}
        if _not_modified(headers, etag, product.updated_at):
            return Response(304, etag=etag, last_modified=product.updated_at, headers=cache)
        body = self.renderer.jpeg(product, n, width)
        return Response(200, body, "image/jpeg", cache, etag=etag,
                        last_modified=product.updated_at, compress=False)  # fmt: skip
