"""Small DOM helpers on parsel selectors: visible text, the best image URL of an element,
availability words in text, prices in text."""

from __future__ import annotations

import re

from parsel import Selector

from studiolab.crawl.extract.normalize import srcset_largest, text

# Explicit "large image" attributes (WooCommerce, zoom plugins) beat srcset beats lazy src.
LARGE_IMAGE_ATTRS = (
    "data-large_image",
    "data-zoom-image",
    "data-zoom",
    "data-full",
    "data-original",
    "data-large",
)
SRCSET_ATTRS = ("srcset", "data-srcset")
SRC_ATTRS = ("data-src", "data-lazy-src", "data-lazy", "src", "href", "content")
_STOCK_WORDS = (
    ("sold out", "SoldOut"),
    ("ausverkauft", "SoldOut"),
    ("épuisé", "SoldOut"),
    ("agotado", "SoldOut"),
    ("esaurito", "SoldOut"),
    ("out of stock", "OutOfStock"),
    ("not in stock", "OutOfStock"),
    ("no stock", "OutOfStock"),
    ("not available", "OutOfStock"),
    ("unavailable", "OutOfStock"),
    ("nicht verfügbar", "OutOfStock"),
    ("nicht auf lager", "OutOfStock"),
    ("rupture de stock", "OutOfStock"),
    ("pre-order", "PreOrder"),
    ("preorder", "PreOrder"),
    ("pre order", "PreOrder"),
    ("backorder", "BackOrder"),
    ("back order", "BackOrder"),
    ("discontinued", "Discontinued"),
    ("only a few left", "LimitedAvailability"),
    ("low stock", "LimitedAvailability"),
    ("in stock", "InStock"),
    ("auf lager", "InStock"),
    ("lieferbar", "InStock"),
    ("en stock", "InStock"),
    ("disponible", "InStock"),
    ("disponibile", "InStock"),
    ("available", "InStock"),
    ("add to cart", "InStock"),
    ("add to bag", "InStock"),
)
CURRENCY_MARK = r"(?:€|£|\$|¥|₹|₩|₽|₺|₪|zł|kr|Kč|CHF|EUR|USD|GBP|SEK|NOK|DKK|PLN|CZK|AUD|CAD|JPY)"
PRICE_IN_TEXT = re.compile(
    rf"{CURRENCY_MARK}\s?\d[\d.,'\u00a0\u202f ]*\d?|\d[\d.,'\u00a0\u202f ]*\s?{CURRENCY_MARK}"
)


def element_text(element: Selector) -> str | None:
    root = element.root
    if isinstance(root, str):
        return text(root)
    tag = getattr(root, "tag", "")
    if tag == "meta":
        return text(element.attrib.get("content"))
    if (
        tag in {"input", "option"}
        and element.attrib.get("value")
        and not element.xpath("normalize-space(.)").get()
    ):
        return text(element.attrib.get("value"))
    return text(
        " ".join(
            element.xpath(".//text()[not(ancestor::script) and not(ancestor::style)]").getall()
        )
    )


def element_image(element: Selector) -> str | None:
    """Largest candidate of an <img>/<source>/<a>/<meta>: zoom attrs, srcset, lazy src, src."""
    root = element.root
    if isinstance(root, str):
        return text(root)
    attrs = element.attrib
    for name in LARGE_IMAGE_ATTRS:
        if attrs.get(name):
            return attrs[name].strip()
    for name in SRCSET_ATTRS:
        largest = srcset_largest(attrs.get(name))
        if largest:
            return largest
    if getattr(root, "tag", "") == "picture" or not any(attrs.get(n) for n in SRC_ATTRS):
        inner = element.xpath(".//source/@srcset | .//img/@srcset | .//img/@data-srcset").get()
        if inner and srcset_largest(inner):
            return srcset_largest(inner)
        inner_src = element.xpath(".//img/@data-src | .//img/@src").get()
        if inner_src:
            return inner_src.strip()
    for name in SRC_ATTRS:
        value = attrs.get(name)
        if value and not value.startswith("data:"):
            return value.strip()
    return None


def availability_from_text(value: str | None) -> str | None:
    lowered = (value or "").casefold()
    if not lowered or len(lowered) > 200:
        return None
    for word, name in _STOCK_WORDS:
        if word in lowered:
            return name
    return None


def css_or_xpath(selector: Selector, query: str) -> list[Selector]:
    """`xpath:` prefix means XPath, anything else is CSS (parsel's ::text / ::attr() work)."""
    if query.startswith("xpath:"):
        return list(selector.xpath(query[len("xpath:") :]))
    return list(selector.css(query))
