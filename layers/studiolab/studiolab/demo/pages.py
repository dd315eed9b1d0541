"""HTML pages of the demo shop: home, collection listings with pagination, product pages with
schema.org JSON-LD (three shapes: Product, @graph, ProductGroup/hasVariant), Open Graph tags,
breadcrumbs and a canonical link."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape

from studiolab.demo.catalog import CATEGORIES, CURRENCY, Catalog, Collection, Product
from studiolab.demo.colours import BY_NAME

SHOP_NAME = "Studiolab Demo Shop"
SRCSET_WIDTHS = (400, 800)
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;color:#222}header,footer{padding:12px 24px;"
    "background:#f4f1ec}header nav a{margin-right:12px}main{padding:24px}.grid{display:grid;"
    "grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:16px;list-style:none;padding:0}"
    ".product-card img{width:100%;height:auto}.price{font-weight:600}.sold-out{color:#a00}"
    ".gallery img{max-width:360px;margin-right:8px}.swatch{display:inline-block;width:14px;"
    "height:14px;border:1px solid #999;vertical-align:middle}"
)


def money(price: str) -> str:
    return f"€{price}"


def _json_ld(document: object) -> str:
    text = json.dumps(document, ensure_ascii=False, indent=1).replace("</", "<\\/")
    return f'<script type="application/ld+json">\n{text}\n</script>'


def layout(
    title: str,
    body: str,
    *,
    canonical: str,
    head: Sequence[str] = (),
    description: str = "",
    robots: str | None = None,
) -> bytes:
    nav = "".join(
        f'<a href="/collections/{slug}">{escape(label)}</a>' for slug, label in CATEGORIES.values()
    )
    meta = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)} | {SHOP_NAME}</title>",
        f'<link rel="canonical" href="{escape(canonical)}">',
    ]
    if description:
        meta.append(f'<meta name="description" content="{escape(description[:160])}">')
    if robots:
        meta.append(f'<meta name="robots" content="{robots}">')
    html = (
        '<!doctype html>\n<html lang="en">\n<head>\n'
        + "\n".join([*meta, *head])
        + f"\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f'<header><a class="logo" href="/">{SHOP_NAME}</a> <nav>{nav}'
        '<a href="/collections/sale">Sale</a></nav> <a href="/search">Search</a> '
        '<a href="/account">Account</a> <a href="/cart">Cart (0)</a></header>\n'
        f"<main>\n{body}\n</main>\n"
        '<footer><a href="/pages/about">About</a> · <a href="/collections">All collections</a>'
        f" · © 2025 {SHOP_NAME}</footer>\n</body>\n</html>\n"
    )
    return html.encode("utf-8")


def breadcrumbs_nav(trail: Sequence[tuple[str, str]]) -> str:
    items = []
    for position, (name, path) in enumerate(trail):
        last = position == len(trail) - 1
        inner = (
            f'<span aria-current="page">{escape(name)}</span>'
            if last
            else f'<a href="{escape(path)}">{escape(name)}</a>'
        )
        items.append(f"<li>{inner}</li>")
    return f'<nav class="breadcrumbs" aria-label="Breadcrumb"><ol>{"".join(items)}</ol></nav>'


def breadcrumb_list(trail: Sequence[tuple[str, str]], base: str) -> dict[str, object]:
    return {
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": k, "name": name, "item": base + path}
            for k, (name, path) in enumerate(trail, start=1)
        ],
    }


def srcset(product: Product, n: int) -> str:
    return ", ".join(f"{product.image_path(n, width)} {width}w" for width in SRCSET_WIDTHS)


def card(product: Product) -> str:
    badge = "" if product.available else ' <span class="sold-out">Sold out</span>'
    compare = (
        f' <s class="compare-at">{money(product.compare_at_price)}</s>'
        if product.compare_at_price
        else ""
    )
    return (
        f'<li class="product-card"><a href="{product.path()}">'
        f'<img src="{product.image_path(1, 400)}" srcset="{srcset(product, 1)}" '
        f'sizes="(min-width: 900px) 25vw, 50vw" width="400" height="500" loading="lazy" '
        f'alt="{escape(product.title)}"><h3>{escape(product.title)}</h3></a>'
        f'<span class="vendor">{escape(product.brand)}</span> '
        f'<span class="price">{money(product.price)}</span>{compare}{badge}</li>'
    )


def home(catalog: Catalog, base: str) -> bytes:
    tiles = "".join(
        f'<li><a href="/collections/{slug}">{escape(label)}</a></li>'
        for slug, label in CATEGORIES.values()
    )
    latest = "".join(card(product) for product in list(catalog)[:12])
    website = {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": SHOP_NAME,
        "url": base + "/",
    }
    body = (
        f"<h1>{SHOP_NAME}</h1><p>Small-batch fashion from independent labels.</p>"
        f'<ul class="collections">{tiles}<li><a href="/collections/all">Shop all</a></li></ul>'
        f'<h2>New in</h2><ul class="grid">{latest}</ul>'
    )
    return layout(SHOP_NAME, body, canonical=base + "/", head=[_json_ld(website)])


def collections_index(catalog: Catalog, base: str) -> bytes:
    items = "".join(
        f'<li><a href="/collections/{c.slug}">{escape(c.title)}</a> ({len(c.handles)})</li>'
        for c in catalog.collections.values()
    )
    return layout(
        "Collections", f"<h1>Collections</h1><ul>{items}</ul>", canonical=base + "/collections"
    )


def listing(
    catalog: Catalog, collection: Collection, page: int, pages: int, base: str, page_size: int
) -> bytes:
    path = f"/collections/{collection.slug}"

    def page_url(number: int) -> str:
        return path if number == 1 else f"{path}?page={number}"

    head, links = [], []
    if page > 1:
        head.append(f'<link rel="prev" href="{base}{page_url(page - 1)}">')
        links.append(f'<a rel="prev" href="{page_url(page - 1)}">Previous</a>')
    links.append(f'<span class="current">Page {page} of {pages}</span>')
    if page < pages:
        head.append(f'<link rel="next" href="{base}{page_url(page + 1)}">')
        links.append(f'<a rel="next" href="{page_url(page + 1)}">Next</a>')
    handles = collection.handles[(page - 1) * page_size : page * page_size]
    cards = "".join(card(product) for h in handles if (product := catalog.get(h)) is not None)
    trail = [("Home", "/")]
    if collection.style is not None and collection.category is not None:
        parent = CATEGORIES[collection.category]
        trail.append((parent[1], f"/collections/{parent[0]}"))
    trail.append((collection.title, path))
    subs = ""
    if collection.category is not None and collection.style is None:
        subs = "".join(
            f'<li><a href="/collections/{c.slug}">{escape(c.title)}</a></li>'
            for c in catalog.collections.values()
            if c.category == collection.category and c.style is not None
        )
        subs = f'<ul class="sub-collections">{subs}</ul>'
    sorts = " ".join(
        f'<a href="{path}?sort_by={key}">{label}</a>'
        for key, label in (("price-ascending", "Price ↑"), ("created-descending", "Newest"))
    )
    body = (
        f"{breadcrumbs_nav(trail)}<h1>{escape(collection.title)}</h1>{subs}"
        f'<p class="count">{len(collection.handles)} products</p><p class="sort">Sort: {sorts}</p>'
        f'<ul class="grid">{cards}</ul><nav class="pagination">{" ".join(links)}</nav>'
    )
    head.append(_json_ld({"@context": "https://schema.org", **breadcrumb_list(trail, base)}))
    return layout(collection.title, body, canonical=base + page_url(page), head=head)


def _offer(product: Product, base: str, price_url: str, available: bool) -> dict[str, object]:
    return {
        "@type": "Offer",
        "price": product.price,
        "priceCurrency": CURRENCY,
        "availability": "https://schema.org/" + ("InStock" if available else "OutOfStock"),
        "itemCondition": "https://schema.org/NewCondition",
        "url": base + price_url,
    }


def product_json_ld(product: Product, base: str) -> list[dict[str, object]]:
    """The JSON-LD documents of a product page, in the product's markup shape."""
    url = base + product.path()
    images = [base + product.image_path(spec.n) for spec in product.images]
    common: dict[str, object] = {
        "name": product.title,
        "description": product.description,
        "brand": {"@type": "Brand", "name": product.brand},
        "color": product.colour_label,
        "image": images,
        "url": url,
        "category": " > ".join(name for name, _ in product.breadcrumbs[1:-1]),
    }
    crumbs = breadcrumb_list(product.breadcrumbs, base)
    context = "https://schema.org"
    if product.markup == "group":
        variants = [
            {
                "@type": "Product",
                "name": f"{product.title} - {variant.size}",
                "sku": variant.sku,
                "size": variant.size,
                "color": product.colour_label,
                "image": images[0],
                "offers": _offer(
                    product, base, f"{product.path()}?variant={variant.id}", variant.available
                ),
            }
            for variant in product.variants
        ]
        group = {"@context": context, "@type": "ProductGroup", **common,
                 "productGroupID": product.sku, "variesBy": ["https://schema.org/size"],
                 "hasVariant": variants}  # fmt: skip
        return [group, {"@context": context, **crumbs}]
    node = {"@type": "Product", **common, "sku": product.sku, "mpn": product.sku,
            "size": list(product.sizes)}  # fmt: skip
    if product.markup == "graph":
        node["@id"] = url + "#product"
        node["offers"] = [
            {**_offer(product, base, product.path(), variant.available), "sku": variant.sku}
            for variant in product.variants
        ]
        website = {"@type": "WebSite", "@id": base + "/#website", "name": SHOP_NAME, "url": base}
        return [{"@context": context, "@graph": [website, crumbs, node]}]
    node["offers"] = _offer(product, base, product.path(), product.available)
    return [{"@context": context, **node}, {"@context": context, **crumbs}]


def open_graph(product: Product, base: str) -> list[str]:
    tags = [
        ("og:type", "product"),
        ("og:site_name", SHOP_NAME),
        ("og:title", product.title),
        ("og:description", product.description),
        ("og:url", base + product.path()),
        *(("og:image", base + product.image_path(spec.n)) for spec in product.images),
        ("og:price:amount", product.price),
        ("og:price:currency", CURRENCY),
        ("product:price:amount", product.price),
        ("product:price:currency", CURRENCY),
        ("product:availability", "in stock" if product.available else "out of stock"),
        ("product:brand", product.brand),
        ("product:retailer_item_id", product.sku),
        ("product:color", product.colour_label),
    ]
    return [f'<meta property="{key}" content="{escape(value)}">' for key, value in tags]


def product_page(product: Product, base: str) -> bytes:
    gallery = "".join(
        f'<img src="{product.image_path(spec.n, 400)}" srcset="{srcset(product, spec.n)}" '
        f'sizes="(min-width: 900px) 40vw, 100vw" width="400" height="500" '
        f'alt="{escape(product.title)} - image {spec.n}">'
        for spec in product.images
    )
    swatches = "".join(
        f'<span class="swatch" style="background:{share.hex}" title="{BY_NAME[share.name].label}">'
        "</span>"
        for share in product.colours
    )
    options = "".join(
        f'<option value="{v.id}"{"" if v.available else " disabled"}>{escape(v.size)}'
        f"{'' if v.available else ' - sold out'}</option>"
        for v in product.variants
    )
    compare = (
        f' <s class="compare-at">{money(product.compare_at_price)}</s>'
        if product.compare_at_price
        else ""
    )
    stock = "In stock" if product.available else "Sold out"
    body = (
        f"{breadcrumbs_nav(product.breadcrumbs)}"
        f'<div class="product" data-product-id="{product.id}"><div class="gallery">{gallery}</div>'
        f'<h1 class="product-title">{escape(product.title)}</h1>'
        f'<p class="vendor">{escape(product.brand)}</p>'
        f'<p><span class="price" data-price="{product.price}">{money(product.price)}</span>'
        f'{compare}</p><p class="availability">{stock}</p>'
        f'<p class="colour">Colour: {swatches} {escape(product.colour_label)}</p>'
        f'<p class="sku">SKU: {product.sku}</p>'
        f'<form method="post" action="/cart/add"><label>Size <select name="id">{options}</select>'
        f'</label> <button type="submit"{"" if product.available else " disabled"}>Add to cart'
        f'</button></form><div class="description">{escape(product.description)}</div></div>'
    )
    head = [*open_graph(product, base), *(_json_ld(doc) for doc in product_json_ld(product, base))]
    return layout(
        product.title,
        body,
        canonical=base + product.path(),
        head=head,
        description=product.description,
    )


def simple_page(title: str, text: str, base: str, path: str, *, noindex: bool = False) -> bytes:
    return layout(
        title,
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p>",
        canonical=base + path,
        robots="noindex, nofollow" if noindex else None,
    )
