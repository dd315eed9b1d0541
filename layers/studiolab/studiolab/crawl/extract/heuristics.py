"""Last-resort heuristics on the HTML: stray `itemprop`s, `<h1>`, price-like text near the
title (price-parser), `<link rel=canonical>`, breadcrumb navs, gallery images, colour/size
pickers, review texts. Every rule is generic: no site names anywhere."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from parsel import Selector

from studiolab.crawl.extract.dom import (
    PRICE_IN_TEXT,
    availability_from_text,
    element_image,
    element_text,
)
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
from studiolab.crawl.extract.schema import trim_crumbs

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
# Class words of struck-through / "was" prices (the current price is what we want).
NOT_CURRENT_PRICE = (
    "old-price",
    "oldprice",
    "price-old",
    "price--old",
    "was-price",
    "price-was",
    "wasprice",
    "compare",
    "regular-price",
    "price--regular",
    "strike",
    "original-price",
    "list-price",
    "listprice",
    "rrp",
    "crossed",
    "msrp",
    "before-price",
    "price-before",
)
GALLERY = (
    "gallery",
    "product-image",
    "product__image",
    "product-media",
    "product__media",
    "product-photo",
    "productimage",
    "product-gallery",
    "zoom",
    "pdp-image",
)
CART_WORDS = (
    "add to cart",
    "add to bag",
    "add to basket",
    "buy now",
    "warenkorb",
    "ajouter au panier",
    "añadir al carrito",
    "aggiungi al carrello",
    "in winkelwagen",
    "lägg i varukorg",
    "pre-order",
    "preorder",
    "sold out",
)
PLACEHOLDER_OPTION = ("choose", "select", "wähle", "auswählen", "choisir", "selecciona", "--")


def _has(word: str, attrs: str = "concat(@class, ' ', @id)") -> str:
    return f"contains(translate({attrs}, '{_UPPER}', '{_LOWER}'), '{word}')"


_TO_LOWER = str.maketrans(_UPPER, _LOWER)
_REVIEW_WORDS = ("review-body", "review__body", "review-text", "review-content")


def _review_nodes(page: Page, limit: int = 100) -> list[Selector]:
    """`//*[@itemprop='reviewBody'] | //*[{_has(word)} or ...]` for the review words, with
    the XPath's semantics (document order, ASCII-only lower-casing of class + " " + id), in
    one pass over the elements instead of four translate() calls per element."""
    found: list[Selector] = []
    if "review" not in page.lowered and "&#" not in page.text:
        # Every match contains "review" in the source, or a numeric character reference
        # (no named reference stands for an ASCII letter): this page has no review node.
        return found
    for node in page.selector.root.iter():
        if not isinstance(node.tag, str):
            continue  # comments, processing instructions
        attrib = node.attrib
        keys = f"{attrib.get('class', '')} {attrib.get('id', '')}".translate(_TO_LOWER)
        if attrib.get("itemprop") == "reviewBody" or any(w in keys for w in _REVIEW_WORDS):
            found.append(Selector(root=node, type="html"))
            if len(found) >= limit:
                break
    return found


def _first_text(nodes: list[Selector]) -> str | None:
    for node in nodes:
        value = element_text(node)
        if value:
            return value
    return None


def _itemprop(page: Page, name: str) -> list[Selector]:
    return list(page.selector.xpath(f"//*[@itemprop='{name}']"))


def _attr_value(nodes: list[Selector]) -> str | None:
    for node in nodes:
        value = node.attrib.get("content") or node.attrib.get("href") or element_text(node)
        if value and value.strip():
            return value.strip()
    return None


def _cart_control(page: Page) -> Selector | None:
    """The add-to-cart button (or form) of a product page, if there is one."""
    controls = page.selector.xpath(
        "//button | //input[@type='submit' or @type='button'] | //a[contains(@class, 'cart')]"
    )
    for control in controls[:200]:
        label = (element_text(control) or control.attrib.get("value") or "").casefold()
        if any(word in label for word in CART_WORDS):
            return control
    form = page.selector.xpath(f"//form[{_has('cart', '@action')}]")
    return form[0] if form else None


def _sells(page: Page) -> bool:
    """Signals that this page sells one thing (gates the free-text price search)."""
    og_type = page.selector.xpath("//meta[@property='og:type']/@content").get() or ""
    return "product" in og_type.lower() or _cart_control(page) is not None


def _price(page: Page) -> tuple[str | None, str | None]:
    sel = page.selector
    stray = _attr_value(_itemprop(page, "price"))
    if stray:
        price, currency = parse_price(stray)
        if price:
            return price, currency
    if not sel.xpath("//h1") and not _sells(page):
        return None, None  # no title and nothing to buy: not a product page
    scope = "//h1[1]/following::*" if sel.xpath("//h1") else "//body//*"
    excluded = " or ".join(_has(w) for w in NOT_CURRENT_PRICE)
    query = (
        f"{scope}[({_has('price')} or @data-price or @data-product-price) and not({excluded})"
        " and not(ancestor-or-self::del) and not(ancestor-or-self::s)"
        " and not(ancestor-or-self::strike) and not(ancestor::script)]"
    )
    nodes = list(sel.xpath(query))[:60]
    if len(nodes) > 8 and (scope == "//body//*" or not _sells(page)):
        return None, None  # many prices and nothing to buy here: a listing
    visible = (
        ".//text()[not(ancestor::del) and not(ancestor::s) and not(ancestor::strike)"
        f" and not(ancestor::*[{excluded}])]"
    )
    for node in nodes:
        shown = text(" ".join(node.xpath(visible).getall()))
        for raw in (
            node.attrib.get("data-price"),
            node.attrib.get("data-product-price"),
            node.attrib.get("content"),
            shown,
        ):
            if raw and any(ch.isdigit() for ch in raw):
                price, currency = parse_price(raw)
                if price and price != "0.00":
                    return price, currency
    if not _sells(page):
        return None, None
    texts = sel.xpath(
        f"{scope.replace('*', 'text()')}[not(ancestor::script) and "
        "not(ancestor::style) and not(ancestor::del) and not(ancestor::s)]"
    ).getall()
    for chunk in texts[:3000]:
        match = PRICE_IN_TEXT.search(chunk)
        if match:
            price, currency = parse_price(match.group(0))
            if price:
                return price, currency
    return None, None


def _sku(page: Page) -> str | None:
    value = _attr_value(_itemprop(page, "sku"))
    if not value:
        node = page.selector.xpath(f"//*[{_has('sku')} and not(self::input)]")
        value = _first_text(list(node)[:5])
    if not value:
        return None
    value = value.split(":", 1)[-1].strip() if ":" in value else value
    for label in ("SKU", "Sku", "sku", "Art.-Nr.", "Article"):
        value = value.removeprefix(label).strip()
    if 1 < len(value) <= 40 and any(ch.isdigit() or ch.isupper() for ch in value):
        return value
    return None


def _availability(page: Page) -> str | None:
    stray = _attr_value(_itemprop(page, "availability"))
    if stray:
        return availability(stray) or availability_from_text(stray)
    for node in page.selector.xpath(
        f"//*[({_has('stock')} or {_has('availability')}) and not(self::script)]"
    )[:10]:
        found = availability_from_text(element_text(node))
        if found:
            return found
    control = _cart_control(page)
    if control is None or getattr(control.root, "tag", "") == "form":
        return None
    label = element_text(control) or control.attrib.get("value")
    stated = availability_from_text(label)
    if stated and stated != "InStock":
        return stated  # "Sold out", "Pre-order"
    return "OutOfStock" if "disabled" in control.attrib else "InStock"


def _images(page: Page, name: str | None) -> list[str]:
    """itemprop images and gallery images; else images whose alt text is the product name."""
    sel = page.selector
    nodes = list(sel.xpath("//img[@itemprop='image'] | //*[@itemprop='image' and @content]"))
    gallery = " or ".join(_has(word) for word in GALLERY)
    nodes += list(sel.xpath(f"//*[{gallery}]//img"))[:60]
    if not nodes and name:
        wanted = name.casefold()
        nodes = [
            img
            for img in sel.xpath("//img[@alt]")[:300]
            if wanted in (img.attrib.get("alt") or "").casefold()
        ]
    return dedupe_images(page.absolute(element_image(node)) for node in nodes)


def _options(page: Page, words: tuple[str, ...]) -> list[str]:
    found: list[Any] = []
    for word in words:
        for select in page.selector.xpath(
            f"//select[{_has(word, 'concat(@name, @id, @data-attribute_name)')}]"
        )[:3]:
            for option in select.xpath(".//option"):
                label = element_text(option) or ""
                if option.attrib.get("value", "x") and not label.casefold().startswith(
                    PLACEHOLDER_OPTION
                ):
                    found.append(label)
        for radio in page.selector.xpath(
            f"//input[@type='radio' and {_has(word, 'concat(@name, @id)')}]/@value"
        ).getall()[:60]:
            found.append(radio)
    return unique_texts(found)


def _breadcrumb(page: Page, name: str | None) -> str | None:
    containers = page.selector.xpath(
        f"//*[self::nav or self::ol or self::ul or self::div][{_has('breadcrumb')} or "
        f"{_has('breadcrumb', '@aria-label')}]"
    )
    for container in containers[:3]:
        crumbs: list[tuple[str, str | None]] = []
        for item in container.xpath(".//li | .//a[not(ancestor::li)]") or container.xpath(".//a"):
            label = element_text(item)
            if label and label not in {">", "/", "\u203a", "\u00bb", "|"}:
                crumbs.append(
                    (label.strip(" >/\u203a\u00bb|"), item.xpath("(.//@href | @href)").get())
                )
        path = trim_crumbs([c for c in crumbs if c[0]], page, name)
        if path:
            return " > ".join(path)
    return None


# What `from_page(page, wanted)` can be asked for: Product fields and "texts.<key>".
FIELDS = frozenset(
    {
        "name", "brand", "price", "currency", "sku", "availability", "images", "colors",
        "sizes", "category", "description", "url",
        "texts.title", "texts.description", "texts.reviews",
    }
)  # fmt: skip


def from_page(page: Page, wanted: Collection[str] | None = None) -> Partial | None:
    """The heuristic fields of a page; only those in `wanted` (None: all of them). The
    extractor asks only for what the more reliable sources left open: most of the cost of a
    product page with structured data is saved, and the merged product is the same."""
    want = FIELDS if wanted is None else frozenset(wanted)
    sel = page.selector
    partial = Partial("heuristics")
    name = None
    if want & {"name", "images", "category"}:
        name = text(_attr_value(_itemprop(page, "name"))) or _first_text(list(sel.xpath("//h1")))
        if "name" in want:
            partial.set("name", name)
    if "brand" in want:
        partial.set("brand", text(_attr_value(_itemprop(page, "brand"))))
    if want & {"price", "currency"}:
        price, currency = _price(page)
        if "price" in want:
            partial.set("price", price)
        if "currency" in want:
            partial.set(
                "currency",
                currency or currency_code(_attr_value(_itemprop(page, "priceCurrency"))),
            )
    if "sku" in want:
        partial.set("sku", _sku(page))
    if "availability" in want:
        partial.set("availability", _availability(page))
    if "images" in want:
        partial.set("images", _images(page, name))
    if "colors" in want:
        partial.set("colors", _options(page, ("color", "colour", "farbe", "couleur")))
    if "sizes" in want:
        partial.set("sizes", _options(page, ("size", "größe", "groesse", "taille", "talla")))
    if "category" in want:
        partial.set("category", _breadcrumb(page, name))
    description = None
    if want & {"description", "texts.description"}:
        description = (
            text(_attr_value(_itemprop(page, "description")))
            or _first_text(list(sel.xpath(f"//*[{_has('description')} and not(self::meta)]"))[:3])
            or text(sel.xpath("//meta[@name='description']/@content").get())
        )
        if "description" in want:
            partial.set("description", description[:5000] if description else None)
    if "url" in want:
        partial.set("url", page.canonical())
    texts: dict[str, str | None] = {}
    if "texts.title" in want:
        texts["title"] = text(sel.xpath("//title/text()").get())
    if "texts.description" in want:
        texts["description"] = description
    if "texts.reviews" in want:
        reviews = unique_texts(element_text(node) for node in _review_nodes(page))
        texts["reviews"] = "\n\n".join(reviews)
    partial.set("texts", {k: v for k, v in texts.items() if v})
    return partial if partial.fields else None
