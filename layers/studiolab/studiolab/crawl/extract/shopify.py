"""Shopify storefront JSON: `/products/<handle>.js` (prices in cents), `/products/<handle>.json`
and `/products.json` (prices as decimal strings), the product JSON themes embed in pages
(`<script type="application/json" data-product-json>`, `ProductJson-*`) and the analytics
`var meta = {...}` blob. Shopify's product JSON never names the currency: it comes from the
caller, the page's `Shopify.currency = {"active": "EUR"}`, or another source in the merge."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from studiolab.crawl.extract.jsonparse import json_at, loads_tolerant
from studiolab.crawl.extract.merge import Partial, merge
from studiolab.crawl.extract.normalize import (
    absolute_url,
    availability,
    currency_code,
    dedupe_images,
    parse_price,
    text,
    unique_texts,
)
from studiolab.crawl.extract.page import Page
from studiolab.crawl.product import Extraction

COLOR_OPTIONS = (
    "color",
    "colour",
    "farbe",
    "couleur",
    "colore",
    "kleur",
    "färg",
    "farve",
    "kolor",
    "cor",
    "väri",
    "barva",
)
SIZE_OPTIONS = (
    "size",
    "größe",
    "groesse",
    "grösse",
    "taille",
    "talla",
    "taglia",
    "maat",
    "storlek",
    "størrelse",
    "rozmiar",
    "tamanho",
    "koko",
    "velikost",
)
# `\bvar\s+meta\s*=\s*`, with the \b checked by hand: a leading \b keeps the regex engine
# from its literal-prefix scan (30x slower over a page).
_META = re.compile(r"var\s+meta\s*=\s*")
_WORD = re.compile(r"\w")
_CURRENCY = re.compile(r"Shopify\.currency\s*=\s*")


def is_shopify_product(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    variants = value.get("variants")
    if not (isinstance(variants, list) and variants and isinstance(variants[0], dict)):
        return False
    if "price" not in variants[0]:
        return False
    return any(key in value for key in ("handle", "vendor", "product_type", "body_html"))


def _option_values(product: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    values: list[Any] = []
    options = product.get("options") or []
    variants = [v for v in product.get("variants") or [] if isinstance(v, dict)]
    for position, option in enumerate(options, start=1):
        name = option.get("name") if isinstance(option, dict) else option
        label = (text(name) or "").casefold()
        if not any(word in label for word in names):
            continue
        if isinstance(option, dict) and isinstance(option.get("values"), list):
            values.extend(option["values"])
        else:
            values.extend(v.get(f"option{position}") for v in variants)
    return unique_texts(values)


def _url_variant(variants: list[dict[str, Any]], url: str) -> dict[str, Any] | None:
    wanted = re.search(r"[?&]variant=(\d+)", url)
    if wanted:
        for variant in variants:
            if str(variant.get("id")) == wanted.group(1):
                return variant
    return None


def _price_variant(variants: list[dict[str, Any]], url: str) -> dict[str, Any] | None:
    """The variant whose price the page shows: the URL's, else the first available one. When
    availability is unknown (analytics meta) and prices differ, none: we do not guess."""
    chosen = _url_variant(variants, url)
    if chosen or not variants:
        return chosen
    available = [v for v in variants if v.get("available") is True]
    if available:
        return available[0]
    if any("available" in v for v in variants) or len({str(v.get("price")) for v in variants}) == 1:
        return variants[0]
    return None


def _image_url(value: Any, url: str) -> str | None:
    if isinstance(value, dict):
        value = value.get("src") or value.get("url")
    return absolute_url(value, url)


def shopify_partial(product: dict[str, Any], url: str, currency: str | None = None) -> Partial:
    """One Shopify product dict (any of the formats) -> Partial("shopify")."""
    partial = Partial("shopify", declared=True)
    variants = [v for v in product.get("variants") or [] if isinstance(v, dict)]
    selected = _price_variant(variants, url)
    name = text(product.get("title"))
    if name is None and variants and variants[0].get("name"):  # analytics meta: "Title - S"
        name = text(str(variants[0]["name"]).split(" - ")[0])
    partial.set("name", name)
    partial.set("brand", text(product.get("vendor")))
    raw_price = selected.get("price") if selected else (None if variants else product.get("price"))
    price, text_currency = parse_price(raw_price, cents=isinstance(raw_price, int))
    partial.set("price", price)
    partial.set("currency", currency_code(currency) or text_currency)
    # sku names the product, so it must be stable: the URL's variant, else the first variant
    # with a sku (not the first available one, which changes with stock).
    url_variant = _url_variant(variants, url)
    partial.set(
        "sku",
        text(url_variant.get("sku") if url_variant else None)
        or next((text(v.get("sku")) for v in variants if text(v.get("sku"))), None),
    )
    if isinstance(product.get("available"), bool):
        partial.set("availability", availability(product["available"]))
    elif any(isinstance(v.get("available"), bool) for v in variants):
        partial.set("availability", availability(any(v.get("available") for v in variants)))
    images = [_image_url(i, url) for i in product.get("images") or []]
    if not images:
        images = [_image_url(product.get("featured_image") or product.get("image"), url)]
    images += [_image_url(v.get("featured_image"), url) for v in variants]
    partial.set("images", dedupe_images(images))
    partial.set("colors", _option_values(product, COLOR_OPTIONS))
    partial.set("sizes", _option_values(product, SIZE_OPTIONS))
    partial.set("category", text(product.get("product_type") or product.get("type")))
    description = text(product.get("body_html") or product.get("description"))
    partial.set("description", description)
    path = product.get("url") or (
        f"/products/{product['handle']}" if product.get("handle") else None
    )
    if path:
        partial.set("url", absolute_url(str(path).split("?")[0], url))
    partial.set("updated_at", text(product.get("updated_at")))
    partial.set(
        "texts", {k: v for k, v in {"title": name, "description": description}.items() if v}
    )
    return partial


def _products(doc: Any) -> tuple[list[dict[str, Any]], bool]:
    """(product dicts, was a list document) of a parsed Shopify JSON document."""
    if isinstance(doc, dict) and isinstance(doc.get("products"), list):
        return [p for p in doc["products"] if is_shopify_product(p)], True
    if isinstance(doc, dict) and is_shopify_product(doc.get("product")):
        return [doc["product"]], False
    if is_shopify_product(doc):
        return [doc], False
    return [], False


def extract_shopify(
    json_doc: Any, url: str, *, currency: str | None = None
) -> Extraction | list[Extraction]:
    """A Shopify storefront document -> one Extraction (`/products/<handle>.js` or `.json`)
    or a list (`/products.json`, `/collections/<handle>/products.json`).

    `json_doc` may be parsed JSON, text or bytes; junk gives an empty Extraction."""
    if isinstance(json_doc, bytes):
        json_doc = json_doc.decode("utf-8", errors="replace")
    if isinstance(json_doc, str):
        try:
            json_doc = loads_tolerant(json_doc)
        except ValueError:
            json_doc = None
    products, is_list = _products(json_doc)
    results = [merge([shopify_partial(p, url, currency)]) for p in products]
    if is_list:
        return results
    return results[0] if results else Extraction()


def _page_currency(page: Page) -> str | None:
    match = _CURRENCY.search(page.text)
    if not match:
        return None
    data = json_at(page.text, match.end())
    return currency_code(data.get("active")) if isinstance(data, dict) else None


def _embedded_products(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for script in page.selector.xpath(
        "//script[contains(@type, 'json') and not(contains(@type, 'ld+json'))"
        " and not(@id='__NEXT_DATA__')]/text()"
    ).getall()[:50]:
        try:
            data = json.loads(script, strict=False)
        except ValueError:
            continue
        candidates = [data] + (list(data.values()) if isinstance(data, dict) else [])
        found.extend(c for c in candidates if is_shopify_product(c))
    for match in _META.finditer(page.text):
        if match.start() and _WORD.match(page.text, match.start() - 1):
            continue  # (not at a word boundary)
        data = json_at(page.text, match.end())
        if isinstance(data, dict) and is_shopify_product(data.get("product")):
            found.append(data["product"])
    return found


def from_page(page: Page) -> Partial | None:
    """The Shopify product JSON a theme embeds, best (most complete) first."""
    products = _embedded_products(page)
    if not products:
        return None
    currency = _page_currency(page)
    # The theme's full product JSON beats the analytics meta (no title, no images).
    products.sort(key=lambda p: -sum(k in p for k in ("title", "handle", "images", "options")))
    own = [p for p in products if _handle_matches(p, page.url)]
    return shopify_partial((own or products)[0], page.url, currency)


def _handle_matches(product: dict[str, Any], url: str) -> bool:
    handle = product.get("handle")
    return bool(handle) and urlsplit(url).path.rstrip("/").endswith(f"/products/{handle}")
