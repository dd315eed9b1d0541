"""Per-crawler CSS selectors (parsel). Keys: the product fields below plus `product_link` and
`next_page` (used by discovery). A value is CSS (parsel's `::text` and `::attr(x)` work) or
XPath with an `xpath:` prefix. Elements yield their text, `<meta>` its content, `<img>` its
largest candidate (for `image`). In the merge, selectors beat heuristics, not structured data.
"""

from __future__ import annotations

from collections.abc import Mapping

from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from studiolab.crawl.extract.dom import (
    availability_from_text,
    css_or_xpath,
    element_image,
    element_text,
)
from studiolab.crawl.extract.merge import Partial
from studiolab.crawl.extract.normalize import (
    availability,
    currency_code,
    dedupe_images,
    parse_price,
    unique_texts,
)
from studiolab.crawl.extract.page import Page
from studiolab.crawl.extract.schema import trim_crumbs
from studiolab.domain.errors import InvalidInput
from studiolab.domain.models import SELECTOR_FIELDS

# The crawler model owns the list of selector keys; these split it by use.
SELECTOR_KEYS = frozenset(SELECTOR_FIELDS)
DISCOVERY_KEYS = frozenset({"product_link", "next_page"})
PRODUCT_KEYS = SELECTOR_KEYS - DISCOVERY_KEYS


def validate_selectors(selectors: Mapping[str, str] | None) -> dict[str, str]:
    """Known keys and compilable CSS/XPath, else InvalidInput naming each bad key."""
    problems: dict[str, str] = {}
    clean: dict[str, str] = {}
    probe = Selector(text="<html></html>")
    for key, query in (selectors or {}).items():
        if key not in SELECTOR_KEYS:
            known = ", ".join(sorted(SELECTOR_KEYS))
            problems[f"selectors.{key}"] = f"unknown key (known: {known})"
            continue
        if not isinstance(query, str) or not query.strip():
            problems[f"selectors.{key}"] = "must be a non-empty CSS or xpath: selector"
            continue
        try:
            if query.startswith("xpath:"):
                probe.xpath(query[len("xpath:") :])
            else:
                HTMLTranslator().css_to_xpath(query)
        except Exception as error:
            problems[f"selectors.{key}"] = f"invalid selector: {error}"
            continue
        clean[key] = query.strip()
    if problems:
        raise InvalidInput("invalid crawler selectors", fields=problems)
    return clean


def select_texts(selector: Selector, query: str) -> list[str]:
    return [v for v in (element_text(node) for node in css_or_xpath(selector, query)) if v]


def from_page(page: Page, selectors: Mapping[str, str]) -> Partial | None:
    queries = {k: v for k, v in validate_selectors(selectors).items() if k in PRODUCT_KEYS}
    if not queries:
        return None
    partial = Partial("selectors")
    values = {
        key: select_texts(page.selector, query) for key, query in queries.items() if key != "image"
    }
    for key in ("name", "brand", "sku", "description"):
        partial.set(key, next(iter(values.get(key, [])), None))
    currency = currency_code(next(iter(values.get("currency", [])), None))
    for raw in values.get("price", []):
        price, text_currency = parse_price(raw)
        if price:
            partial.set("price", price)
            currency = currency or text_currency
            break
    partial.set("currency", currency)
    stock = next(iter(values.get("availability", [])), None)
    partial.set("availability", availability(stock) or availability_from_text(stock))
    if "image" in queries:
        partial.set(
            "images",
            dedupe_images(
                page.absolute(element_image(node))
                for node in css_or_xpath(page.selector, queries["image"])
            ),
        )
    partial.set("colors", unique_texts(values.get("colors", [])))
    partial.set("sizes", unique_texts(values.get("sizes", [])))
    crumbs: list[tuple[str, str | None]] = [(c, None) for c in values.get("category", [])]
    partial.set(
        "category", " > ".join(trim_crumbs(crumbs, page, partial.fields.get("name"))) or None
    )
    return partial if partial.fields else None
