"""schema.org Product / ProductGroup / Offer / AggregateOffer -> one Partial.

The main product is the product node whose `url`/`@id` is this page (else the first with
offers); products inside ItemLists or `isRelatedTo`/`isSimilarTo` (carousels) lose. A
ProductGroup's `hasVariant` products contribute offers, images, colours and sizes.

Price: the offer or variant named by the page URL (`?variant=`, `?sku=`, the offer's own URL),
else the first in-stock offer (what the page shows by default), else the first with a price;
an AggregateOffer gives `lowPrice` when no concrete offer exists. Availability: in stock when
any offer is, else the selected offer's. Sku names the product and must be stable across
re-crawls: the product's own sku, else the URL's variant, else `productGroupID`/`productID`,
else the first offer's (document order, never "first in stock", which moves with stock)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from studiolab.crawl.extract.merge import Partial
from studiolab.crawl.extract.normalize import (
    IN_STOCK_LIKE,
    availability,
    currency_code,
    dedupe_images,
    parse_price,
    text,
    unique_texts,
)
from studiolab.crawl.extract.page import Page
from studiolab.crawl.extract.structured import Graph, type_names

PRODUCT_TYPES = frozenset(
    {"Product", "ProductGroup", "IndividualProduct", "ProductModel", "SomeProducts", "Vehicle"}
)
OFFER_TYPES = frozenset({"Offer", "AggregateOffer"})
NOT_MAIN_KEYS = frozenset(
    {
        "itemListElement",
        "isRelatedTo",
        "isSimilarTo",
        "isAccessoryOrSparePartFor",
        "isConsumableFor",
        "relatedLink",
        "mentions",
        "subjectOf",
        "hasPart",
    }
)
SKIP_KEYS = frozenset({"hasVariant", "isVariantOf", "model", "review", "brand", "manufacturer"})
NOT_SALE_PRICES = frozenset({"StrikethroughPrice", "ListPrice", "MSRP", "SRP", "InvoicePrice"})
HOME_CRUMBS = frozenset(
    {
        "home",
        "homepage",
        "home page",
        "start",
        "startseite",
        "accueil",
        "inicio",
        "inizio",
        "hem",
        "forside",
        "shop",
        "store",
        "strona główna",
        "главная",
        "首页",
        "ホーム",
    }
)


@dataclass
class OfferView:
    price: str | None
    currency: str | None
    availability: str | None
    sku: str | None
    url: str | None
    aggregate: bool


def _first_text(value: Any) -> str | None:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            item = item.get("@value", item.get("name"))
        cleaned = text(item)
        if cleaned:
            return cleaned
    return None


def _same_page(candidate: str | None, page: Page) -> bool:
    if not candidate:
        return False
    target = page.absolute(candidate)
    if not target:
        return False
    mine = {page.url, page.canonical() or page.url}
    key = urlsplit(target)
    return any(
        (urlsplit(u).netloc.lower(), urlsplit(u).path.rstrip("/"))
        == (key.netloc.lower(), key.path.rstrip("/"))
        for u in mine
    )


def _candidates(graph: Graph) -> list[tuple[dict[str, Any], int, dict[str, Any] | None]]:
    """(product node, penalty, offer it was the itemOffered of) in document order."""
    found: list[tuple[dict[str, Any], int, dict[str, Any] | None]] = []
    stack: list[tuple[Any, int, dict[str, Any] | None, int]] = [
        (node, 0, None, 0) for node in reversed(graph.nodes)
    ]
    while stack and len(found) < 200:
        value, penalty, offer, depth = stack.pop()
        if depth > 12:
            continue
        if isinstance(value, list):
            stack.extend((v, penalty, offer, depth + 1) for v in reversed(value))
            continue
        if not isinstance(value, dict):
            continue
        kinds = type_names(value)
        if kinds & PRODUCT_TYPES:
            found.append((value, penalty, offer))
            continue
        parent_offer = value if kinds & OFFER_TYPES else None
        for key, child in reversed(list(value.items())):
            if key in SKIP_KEYS:
                continue
            extra = 6 if key in NOT_MAIN_KEYS or "ItemList" in kinds else 0
            stack.append((child, penalty + extra, parent_offer, depth + 1))
    return found


def _main_product(graph: Graph, page: Page) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    best: tuple[int, int, dict[str, Any], dict[str, Any] | None] | None = None
    for order, (node, penalty, offer) in enumerate(_candidates(graph)):
        score = -penalty
        if _same_page(node.get("url"), page) or _same_page(node.get("@id"), page):
            score += 10
        elif isinstance(node.get("url"), str) and penalty == 0:
            score -= 2  # a product that links to another page: a teaser
        if node.get("offers") or offer or node.get("hasVariant"):
            score += 3
        if node.get("name"):
            score += 1
        if best is None or (score, -order) > (best[0], best[1]):
            best = (score, -order, node, offer)
    return (best[2], best[3]) if best else None


def _offer_view(graph: Graph, offer: dict[str, Any], sku: str | None, url: str | None) -> OfferView:
    raw_price = offer.get("price")
    currency = currency_code(offer.get("priceCurrency"))
    if raw_price in (None, ""):
        for spec in graph.items(offer.get("priceSpecification")):
            if not isinstance(spec, dict):
                continue
            kind = text(spec.get("priceType")) or ""
            if kind.rsplit("/", 1)[-1] in NOT_SALE_PRICES:
                continue
            raw_price = spec.get("price", spec.get("minPrice"))
            currency = currency or currency_code(spec.get("priceCurrency"))
            if raw_price not in (None, ""):
                break
    aggregate = "AggregateOffer" in type_names(offer)
    if raw_price in (None, "") and aggregate:
        raw_price = offer.get("lowPrice")
    price, text_currency = parse_price(
        _first_text(raw_price) if isinstance(raw_price, list) else raw_price
    )
    return OfferView(
        price=price,
        currency=currency or text_currency,
        availability=availability(_first_text(offer.get("availability"))),
        sku=text(offer.get("sku")) or sku,
        url=_first_text(offer.get("url")) or url,
        aggregate=aggregate,
    )


def _offers(graph: Graph, node: dict[str, Any], extra: dict[str, Any] | None) -> list[OfferView]:
    sources: list[tuple[dict[str, Any], str | None, str | None]] = []
    own = [o for o in graph.items(node.get("offers")) if isinstance(o, dict)]
    if not own and extra:
        own = [extra]
    for offer in own:
        sources.append((offer, None, None))
        sources.extend(
            (o, None, None) for o in graph.items(offer.get("offers")) if isinstance(o, dict)
        )
    for variant in graph.items(node.get("hasVariant")):
        if not isinstance(variant, dict):
            continue
        v_sku, v_url = text(variant.get("sku")), _first_text(variant.get("url"))
        sources.extend(
            (o, v_sku, v_url) for o in graph.items(variant.get("offers")) if isinstance(o, dict)
        )
    return [_offer_view(graph, offer, sku, url) for offer, sku, url in sources]


def _url_selected(offers: list[OfferView], page: Page) -> OfferView | None:
    wanted = {v for v in page.query.values() if v}
    if not wanted:
        return None
    for offer in offers:
        if offer.aggregate:
            continue
        if offer.sku in wanted or (offer.url and page.absolute(offer.url) == page.url):
            return offer
    return None


def _selected(offers: list[OfferView], page: Page) -> OfferView | None:
    chosen = _url_selected(offers, page)
    if chosen:
        return chosen
    concrete = [o for o in offers if not o.aggregate and (o.price or o.availability)]
    for offer in concrete:
        if offer.availability in IN_STOCK_LIKE and offer.price:
            return offer
    for offer in concrete:
        if offer.price:
            return offer
    aggregates = [o for o in offers if o.aggregate]
    remaining = aggregates or concrete
    return remaining[0] if remaining else None


def _variant_values(graph: Graph, node: dict[str, Any], key: str) -> list[str]:
    values: list[Any] = []
    for source in [node, *[v for v in graph.items(node.get("hasVariant")) if isinstance(v, dict)]]:
        for item in graph.items(source.get(key)):
            values.append(item.get("name") if isinstance(item, dict) else item)
        for prop in graph.items(source.get("additionalProperty")):
            if isinstance(prop, dict) and (text(prop.get("name")) or "").lower() in {
                key,
                "colour" if key == "color" else key,
            }:
                values.append(prop.get("value"))
    return unique_texts(values)


def _images(graph: Graph, node: dict[str, Any], page: Page) -> list[str]:
    urls: list[str | None] = []
    sources = [node, *[v for v in graph.items(node.get("hasVariant")) if isinstance(v, dict)]]
    for source in sources:
        for image in graph.items(source.get("image")):
            if isinstance(image, dict):
                image = image.get("contentUrl") or image.get("url") or image.get("@id")
            urls.append(page.absolute(_first_text(image)))
    return dedupe_images(urls)


def breadcrumb(graph: Graph, page: Page, product_name: str | None) -> str | None:
    for node in graph.walk():
        if "BreadcrumbList" not in type_names(node):
            continue
        elements = [e for e in graph.items(node.get("itemListElement")) if isinstance(e, dict)]
        elements.sort(
            key=lambda e: (
                float(e["position"])
                if str(e.get("position", "")).replace(".", "", 1).isdigit()
                else 0.0
            )
        )
        crumbs: list[tuple[str, str | None]] = []
        for element in elements:
            item = graph.resolve(element.get("item"))
            name = _first_text(element.get("name")) or (
                _first_text(item.get("name")) if isinstance(item, dict) else None
            )
            link = item.get("@id") if isinstance(item, dict) else item
            if name:
                crumbs.append((name, text(link)))
        path = trim_crumbs(crumbs, page, product_name)
        if path:
            return " > ".join(path)
    return None


def trim_crumbs(crumbs: list[tuple[str, str | None]], page: Page, name: str | None) -> list[str]:
    """Drop the leading "Home" crumb and the trailing crumb that is the product itself."""
    if crumbs and (
        crumbs[0][0].casefold() in HOME_CRUMBS
        or (crumbs[0][1] and urlsplit(page.absolute(crumbs[0][1]) or "").path in {"", "/"})
    ):
        crumbs = crumbs[1:]
    if (
        crumbs
        and len(crumbs) > 1
        and (
            (name and crumbs[-1][0].casefold() == name.casefold())
            or _same_page(crumbs[-1][1], page)
        )
    ):
        crumbs = crumbs[:-1]
    return [c[0] for c in crumbs]


def _sku(node: dict[str, Any], page: Page, offers: list[OfferView]) -> str | None:
    """Stable: own sku, else the URL's variant, else the group id, else the first offer's."""
    url_selected = _url_selected(offers, page)
    return (
        text(node.get("sku"))
        or (url_selected.sku if url_selected else None)
        or text(node.get("productGroupID"))
        or text(node.get("productID"))
        or next((o.sku for o in offers if o.sku), None)
    )


def from_nodes(source: str, nodes: list[dict[str, Any]], page: Page) -> Partial | None:
    graph = Graph(nodes)
    main = _main_product(graph, page)
    partial = Partial(source)
    if main is None:
        partial.set("category", breadcrumb(graph, page, None))
        return partial if partial.fields else None
    node, offer = main
    partial.declared = True
    name = _first_text(node.get("name"))
    offers = _offers(graph, node, offer)
    selected = _selected(offers, page)
    partial.set("name", name)
    brand = next(
        iter(graph.items(node.get("brand")) or graph.items(node.get("manufacturer"))), None
    )
    partial.set("brand", _first_text(brand.get("name") if isinstance(brand, dict) else brand))
    if selected:
        partial.set("price", selected.price)
        partial.set(
            "currency", selected.currency or next((o.currency for o in offers if o.currency), None)
        )
    in_stock = next((o.availability for o in offers if o.availability in IN_STOCK_LIKE), None)
    partial.set(
        "availability",
        (selected.availability if selected and selected.availability in IN_STOCK_LIKE else None)
        or in_stock
        or (selected.availability if selected else None)
        or availability(_first_text(node.get("availability"))),
    )
    partial.set("sku", _sku(node, page, offers))
    partial.set("images", _images(graph, node, page))
    partial.set("colors", _variant_values(graph, node, "color"))
    partial.set("sizes", _variant_values(graph, node, "size"))
    category = _first_text(node.get("category"))
    if category and category.startswith("http"):
        category = None
    if category:
        for separator in (" / ", "/", "\u203a", "\u00bb", ">"):
            category = " > ".join(p.strip() for p in category.split(separator) if p.strip())
    partial.set("category", breadcrumb(graph, page, name) or category)
    description = text(node.get("description"))
    partial.set("description", description)
    partial.set("url", page.absolute(_first_text(node.get("url"))))
    reviews = unique_texts(
        r.get("reviewBody") or r.get("description")
        for r in graph.items(node.get("review"))
        if isinstance(r, dict)
    )
    partial.set(
        "texts",
        {
            k: v
            for k, v in {
                "title": name,
                "description": description,
                "reviews": "\n\n".join(reviews),
            }.items()
            if v
        },
    )
    return partial
