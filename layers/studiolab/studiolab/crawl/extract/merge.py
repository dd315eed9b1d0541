"""Field-by-field merge of what each source found, in order of reliability.

Default order (first non-empty value wins, per field):
    shopify > jsonld > microdata > og > embedded > selectors > heuristics
Exceptions, where a less reliable source is known to be better at one field:
- `url`: the page's `<link rel=canonical>` (heuristics) and og:url first, then structured data.
- `category`: breadcrumbs (schema.org BreadcrumbList, breadcrumb navs, selectors) before
  Shopify's `product_type`, which is a type ("Skirt"), not a path.
- `images`: when the winning source has one image only (og:image, a microdata `<img>`) and a
  later source lists a gallery that contains it, the gallery is taken (it is the same product).
- `texts`: merged key by key (title, description, reviews), same order.
Per-crawler CSS selectors therefore fill gaps and beat heuristics, never structured data: a
selector written for one template silently breaks when the shop changes templates, while
structured data is what the shop publishes for search engines.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from studiolab.crawl.extract.normalize import image_key
from studiolab.crawl.product import Extraction, Product

SOURCE_ORDER = ("shopify", "jsonld", "microdata", "og", "embedded", "selectors", "heuristics")
FIELD_ORDER: dict[str, tuple[str, ...]] = {
    "url": ("heuristics", "og", "shopify", "jsonld", "microdata", "embedded", "selectors"),
    "category": ("jsonld", "microdata", "selectors", "heuristics", "embedded", "shopify", "og"),
}
FIELDS = tuple(name for name in Product.model_fields if name != "texts")


@dataclass
class Partial:
    """What one source found. `fields` uses Product field names with normalised values."""

    source: str
    fields: dict[str, Any] = field(default_factory=dict)
    declared: bool = False

    def set(self, name: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            self.fields[name] = value


def _ordered(partials: Sequence[Partial], order: Iterable[str]) -> list[Partial]:
    rank = {source: index for index, source in enumerate(order)}
    return sorted(partials, key=lambda p: rank.get(p.source, len(rank)))


def _valid(name: str, value: Any) -> bool:
    # Validation is a pure function of the value: strings and lists of strings (nearly every
    # value) are checked once per process, not once per source and page (open_fields, merge).
    if type(value) is str:
        return _valid_plain(name, value)
    if type(value) is list and all(type(item) is str for item in value):
        return _valid_plain(name, tuple(value))
    return _validate(name, value)


@functools.lru_cache(maxsize=16384)
def _valid_plain(name: str, value: str | tuple[str, ...]) -> bool:
    return _validate(name, list(value) if isinstance(value, tuple) else value)


def _validate(name: str, value: Any) -> bool:
    try:
        Product.model_validate({name: value})
    except ValidationError:
        return False
    return True


def _gallery(images: list[str], partials: Sequence[Partial], contributors: set[str]) -> list[str]:
    if len(images) != 1:
        return images
    lone = image_key(images[0])
    for partial in _ordered(partials, SOURCE_ORDER):
        gallery = partial.fields.get("images") or []
        if len(gallery) > 1 and lone in {image_key(url) for url in gallery}:
            contributors.add(partial.source)
            return list(gallery)
    return images


def _winner(name: str, partials: Sequence[Partial], order: Sequence[str]) -> Any:
    for partial in _ordered(partials, order):
        value = partial.fields.get(name)
        if value not in (None, "", []) and _valid(name, value):
            return value
    return None


def open_fields(partials: Sequence[Partial], source: str) -> frozenset[str]:
    """What `source` could still change in `merge(partials + [source's partial])`: every
    field no source ranked before it filled (validly), images when the winner is a lone
    image (a gallery may replace it), and "texts.<key>" for text keys nobody gave yet."""
    needed: set[str] = set()
    for name in FIELDS:
        order = FIELD_ORDER.get(name, SOURCE_ORDER)
        ahead = [p for p in partials if p.source in order[: order.index(source)]]
        winner = _winner(name, ahead, order)
        if winner is None or (name == "images" and len(winner) == 1):
            needed.add(name)
    ahead = [p for p in partials if p.source in SOURCE_ORDER[: SOURCE_ORDER.index(source)]]
    for key in ("title", "description", "reviews"):
        if not any((p.fields.get("texts") or {}).get(key) for p in ahead):
            needed.add(f"texts.{key}")
    return frozenset(needed)


def merge(partials: Sequence[Partial]) -> Extraction:
    values: dict[str, Any] = {}
    contributors: set[str] = set()
    for name in FIELDS:
        for partial in _ordered(partials, FIELD_ORDER.get(name, SOURCE_ORDER)):
            value = partial.fields.get(name)
            if value in (None, "", []) or not _valid(name, value):
                continue
            values[name] = value
            contributors.add(partial.source)
            break
    values["images"] = _gallery(values.get("images") or [], partials, contributors)
    texts: dict[str, str] = {}
    for partial in _ordered(partials, SOURCE_ORDER):
        for key, value in (partial.fields.get("texts") or {}).items():
            if value and key not in texts:
                texts[key] = value
    values["texts"] = texts
    if not texts.get("title") and values.get("name"):
        texts["title"] = values["name"]
    if not texts.get("description") and values.get("description"):
        texts["description"] = values["description"]
    method = "+".join(source for source in SOURCE_ORDER if source in contributors) or "none"
    return Extraction(
        method=method,
        product=Product.model_validate(values),
        declared=any(p.declared for p in partials),
    )
