"""Discovery: robots.txt sitemaps, sitemaps (urlset, sitemapindex, gzip, plain text, RSS/Atom),
listing pages (product links, pagination), product-URL rules, Shopify collection endpoints,
and URL dedup (`canonicalize` is `crawl.urls.canonicalize`). Pure parsing: fetching is
`crawl/fetch.py`'s job.

Product-URL rules (`is_product_url`), any one is enough, on http(s) URLs whose path does not
end in a static-file suffix (.jpg, .css, .js, .json, .xml, ...) and is not an account, cart,
checkout, search, blog or help page:
- Shopify:       `/products/<handle>` (also under `/collections/<c>/products/<handle>`)
- path segments: `/p/<x>`, `/product/<x>`, `/produkt/`, `/produit/`, `/prodotto/`, `/producto/`,
                 `/produto/`, `/dp/<x>`, `/prd/<x>`, `/pd/<x>`, `/item/<x>`, `/products/<x>`
- suffix ids:    `-p-123`, `-p123456` (`.html` or not), `/p123456`, `productpage.<id>`
- Magento-ish:   a last segment `<slug>.html` whose slug has a sku-like token (letters and
                 digits mixed, or 4+ digits) and at least two words
- query ids:     `product_id=`, `products_id=`, `productId=`, `pid=`
"""

from __future__ import annotations

import functools
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import etree
from protego import Protego

from studiolab.crawl.extract.dom import css_or_xpath
from studiolab.crawl.extract.page import Page, load_page
from studiolab.crawl.extract.selectors import validate_selectors
from studiolab.crawl.urls import canonicalize  # one dedup key for the whole crawler
from studiolab.domain.errors import PayloadTooLarge

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # decompressed, per the sitemaps.org limit
MAX_SITEMAP_URLS = 50_000
STATIC_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".avif",
    ".svg",
    ".ico",
    ".css",
    ".js",
    ".json",
    ".xml",
    ".pdf",
    ".zip",
    ".gz",
    ".txt",
    ".mp4",
    ".woff",
    ".woff2",
    ".atom",
    ".rss",
)
NOT_PRODUCT_SEGMENTS = frozenset(
    {
        "account",
        "cart",
        "checkout",
        "search",
        "blog",
        "blogs",
        "news",
        "help",
        "pages",
        "login",
        "register",
        "wishlist",
        "cdn",
        "static",
        "assets",
        "media",
        "wp-content",
        "policies",
        "customer",
        "customers",
        "compare",
        "tag",
        "tags",
        "author",
    }
)
_PRODUCT_PATHS = (
    re.compile(r"/products?/[^/]+", re.I),
    re.compile(r"/(?:p|dp|prd|pd|item|produkt|produit|prodotto|producto|produto)/[^/]+", re.I),
    re.compile(r"-p-?\d{3,}(?:\.html?)?/?$", re.I),
    re.compile(r"/p\d{5,}(?:\.html?)?/?$", re.I),
    re.compile(r"productpage\.\d+", re.I),
)
_PRODUCT_QUERY = frozenset({"product_id", "products_id", "productid", "pid"})
_SKU_TOKEN = re.compile(r"^(?=[a-z0-9]*\d)(?=[a-z0-9]*[a-z])[a-z0-9]{3,}$|^\d{4,}$", re.I)
_PAGE_PARAMS = ("page", "p", "pg", "paged", "pagenumber", "page_number", "pagina", "seite")
_PAGE_PATH = re.compile(r"/page/(\d+)/?$", re.I)
_NEXT_WORDS = (
    "next",
    "weiter",
    "suivant",
    "siguiente",
    "successivo",
    "volgende",
    "nästa",
    "\u203a",
    "\u00bb",
    "\u2192",
    ">",
)


@dataclass
class Sitemap:
    urls: list[str] = field(default_factory=list)  # page URLs (<urlset>, text, feeds)
    sitemaps: list[str] = field(default_factory=list)  # child sitemaps (<sitemapindex>)


@dataclass
class Listing:
    product_urls: list[str] = field(default_factory=list)
    next_pages: list[str] = field(default_factory=list)


def dedupe_urls(urls: Iterable[str]) -> list[str]:
    """Canonical URLs, first occurrence kept, order kept."""
    seen: set[str] = set()
    result: list[str] = []
    for url in urls:
        key = canonicalize(url)
        if key not in seen:
            seen.add(key)
            result.append(key)
    return result


@functools.lru_cache(maxsize=32768)  # pure; pages repeat the same links
def is_product_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in {"http", "https"}:
        return False
    path = parts.path
    segments = [s.lower() for s in path.split("/") if s]
    if path.lower().endswith(STATIC_SUFFIXES) and not path.lower().endswith(".html"):
        return False
    if any(s in NOT_PRODUCT_SEGMENTS for s in segments[:2]):
        return False
    query = {k.lower() for k, _ in parse_qsl(parts.query)}
    if query & _PRODUCT_QUERY:
        return True
    if any(pattern.search(path) for pattern in _PRODUCT_PATHS):
        return not path.rstrip("/").lower().endswith(("/products", "/product"))
    if segments and segments[-1].endswith((".html", ".htm")):
        words = segments[-1].rsplit(".", 1)[0].split("-")
        return len(words) >= 2 and any(_SKU_TOKEN.match(w) for w in words)
    return False


def _decompress(body: bytes) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        return body[:MAX_SITEMAP_BYTES]
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_SITEMAP_BYTES + 1)
    except zlib.error:
        return b""  # corrupt gzip: junk
    if len(data) > MAX_SITEMAP_BYTES or inflater.unconsumed_tail:
        raise PayloadTooLarge(
            f"sitemap inflates past {MAX_SITEMAP_BYTES // (1024 * 1024)} MB (gzip bomb?)"
        )
    return data


def _absolute(value: str | None, base: str) -> str | None:
    if not value:
        return None
    joined = urljoin(base, value.strip())
    return joined if urlsplit(joined).scheme in {"http", "https"} else None


def parse_sitemap(body: bytes, url: str) -> Sitemap:
    """Page URLs and child sitemaps of a sitemap document (XML urlset/sitemapindex, gzipped or
    not, plain-text list, RSS/Atom feed). Junk gives an empty Sitemap; a body inflating past
    50 MB raises PayloadTooLarge."""
    data = _decompress(body)
    result = Sitemap()
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        for line in stripped.decode("utf-8", errors="replace").splitlines():
            absolute = _absolute(line, url) if line.strip().startswith("http") else None
            if absolute:
                result.urls.append(absolute)
        result.urls = result.urls[:MAX_SITEMAP_URLS]
        return result
    parser = etree.XMLParser(
        recover=True,
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(stripped, parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        return result
    if root is None:
        return result
    kind = etree.QName(root).localname.lower() if isinstance(root.tag, str) else ""
    if kind == "sitemapindex":
        locs = root.xpath("./*[local-name()='sitemap']/*[local-name()='loc']/text()")
        result.sitemaps = _unique(_absolute(loc, url) for loc in locs)
    elif kind == "urlset":
        locs = root.xpath("./*[local-name()='url']/*[local-name()='loc']/text()")
        result.urls = _unique(_absolute(loc, url) for loc in locs)
    elif kind in {"rss", "feed"}:
        links = root.xpath(
            "//*[local-name()='item']/*[local-name()='link']/text() | "
            "//*[local-name()='entry']/*[local-name()='link']/@href"
        )
        result.urls = _unique(_absolute(link, url) for link in links)
    result.urls = result.urls[:MAX_SITEMAP_URLS]
    result.sitemaps = result.sitemaps[:MAX_SITEMAP_URLS]
    return result


def _unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def robots_sitemaps(robots_txt: str | bytes, base_url: str | None = None) -> list[str]:
    """`Sitemap:` lines of a robots.txt (protego), made absolute against `base_url` if given."""
    if isinstance(robots_txt, bytes):
        robots_txt = robots_txt.decode("utf-8", errors="replace")
    try:
        found = list(Protego.parse(robots_txt).sitemaps)
    except Exception:
        return []
    return _unique(_absolute(s, base_url or s) for s in found)


def _page_number(url: str) -> int | None:
    parts = urlsplit(url)
    for key, value in parse_qsl(parts.query):
        if key.lower() in _PAGE_PARAMS and value.isdigit():
            return int(value)
    match = _PAGE_PATH.search(parts.path)
    return int(match.group(1)) if match else None


def _same_listing(candidate: str, current: str) -> bool:
    a, b = urlsplit(candidate), urlsplit(current)
    path_a, path_b = _PAGE_PATH.sub("", a.path).rstrip("/"), _PAGE_PATH.sub("", b.path).rstrip("/")
    return a.netloc.lower() == b.netloc.lower() and path_a == path_b


def listing_links(
    html: str | bytes,
    url: str,
    *,
    selectors: Mapping[str, str] | None = None,
    page: Page | None = None,
) -> Listing:
    """Product links and next pages of a listing (category, collection, search) page.

    Product links: the `product_link` selector if given, else every `<a href>` that passes
    `is_product_url`. Next pages: the `next_page` selector if given, else `rel=next`
    (`<link>` or `<a>`), "Next"-labelled links, and same-listing links with a higher page
    number (`?page=N`, `?p=N`, `/page/N/`), nearest first. `page`: the already parsed
    `html` (the crawl engine parses a page once for extraction and links)."""
    page = page if page is not None else load_page(html, url)
    sel = page.selector
    clean = validate_selectors(selectors) if selectors else {}
    anchors = [node for node in page.selector.root.iter("a") if node.attrib.get("href") is not None]
    absolute = {h: page.absolute(h) for h in dict.fromkeys(a.attrib["href"] for a in anchors)}
    page.cache["anchors"] = absolute  # href -> absolute URL, for site_links
    if "product_link" in clean:
        hrefs = [_href(node) for node in css_or_xpath(sel, clean["product_link"])]
        products = [page.absolute(h) for h in hrefs if h]
    else:
        products = [absolute[a.attrib["href"]] for a in anchors]
        products = [p for p in products if p and is_product_url(p)]
    next_pages: list[str | None] = []
    if "next_page" in clean:
        next_pages += [page.absolute(_href(n)) for n in css_or_xpath(sel, clean["next_page"])]
    else:
        next_pages += [
            page.absolute(h)
            for h in sel.xpath(
                "//link[contains(concat(' ', normalize-space(@rel), ' '), ' next ')]/@href | "
                "//a[contains(concat(' ', normalize-space(@rel), ' '), ' next ')]/@href"
            ).getall()
        ]
        for anchor in anchors:  # its aria-label and title, then its text (XPath's order)
            label = [v for k, v in anchor.attrib.items() if k in ("aria-label", "title")]
            joined = " ".join(label + list(anchor.itertext())).strip().casefold()
            if joined and (joined in _NEXT_WORDS or joined.startswith(_NEXT_WORDS[:7])):
                next_pages.append(absolute[anchor.attrib["href"]])
        current = _page_number(url) or 1
        numbered: list[tuple[int, str]] = []
        for anchor in anchors:
            target = absolute[anchor.attrib["href"]]
            number = _page_number(target) if target else None
            if target and number and number > current and _same_listing(target, url):
                numbered.append((number, target))
        next_pages += [t for _, t in sorted(numbered, key=lambda item: item[0])]
    own = canonicalize(url)
    return Listing(
        product_urls=dedupe_urls(p for p in products if p),
        next_pages=[u for u in dedupe_urls(n for n in next_pages if n) if u != own],
    )


def _href(node: object) -> str | None:
    root = getattr(node, "root", None)
    if isinstance(root, str):
        return root.strip()
    attrib = getattr(node, "attrib", {})
    return attrib.get("href") or attrib.get("data-href") or attrib.get("data-url")


def shopify_products_json_url(
    base: str, page: int = 1, *, collection: str | None = None, limit: int = 250
) -> str:
    """`/products.json` or `/collections/<handle>/products.json` with page and limit (≤ 250)."""
    path = f"/collections/{collection}/products.json" if collection else "/products.json"
    query = urlencode({"limit": max(1, min(limit, 250)), "page": max(page, 1)})
    return f"{urljoin(base, path)}?{query}"


def shopify_collection_urls(
    base: str, *, collection: str | None = None, pages: int = 1, limit: int = 250
) -> list[str]:
    """The first `pages` products.json pages of a shop or collection. A crawler walks on
    (page N+1) until a page returns no products. `base` may be any URL of the shop, or a
    collection URL (`/collections/<handle>`, whose handle is then used)."""
    if collection is None:
        match = re.search(r"/collections/([^/?#]+)", urlsplit(base).path)
        collection = match.group(1) if match else None
    return [
        shopify_products_json_url(base, n, collection=collection, limit=limit)
        for n in range(1, max(pages, 1) + 1)
    ]


def shopify_product_js_url(product_url: str) -> str | None:
    """`/products/<handle>` (any prefix, any query) -> `/products/<handle>.js`, else None."""
    parts = urlsplit(product_url)
    match = re.search(r"/products/([^/?#.]+)/?$", parts.path)
    if not match:
        return None
    return urlunsplit((parts.scheme, parts.netloc, f"/products/{match.group(1)}.js", "", ""))


def shopify_product_entries(
    json_doc: bytes | str | dict[str, object], base: str
) -> dict[str, str | None]:
    """Product page URL -> its `updated_at` (None when absent or not a string) for every
    product of a products.json document, in document order (empty = last page)."""
    if isinstance(json_doc, bytes | str):
        try:
            json_doc = json.loads(json_doc)
        except ValueError:
            return {}
    products = json_doc.get("products") if isinstance(json_doc, dict) else None
    if not isinstance(products, list):
        return {}
    entries: dict[str, str | None] = {}
    for product in products:
        if isinstance(product, dict) and isinstance(product.get("handle"), str):
            url = urljoin(base, f"/products/{product['handle']}")
            updated = product.get("updated_at")
            entries.setdefault(url, updated[:64] if isinstance(updated, str) else None)
    return entries


def shopify_product_urls(json_doc: bytes | str | dict[str, object], base: str) -> list[str]:
    """Product page URLs listed in a products.json document (empty list = last page)."""
    return _unique(shopify_product_entries(json_doc, base))


__all__ = [
    "Listing",
    "Sitemap",
    "canonicalize",
    "dedupe_urls",
    "is_product_url",
    "listing_links",
    "parse_sitemap",
    "robots_sitemaps",
    "shopify_collection_urls",
    "shopify_product_entries",
    "shopify_product_js_url",
    "shopify_product_urls",
    "shopify_products_json_url",
]
