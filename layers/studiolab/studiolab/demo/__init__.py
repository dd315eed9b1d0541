"""A local fashion shop for crawler tests, demos and benchmarks (`studiolab demo-shop`).

Deterministic (seeded) products with schema.org JSON-LD, Open Graph tags, Shopify-style JSON,
sitemaps, robots.txt, paginated listings and JPEG images drawn with known garment colours, plus
optional seeded faults and an arrival log for politeness checks.

URL layout (all on http://127.0.0.1:<port>):
    /                                   home (collection links, 12 newest products)
    /robots.txt                         Disallow /cart /account /checkout /search, sort_by
                                        listings; Crawl-delay (configurable); Sitemap:
    /sitemap.xml                        sitemap index -> /sitemap_products_1.xml,
                                        /sitemap_products_<k>.xml.gz (k >= 2, 1,000 a file),
                                        /sitemap_collections_1.xml, /sitemap_pages_1.xml
    /collections, /collections/<slug>?page=N
                                        listings, 24 a page, <link rel=next/prev> and
                                        <a rel=next/prev>; slugs: all, sale, skirts, dresses,
                                        tops, pants, outerwear, knitwear, <style>s (flare-skirts)
    /products/<handle>                  product page: JSON-LD, Open Graph, breadcrumbs,
                                        canonical, srcset; ETag/Last-Modified -> 304
    /collections/<slug>/products/<handle>   the same page (canonical -> /products/<handle>)
    /products.json?page=N&limit=L       Shopify storefront JSON (limit 30 default, 250 max)
    /collections/<slug>/products.json   the same for one collection
    /products/<handle>.js | .json       Shopify AJAX (prices in cents) | {"product": ...}
    /cdn/images/<handle>-<n>.jpg?width=W    JPEG (default 800x1000), ETag -> 304
    /cart, /account, /checkout, /search, /pages/about
"""

from __future__ import annotations

from studiolab.demo.arrivals import Arrival, Politeness, max_in_window, politeness
from studiolab.demo.catalog import Catalog, Product, product_at
from studiolab.demo.faults import FaultPlan
from studiolab.demo.images import GroundTruth, ImageTruth, garment_mask, ground_truth, label_map
from studiolab.demo.server import DemoShop, ShopConfig, start_demo_shop

__all__ = [
    "Arrival",
    "Catalog",
    "DemoShop",
    "FaultPlan",
    "GroundTruth",
    "ImageTruth",
    "Politeness",
    "Product",
    "ShopConfig",
    "garment_mask",
    "ground_truth",
    "label_map",
    "max_in_window",
    "politeness",
    "product_at",
    "start_demo_shop",
]
