"""Machine-readable views of the catalog: Shopify storefront JSON, sitemaps and robots.txt."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from html import escape
from xml.sax.saxutils import escape as xml_escape

from studiolab.demo.catalog import Catalog, Product

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
IMAGE_NS = "http://www.google.com/schemas/sitemap-image/1.1"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def cents(price: str | None) -> int | None:
    return None if price is None else int(Decimal(price) * 100)


def body_html(product: Product) -> str:
    return f"<p>{escape(product.description)}</p>"


def shopify_product(product: Product, base: str, size: tuple[int, int]) -> dict[str, object]:
    """One product as in Shopify's `/products.json` (and `/products/<handle>.json`)."""
    created, updated = iso(product.created_at), iso(product.updated_at)
    return {
        "id": product.id,
        "title": product.title,
        "handle": product.handle,
        "body_html": body_html(product),
        "published_at": created,
        "created_at": created,
        "updated_at": updated,
        "vendor": product.brand,
        "product_type": product.product_type,
        "tags": list(product.tags),
        "variants": [
            {
                "id": variant.id,
                "title": variant.size,
                "option1": variant.size,
                "option2": None,
                "option3": None,
                "sku": variant.sku,
                "requires_shipping": True,
                "taxable": True,
                "featured_image": None,
                "available": variant.available,
                "price": product.price,
                "grams": 350,
                "compare_at_price": product.compare_at_price,
                "position": position,
                "product_id": product.id,
                "created_at": created,
                "updated_at": updated,
            }
            for position, variant in enumerate(product.variants, start=1)
        ],
        "images": [
            {
                "id": 30_000_000_000_000 + product.index * 4 + spec.n,
                "created_at": created,
                "position": spec.n,
                "updated_at": updated,
                "product_id": product.id,
                "variant_ids": [],
                "src": base + product.image_path(spec.n),
                "width": size[0],
                "height": size[1],
            }
            for spec in product.images
        ],
        "options": [{"name": "Size", "position": 1, "values": list(product.sizes)}],
    }


def shopify_js(product: Product, base: str) -> dict[str, object]:
    """The AJAX `/products/<handle>.js` shape: prices in cents, protocol-relative image URLs."""
    host = base.split("://", 1)[1]
    price = cents(product.price)
    compare = cents(product.compare_at_price)
    images = [f"//{host}{product.image_path(spec.n)}" for spec in product.images]
    return {
        "id": product.id,
        "title": product.title,
        "handle": product.handle,
        "description": body_html(product),
        "published_at": iso(product.created_at),
        "created_at": iso(product.created_at),
        "vendor": product.brand,
        "type": product.product_type,
        "tags": list(product.tags),
        "price": price,
        "price_min": price,
        "price_max": price,
        "available": product.available,
        "price_varies": False,
        "compare_at_price": compare,
        "compare_at_price_min": compare or 0,
        "compare_at_price_max": compare or 0,
        "compare_at_price_varies": False,
        "variants": [
            {
                "id": variant.id,
                "title": variant.size,
                "option1": variant.size,
                "option2": None,
                "option3": None,
                "sku": variant.sku,
                "requires_shipping": True,
                "taxable": True,
                "featured_image": None,
                "available": variant.available,
                "name": f"{product.title} - {variant.size}",
                "public_title": variant.size,
                "options": [variant.size],
                "price": price,
                "weight": 350,
                "compare_at_price": compare,
                "inventory_management": "shopify",
                "barcode": None,
            }
            for variant in product.variants
        ],
        "images": images,
        "featured_image": images[0],
        "options": [{"name": "Size", "position": 1, "values": list(product.sizes)}],
        "url": product.path(),
    }


def page_of(items: Sequence[Product], page: int, limit: int) -> Sequence[Product]:
    start = (page - 1) * limit
    return items[start : start + limit] if page >= 1 else []


def robots_txt(base: str, crawl_delay: float | None) -> str:
    lines = [
        "# Demo shop robots.txt (studiolab)",
        "User-agent: *",
        "Disallow: /cart",
        "Disallow: /account",
        "Disallow: /checkout",
        "Disallow: /search",
        "Disallow: /collections/*sort_by*",
    ]
    if crawl_delay:
        lines.append(f"Crawl-delay: {crawl_delay:g}")
    lines += ["", "User-agent: BadBot", "Disallow: /", "", f"Sitemap: {base}/sitemap.xml", ""]
    return "\n".join(lines)


def product_chunks(catalog: Catalog, chunk: int) -> int:
    return max(1, -(-len(catalog) // chunk))


def chunk_name(number: int) -> str:
    """The first product sitemap is plain XML, later ones are gzipped (as large shops do)."""
    return f"sitemap_products_{number}.xml" + ("" if number == 1 else ".gz")


def sitemap_index(catalog: Catalog, base: str, chunk: int) -> bytes:
    newest = iso(max(product.updated_at for product in catalog))
    names = [chunk_name(k) for k in range(1, product_chunks(catalog, chunk) + 1)]
    names += ["sitemap_collections_1.xml", "sitemap_pages_1.xml"]
    entries = "".join(
        f"<sitemap><loc>{xml_escape(f'{base}/{name}')}</loc><lastmod>{newest}</lastmod></sitemap>"
        for name in names
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">'
        f"{entries}</sitemapindex>\n"
    ).encode()


def sitemap_products(
    catalog: Catalog, base: str, number: int, chunk: int, ghosts: Sequence[str] = ()
) -> bytes | None:
    """Product sitemap `number` (1-based); ghost handles (faults) are listed in the first one."""
    if not 1 <= number <= product_chunks(catalog, chunk):
        return None
    products = list(catalog)[(number - 1) * chunk : number * chunk]
    entries = [_url_entry(base, product) for product in products]
    if number == 1:
        lastmod = iso(catalog[0].created_at)
        entries += [
            f"<url><loc>{base}/products/{handle}</loc><lastmod>{lastmod}</lastmod></url>"
            for handle in ghosts
        ]
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}" '
        f'xmlns:image="{IMAGE_NS}">{"".join(entries)}</urlset>\n'
    ).encode()
    return xml if number == 1 else gzip.compress(xml, 6, mtime=0)


def _url_entry(base: str, product: Product) -> str:
    image = (
        f"<image:image><image:loc>{base}{product.image_path(1)}</image:loc>"
        f"<image:title>{xml_escape(product.title)}</image:title></image:image>"
    )
    return (
        f"<url><loc>{base}{product.path()}</loc><lastmod>{iso(product.updated_at)}</lastmod>"
        f"<changefreq>daily</changefreq>{image}</url>"
    )


def sitemap_urls(base: str, paths: Sequence[str]) -> bytes:
    entries = "".join(f"<url><loc>{xml_escape(base + path)}</loc></url>" for path in paths)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">{entries}</urlset>\n'
    ).encode()
