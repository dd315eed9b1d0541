"""Generic product extraction: no per-site code.

`extract(html, url)` runs every source on the page and merges them field by field in order of
reliability (see `merge.py`): Shopify storefront JSON > schema.org JSON-LD > microdata > Open
Graph > embedded JSON state > per-crawler CSS selectors > heuristics. It never raises on page
content: garbage gives an Extraction with an empty product (`ok` False). Only invalid crawler
selectors raise (InvalidInput), because that is a configuration error, not a page problem.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from studiolab.crawl.extract import embedded, heuristics, opengraph, schema, shopify
from studiolab.crawl.extract import selectors as selector_source
from studiolab.crawl.extract.merge import Partial, merge, open_fields
from studiolab.crawl.extract.page import Page, decode_html, load_page
from studiolab.crawl.extract.selectors import validate_selectors
from studiolab.crawl.extract.shopify import extract_shopify
from studiolab.crawl.extract.structured import jsonld_nodes, microdata_nodes
from studiolab.crawl.product import Extraction, Product
from studiolab.domain.errors import InvalidInput

__all__ = [
    "Extraction",
    "Product",
    "decode_html",
    "extract",
    "extract_page",
    "extract_shopify",
    "validate_selectors",
]
log = logging.getLogger(__name__)


def _jsonld(page: Page) -> Partial | None:
    return schema.from_nodes("jsonld", jsonld_nodes(page), page)


def _microdata(page: Page) -> Partial | None:
    return schema.from_nodes("microdata", microdata_nodes(page), page)


SOURCES: tuple[tuple[str, Callable[[Page], Partial | None]], ...] = (
    ("shopify", shopify.from_page),
    ("jsonld", _jsonld),
    ("microdata", _microdata),
    ("og", opengraph.from_page),
    ("embedded", embedded.from_page),
)  # then heuristics, for what these left open (see extract_page)


def extract(
    html: str | bytes,
    url: str,
    *,
    selectors: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> Extraction:
    """The product on one HTML page. `url` is the page's URL (base for relative links and the
    variant/sku query); `encoding` overrides detection for bytes (e.g. from Content-Type)."""
    if selectors:
        validate_selectors(selectors)  # fail fast on configuration errors
    return extract_page(load_page(html, url, encoding), selectors=selectors)


def extract_page(page: Page, *, selectors: Mapping[str, str] | None = None) -> Extraction:
    """`extract` on a parsed page (the crawl engine parses a page once for extraction and
    link discovery). Heuristics run last, asked only for what the other sources left open."""
    url = page.url
    partials: list[Partial] = []
    for name, source in SOURCES:
        try:
            found = source(page)
        except MemoryError:
            raise
        except Exception:  # one source failing on hostile markup never costs the others
            log.warning("extract source %s failed on %s", name, url, exc_info=True)
            continue
        if found is not None:
            partials.append(found)
    if selectors:
        try:
            found = selector_source.from_page(page, selectors)
        except InvalidInput:
            raise
        except Exception:
            log.warning("extract selectors failed on %s", url, exc_info=True)
            found = None
        if found is not None:
            partials.append(found)
    try:
        found = heuristics.from_page(page, open_fields(partials, "heuristics"))
    except MemoryError:
        raise
    except Exception:
        log.warning("extract source heuristics failed on %s", url, exc_info=True)
        found = None
    if found is not None:
        partials.append(found)
    extraction = merge(partials)
    if extraction.product.url is None and url.startswith(("http://", "https://")):
        extraction.product.url = url.split("#", 1)[0]  # no canonical anywhere: the page itself
    return extraction
