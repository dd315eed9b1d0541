"""Where a crawl run looks for pages: its seed and the links it follows.

Seed (first batch): the start URLs; per origin, robots.txt is read first (its Crawl-delay
paces everything after it) and
- a start URL at the site's root ("/") opens the whole shop: robots.txt's sitemaps (else
  /sitemap.xml) and, for the auto and shopify strategies, /products.json;
- a Shopify collection start URL (`/collections/<handle>`) opens that collection's
  products.json only; any other start URL (a category, a listing) is crawled from the page
  itself: its products, its pagination and its on-site links. A crawler scoped to
  "flare skirts" does not crawl the whole shop's sitemap.
Pages then spread breadth-first: product links and next pages (rel=next, page numbers) at any
depth, other on-site links (home -> categories -> listings, `crawl.links.site_links`) while
the page's depth is below `max_depth` and only below a start URL's path (a crawler started
at /women/skirts follows /women/skirts/flare, not /men; one started at / follows all);
always within allowed_domains. Depth: start URLs 0,
pages listed by a sitemap or products.json 1, a linked page its page's + 1, a next page its
listing's. products.json and sitemaps go first: they know every product and the totals; once
they have listed products, other on-site links wait until the frontier has run dry (a
sitemap may be partial, but it is not crawled twice over listings first).
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

from studiolab.crawl.fetch_errors import FetchError
from studiolab.crawl.fetch_types import Fetcher
from studiolab.domain.models import Crawler
from studiolab.services.crawl_extract import PageAnalysis
from studiolab.services.crawl_state import FrontierEntry, RunState

_COLLECTION = re.compile(r"^/collections/([^/?#]+)")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def allowed(crawler: Crawler, url: str) -> bool:
    host = _host(url)
    return any(host == d or host.endswith("." + d) for d in crawler.allowed_domains)


@functools.lru_cache(maxsize=65536)  # pure; every link of every page is asked
def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def collection_of(url: str) -> str | None:
    """The handle of a Shopify collection URL or collection products.json, else None."""
    match = _COLLECTION.match(urlsplit(url).path)
    handle = match.group(1) if match else None
    return handle if handle and handle not in ("all", "products.json") else None


def products_json_url(url: str, page: int, limit: int) -> str:
    """Page `page` of the shop's (or `url`'s collection's) products.json."""
    from studiolab.crawl.discover import shopify_products_json_url

    return shopify_products_json_url(url, page, collection=collection_of(url), limit=limit)


def seed(state: RunState, crawler: Crawler, fetcher: Fetcher, shopify_limit: int) -> None:
    for url in crawler.start_urls:
        state.enqueue(url, "sitemap" if url.endswith((".xml", ".xml.gz")) else "page")
    shopify = crawler.strategy in ("auto", "shopify")
    by_origin: dict[str, list[str]] = {}
    for url in crawler.start_urls:
        by_origin.setdefault(origin(url), []).append(url)
    for site, urls in by_origin.items():
        whole = any(urlsplit(url).path in ("", "/") for url in urls)
        if shopify:
            for url in [f"{site}/"] if whole else urls:
                if whole or collection_of(url):
                    state.enqueue(products_json_url(url, 1, shopify_limit), "products_json", 1)
        try:
            # the fetcher's own robots.txt copy: a second request before Crawl-delay is
            # known would break it
            sitemaps = fetcher.sitemaps(f"{site}/")
            state.tally["pages_ok"] += 1
        except FetchError as error:
            sitemaps = []
            state.page_failed(error)
        if whole:
            for sitemap in sitemaps or [f"{site}/sitemap.xml"]:
                if allowed(crawler, sitemap):
                    state.enqueue(sitemap, "sitemap")
    state.frontier.sort(key=lambda entry: entry.kind == "page")
    state.seeded = True


def in_scope(crawler: Crawler, url: str) -> bool:
    """Is `url` at or below the path of one of the crawler's start URLs (same host)?"""
    parts = urlsplit(url)
    for start in crawler.start_urls:
        base = urlsplit(start)
        if base.netloc.lower() != parts.netloc.lower():
            continue
        prefix = base.path.rstrip("/")
        if not prefix or parts.path.rstrip("/") == prefix or parts.path.startswith(prefix + "/"):
            return True
    return False


def follow(
    state: RunState,
    crawler: Crawler,
    entry: FrontierEntry,
    analysis: PageAnalysis,
    max_depth: int,
) -> None:
    """Queue what a page links to (see the module docstring for the depth rules)."""
    for url in analysis.product_urls:
        if allowed(crawler, url):
            state.enqueue(url, depth=entry.depth + 1)
    for url in analysis.next_pages:
        if allowed(crawler, url):
            state.enqueue(url, depth=entry.depth)
    if entry.depth < max_depth:
        defer = bool(state.known_products)  # a feed lists the products: links last
        for url in analysis.links:
            if allowed(crawler, url) and in_scope(crawler, url):
                state.enqueue(url, depth=entry.depth + 1, defer=defer)
