"""Other on-site links of a page (home -> categories -> listings), for shops with neither a
sitemap nor Shopify JSON: the crawl engine follows them breadth-first up to a depth limit,
within the crawler's allowed_domains (the engine filters hosts; this is pure parsing).

A link is kept when it is http(s), not a static file, not an account / cart / checkout /
search / blog / help page (`discover.NOT_PRODUCT_SEGMENTS`), not `rel=nofollow`, and its
query is empty or only a page number (`?page=2`): sort orders and facet filters
(`?sort_by=price`, `?color=red&size=m`) multiply one listing into thousands of URLs.
Product URLs and next pages are `discover.listing_links`' job and are not repeated here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

from studiolab.crawl.discover import (
    _PAGE_PARAMS,
    NOT_PRODUCT_SEGMENTS,
    STATIC_SUFFIXES,
    dedupe_urls,
    is_product_url,
)
from studiolab.crawl.extract.page import Page
from studiolab.crawl.urls import canonicalize

MAX_LINKS_PER_PAGE = 500


@functools.lru_cache(maxsize=32768)  # pure; pages repeat the same links
def followable(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https"):
        return False
    path = parts.path.lower()
    if path.endswith(STATIC_SUFFIXES):
        return False
    segments = [s for s in path.split("/") if s]
    if any(s in NOT_PRODUCT_SEGMENTS for s in segments[:2]):
        return False
    keys = {key.lower() for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    return keys <= set(_PAGE_PARAMS)


def site_links(page: Page, exclude: Iterable[str] = ()) -> list[str]:
    """Canonical URLs of the page's followable links that are not product URLs, in document
    order, without the page itself and `exclude` (canonical URLs; at most MAX_LINKS_PER_PAGE)."""
    cached = page.cache.get("anchors")  # href -> absolute, left by listing_links
    candidates: list[str] = []
    for anchor in page.selector.root.iter("a"):
        href = anchor.attrib.get("href")
        if href is None or "nofollow" in (anchor.attrib.get("rel") or "").lower():
            continue
        url = cached.get(href) if cached is not None and href in cached else page.absolute(href)
        if url and followable(url) and not is_product_url(url):
            candidates.append(url)
        if len(candidates) >= 4 * MAX_LINKS_PER_PAGE:
            break
    skip = {canonicalize(page.url), *exclude}  # (listing_links' URLs are canonical)
    return [url for url in dedupe_urls(candidates) if url not in skip][:MAX_LINKS_PER_PAGE]


__all__ = ["MAX_LINKS_PER_PAGE", "followable", "site_links"]
