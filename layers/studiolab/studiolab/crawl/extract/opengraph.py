"""Open Graph and Facebook product tags (`og:*`, `product:*`, `og:price:*`), read from `<meta>`
with either `property=` or `name=` (shops use both)."""

from __future__ import annotations

from studiolab.crawl.extract.merge import Partial
from studiolab.crawl.extract.normalize import (
    availability,
    currency_code,
    dedupe_images,
    parse_price,
    text,
    unique_texts,
)
from studiolab.crawl.extract.page import Page

PREFIXES = ("og:", "product:", "twitter:")


def meta_tags(page: Page) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for meta in page.selector.root.xpath("//meta[@content]")[:2000]:  # (lxml elements)
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key.startswith(PREFIXES):
            value = meta.get("content", "").strip()
            if value:
                tags.setdefault(key, []).append(value)
    return tags


def _first(tags: dict[str, list[str]], *keys: str) -> str | None:
    for key in keys:
        for value in tags.get(key, []):
            cleaned = text(value)
            if cleaned:
                return cleaned
    return None


def from_page(page: Page) -> Partial | None:
    tags = meta_tags(page)
    if not tags:
        return None
    partial = Partial("og", declared="product" in (_first(tags, "og:type") or "").lower())
    partial.set("name", _first(tags, "og:title"))
    partial.set("brand", _first(tags, "product:brand", "og:brand"))
    for prefix in ("product:sale_price", "product:price", "og:price"):
        price, text_currency = parse_price(_first(tags, f"{prefix}:amount"))
        if price:
            partial.set("price", price)
            partial.set(
                "currency", currency_code(_first(tags, f"{prefix}:currency")) or text_currency
            )
            break
    partial.set(
        "availability", availability(_first(tags, "product:availability", "og:availability"))
    )
    partial.set(
        "sku", _first(tags, "product:retailer_item_id", "product:sku", "product:retailer_part_no")
    )
    images = [
        page.absolute(v)
        for key in ("og:image:secure_url", "og:image", "og:image:url")
        for v in tags.get(key, [])
    ]
    if not images:
        images = [page.absolute(v) for v in tags.get("twitter:image", [])]
    partial.set("images", dedupe_images(images))
    partial.set("colors", unique_texts(tags.get("product:color", [])))
    partial.set("sizes", unique_texts(tags.get("product:size", [])))
    category = _first(tags, "product:category")
    if category and not category.isdigit():
        partial.set("category", category)
    partial.set("description", _first(tags, "og:description"))
    partial.set("url", page.absolute(_first(tags, "og:url")))
    return partial if partial.fields else None
