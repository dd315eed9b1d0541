"""Embedded JSON state: `__NEXT_DATA__`, other `application/json` scripts, and JS assignments
(`window.__INITIAL_STATE__ = {...}`, `var productData = JSON.parse("...")`,
`dataLayer.push({...})`). The product is found heuristically: the dict with a name and a
price (or sku) that scores best; a dict naming this page's URL wins, list members lose."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from studiolab.crawl.extract import schema
from studiolab.crawl.extract.jsonparse import json_at
from studiolab.crawl.extract.merge import Partial
from studiolab.crawl.extract.normalize import (
    availability,
    currency_code,
    dedupe_images,
    format_decimal,
    parse_price,
    srcset_largest,
    text,
    unique_texts,
)
from studiolab.crawl.extract.page import Page
from studiolab.crawl.extract.shopify import is_shopify_product

MAX_BLOBS = 40
MAX_WALK = 40_000
_ASSIGN = re.compile(
    r"(?:\b(?:window|self|globalThis)\s*\.\s*[A-Za-z_$][\w$]*|\b(?:var|let|const)\s+[A-Za-z_$][\w$]*"
    r"|\bdataLayer\.push\(|\b__[A-Z][A-Z0-9_]*__)\s*=?\s*"
)
NAME_KEYS = ("name", "title", "productName", "product_name", "item_name", "displayName")
PRICE_KEYS = (
    "salePrice",
    "sale_price",
    "currentPrice",
    "current_price",
    "finalPrice",
    "final_price",
    "sellingPrice",
    "offerPrice",
    "price",
    "priceValue",
    "unitPrice",
    "item_price",
    "lowPrice",
    "minPrice",
    "price_amount",
)
CENT_KEYS = ("priceInCents", "price_in_cents", "priceCents", "price_cents", "amountInCents")
INNER_PRICE_KEYS = (
    "current",
    "sale",
    "final",
    "value",
    "amount",
    "price",
    "raw",
    "formatted",
    "centAmount",
    "amountInCents",
)
CURRENCY_KEYS = ("currency", "currencyCode", "priceCurrency", "currency_code", "currencyIso")
SKU_KEYS = (
    "sku",
    "skuId",
    "sku_id",
    "productSku",
    "articleNumber",
    "article_number",
    "styleNumber",
    "style_number",
    "item_id",
    "productCode",
    "product_code",
    "mpn",
)
BRAND_KEYS = ("brand", "brandName", "brand_name", "item_brand", "vendor", "manufacturer")
STOCK_KEYS = (
    "availability",
    "stockStatus",
    "stock_status",
    "inStock",
    "in_stock",
    "isInStock",
    "available",
    "isAvailable",
    "availabilityStatus",
    "inventoryStatus",
    "stock",
)
IMAGE_KEYS = (
    "images",
    "image",
    "imageUrl",
    "image_url",
    "media",
    "gallery",
    "pictures",
    "photos",
    "mainImage",
)
IMAGE_URL_KEYS = ("zoom", "large", "original", "full", "url", "src", "href", "contentUrl")
CATEGORY_KEYS = ("breadcrumbs", "breadcrumb", "categoryPath", "category", "item_category")
DESCRIPTION_KEYS = ("description", "descriptionHtml", "longDescription", "shortDescription")


def blobs(page: Page) -> Iterator[Any]:
    count = 0
    for script in page.selector.xpath(
        "//script[contains(@type, 'json') and not(contains(@type, 'ld+json'))]/text()"
    ).getall():
        try:
            yield json.loads(script, strict=False)
            count += 1
        except (ValueError, RecursionError):
            continue
        if count >= MAX_BLOBS:
            return
    for script in page.selector.xpath(
        "//script[not(@type) or contains(@type, 'javascript')]/text()"
    ).getall():
        for match in _ASSIGN.finditer(script):
            value = json_at(script, match.end())
            if isinstance(value, dict | list):
                yield value
                count += 1
                if count >= MAX_BLOBS:
                    return


def _get(node: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = node.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _price(node: dict[str, Any], depth: int = 0) -> tuple[str | None, str | None]:
    currency = currency_code(_get(node, CURRENCY_KEYS))
    if "centAmount" in node and isinstance(node["centAmount"], int):  # commercetools money
        digits = node.get("fractionDigits", 2)
        digits = digits if isinstance(digits, int) and 0 <= digits < 6 else 2
        amount = Decimal(node["centAmount"]).scaleb(-digits)
        return format_decimal(amount), currency
    cents = _get(node, CENT_KEYS)
    if isinstance(cents, int):
        return parse_price(cents, cents=True)[0], currency
    for key in PRICE_KEYS if depth == 0 else INNER_PRICE_KEYS:
        value = node.get(key)
        if isinstance(value, dict) and depth < 2:
            price, inner_currency = _price(value, depth + 1)
        elif isinstance(value, int | float | str) and not isinstance(value, bool):
            price, inner_currency = parse_price(value)
        else:
            continue
        if price:
            return price, currency or inner_currency
    return None, currency


def _image(value: Any, page: Page) -> str | None:
    if isinstance(value, dict):
        srcset = value.get("srcset") or value.get("srcSet")
        if isinstance(srcset, str) and srcset_largest(srcset):
            return page.absolute(srcset_largest(srcset))
        value = _get(value, IMAGE_URL_KEYS)
        if isinstance(value, dict):
            value = _get(value, IMAGE_URL_KEYS)
    return page.absolute(value) if isinstance(value, str) else None


def _named(values: Any) -> list[Any]:
    items = values if isinstance(values, list) else [values]
    return [
        i.get("name") or i.get("label") or i.get("value") if isinstance(i, dict) else i
        for i in items
    ]


def _variant_values(node: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    values: list[Any] = []
    for key in keys:
        if key in node:
            values.extend(_named(node[key]))
    for variant in node.get("variants") or []:
        if isinstance(variant, dict):
            values.extend(_named(_get(variant, keys)))
    return unique_texts(v for v in values if isinstance(v, str | int))


def _walk(value: Any) -> Iterator[tuple[dict[str, Any], int, bool, str | None]]:
    stack: list[tuple[Any, int, bool, str | None]] = [(value, 0, False, None)]
    seen = 0
    while stack and seen < MAX_WALK:
        node, depth, in_list, currency = stack.pop()
        seen += 1
        if isinstance(node, list):
            stack.extend((v, depth + 1, len(node) > 1, currency) for v in reversed(node[:500]))
        elif isinstance(node, dict) and depth < 30 and not is_shopify_product(node):
            # (Shopify product JSON is the Shopify source's: its variants' cents would mislead)
            currency = currency_code(_get(node, CURRENCY_KEYS)) or currency
            yield node, depth, in_list, currency
            stack.extend((v, depth + 1, in_list, currency) for v in reversed(node.values()))


def _score(node: dict[str, Any], page: Page, depth: int, in_list: bool) -> int:
    name = _get(node, NAME_KEYS)
    if not isinstance(name, str) or not 1 < len(name) < 300:
        return -1
    has_price = _price(node)[0] is not None or "offers" in node
    has_sku = isinstance(_get(node, SKU_KEYS), str | int)
    if not (has_price or has_sku):
        return -1
    score = 3 + 3 * has_price + 2 * has_sku
    score += sum(_get(node, keys) is not None for keys in (IMAGE_KEYS, BRAND_KEYS, STOCK_KEYS))
    matched = any(
        isinstance(value, str) and len(value) > 2 and value.strip("/") in page.url
        for value in (node.get(k) for k in ("url", "slug", "handle", "canonicalUrl", "href"))
    )
    if in_list and not matched:
        return -1  # one of many (a listing, recommendations): not this page's product
    return (score + 6 * matched) * 10 - min(depth, 9)


def _breadcrumb(value: Any) -> str | None:
    if isinstance(value, list):
        names = unique_texts(_named(value))
        if names and names[0].casefold() in schema.HOME_CRUMBS:
            names = names[1:]
        return " > ".join(names) or None
    return text(_named(value)[0]) if isinstance(value, dict) else text(value)


def from_page(page: Page) -> Partial | None:
    best: tuple[int, dict[str, Any], str | None] | None = None
    for blob in blobs(page):
        for node, depth, in_list, currency in _walk(blob):
            score = _score(node, page, depth, in_list)
            if score >= 0 and (best is None or score > best[0]):
                best = (score, node, currency)
    if best is None:
        return None
    _, node, inherited_currency = best
    if "offers" in node and not _price(node)[0]:  # schema.org-shaped state
        partial = schema.from_nodes("embedded", [{"@type": "Product", **node}], page)
        return partial
    partial = Partial("embedded", declared=True)
    name = text(_get(node, NAME_KEYS))
    partial.set("name", name)
    brand = _get(node, BRAND_KEYS)
    partial.set("brand", text(brand.get("name") if isinstance(brand, dict) else brand))
    price, currency = _price(node)
    partial.set("price", price)
    partial.set("currency", currency or inherited_currency)
    sku = _get(node, SKU_KEYS)
    partial.set("sku", text(sku) if isinstance(sku, str | int) else None)
    stock = _get(node, STOCK_KEYS)
    partial.set("availability", availability(stock) if isinstance(stock, str | bool) else None)
    images = _get(node, IMAGE_KEYS)
    partial.set(
        "images",
        dedupe_images(_image(i, page) for i in (images if isinstance(images, list) else [images])),
    )
    partial.set("colors", _variant_values(node, ("color", "colour", "colorName", "colors")))
    partial.set("sizes", _variant_values(node, ("size", "sizes", "availableSizes")))
    partial.set("category", _breadcrumb(_get(node, CATEGORY_KEYS)))
    description = text(_get(node, DESCRIPTION_KEYS))
    partial.set("description", description)
    url = node.get("url") or node.get("canonicalUrl")
    if isinstance(url, str) and url.startswith(("http", "/")):
        partial.set("url", page.absolute(url))
    partial.set(
        "texts", {k: v for k, v in {"title": name, "description": description}.items() if v}
    )
    return partial
