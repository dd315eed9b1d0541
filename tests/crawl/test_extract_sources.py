"""Each extraction source alone, and the merge order between them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studiolab.crawl.extract import extract, extract_shopify
from studiolab.crawl.extract.merge import Partial, merge
from studiolab.crawl.product import OUTPUT_FIELDS, Extraction, Product
from studiolab.domain.errors import InvalidInput

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://shop.example/products/aria"


def page(head: str = "", body: str = "") -> str:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


# --- Shopify ----------------------------------------------------------------------------------


def test_shopify_js_prices_are_cents_and_variant_from_url() -> None:
    doc = json.loads((FIXTURES / "shopify_product.js").read_text())
    default = extract_shopify(doc, "https://dawn.example/products/aria-pleated-midi-skirt")
    assert isinstance(default, Extraction)
    product = default.product
    assert (product.price, product.sku, product.availability) == ("89.00", "ARIA-BLK-S", "InStock")
    assert product.colors == ["Black", "Sage"] and product.sizes == ["S", "M"]
    assert product.images[0] == "https://dawn.example/cdn/shop/files/aria-black-1.jpg?v=1699999999"
    assert len(product.images) == 3  # ?v= cache-buster duplicate dropped, variant image added
    assert product.description == "A fluid pleated midi skirt in recycled satin."
    chosen = extract_shopify(doc, "https://dawn.example/products/aria?variant=45003")
    assert isinstance(chosen, Extraction)
    assert (chosen.product.price, chosen.product.sku) == ("99.00", "ARIA-SGE-S")


def test_shopify_products_json_is_a_list_with_string_prices() -> None:
    body = (FIXTURES / "shopify_products.json").read_bytes()
    found = extract_shopify(body, "https://dawn.example/collections/all", currency="eur")
    assert isinstance(found, list) and len(found) == 2
    first, second = (e.product for e in found)
    assert (first.price, first.currency, first.updated_at) == (
        "89.00",
        "EUR",
        "2024-05-14T16:21:09+02:00",
    )
    assert first.url == "https://dawn.example/products/aria-pleated-midi-skirt"
    assert (second.price, second.availability, second.sku) == ("65.50", "OutOfStock", None)
    assert second.sizes == [] and second.colors == []  # "Title: Default Title" is no option


def test_shopify_single_product_json_wrapper_and_junk() -> None:
    doc = {"product": {"title": "X", "handle": "x", "variants": [{"price": "10.00", "sku": "S1"}]}}
    found = extract_shopify(doc, "https://s.example/products/x.json")
    assert isinstance(found, Extraction) and found.product.price == "10.00"
    for junk in (b"", b"not json", b"[1, 2]", {"products": "nope"}, None, 42):
        result = extract_shopify(junk, URL)
        assert result == [] or (isinstance(result, Extraction) and not result.ok)


def test_shopify_theme_json_in_page_beats_json_ld() -> None:
    html = (FIXTURES / "shopify_debut.html").read_text()
    result = extract(html, "https://harbour.example/products/linen-camp-shirt?variant=3003")
    assert result.method.startswith("shopify+jsonld")
    assert (result.product.price, result.product.sku) == ("49.00", "LIN-CAMP-L")
    assert result.product.currency == "USD"  # Shopify JSON has none; JSON-LD fills it


def test_shopify_analytics_meta_without_stock_does_not_guess_price() -> None:
    meta = {
        "product": {
            "vendor": "V",
            "variants": [
                {"id": 1, "price": 1000, "name": "T - S", "sku": "T-S"},
                {"id": 2, "price": 2000, "name": "T - M", "sku": "T-M"},
            ],
        }
    }
    html = page(body=f"<script>var meta = {json.dumps(meta)};</script>")
    product = extract(html, URL).product
    assert (product.name, product.sku, product.price) == ("T", "T-S", None)
    chosen = extract(html, URL + "?variant=2").product
    assert (chosen.price, chosen.sku) == ("20.00", "T-M")


# --- JSON-LD and microdata ----------------------------------------------------------------------


def test_jsonld_walks_graph_references_and_image_objects() -> None:
    html = (FIXTURES / "graph_refs.html").read_text()
    product = extract(html, "https://alpenfaden.example/p/kaschmirschal-gr-210").product
    assert (product.price, product.currency, product.availability) == ("210.00", "CHF", "BackOrder")
    assert product.brand == "Alpenfaden"
    assert product.images == ["https://alpenfaden.example/media/gr-210-grau.jpg"]


def test_jsonld_product_group_variants_breadcrumb_and_reviews() -> None:
    html = (FIXTURES / "magento_graph.html").read_text()
    result = extract(html, "https://northgate.example/ines-wide-leg-trousers-wsh12.html")
    product = result.product
    assert product.sku == "WSH12"  # productGroupID: stable, not "first in stock"
    assert product.category == "Women > Trousers"  # sorted by position, home and self dropped
    assert product.description == "High-rise wide-leg trousers in crepe."
    assert product.texts["reviews"] == "Lovely drape, runs a little long.\n\nGreat colour."
    assert len(product.images) == 2
    chosen = extract(
        html, "https://northgate.example/ines-wide-leg-trousers-wsh12.html?size=28&color=Red"
    )
    assert chosen.product.sku == "WSH12-28-Red"


def test_jsonld_first_in_stock_offer_gives_the_price() -> None:
    offers = [
        {"@type": "Offer", "price": "10.00", "priceCurrency": "EUR", "availability": "OutOfStock"},
        {"@type": "Offer", "price": "12.00", "priceCurrency": "EUR", "availability": "InStock"},
    ]
    html = page(
        ld({"@context": "https://schema.org", "@type": "Product", "name": "N", "offers": offers})
    )
    product = extract(html, URL).product
    assert (product.price, product.availability) == ("12.00", "InStock")


def test_jsonld_aggregate_offer_and_price_specification() -> None:
    agg = extract((FIXTURES / "aggregate_offer.html").read_text(), URL).product
    assert (agg.price, agg.currency) == ("19.99", "USD")
    spec = extract((FIXTURES / "price_specification.html").read_text(), URL).product
    assert (spec.price, spec.sku, spec.availability) == ("69.30", "PS-771", "LimitedAvailability")
    assert len(spec.images) == 2  # the duplicate is dropped


def test_main_product_wins_over_related_products() -> None:
    html = (FIXTURES / "related_first.html").read_text()
    product = extract(html, "https://ateliernine.example/shop/oversized-poplin-shirt").product
    assert (product.sku, product.price) == ("A9-SHT-12", "120.00")


def test_microdata_largest_image_text_price_and_reviews() -> None:
    html = (FIXTURES / "microdata_text_price.html").read_text()
    result = extract(html, "https://bottegarossi.example/donna/camicie/camicia-in-seta")
    product = result.product
    assert result.method.startswith("microdata")
    assert (product.price, product.currency, product.availability) == ("39.90", "EUR", "InStock")
    assert product.images == ["https://bottegarossi.example/img/md-3990-1600.jpg"]
    assert product.texts["reviews"] == "Tessuto splendido, vestibilità perfetta."


def test_woocommerce_microdata_and_gallery() -> None:
    html = (FIXTURES / "woocommerce_microdata.html").read_text()
    product = extract(html, "https://kleiderei.example/produkt/flared-denim-skirt/").product
    assert product.price == "39.00"  # the <ins> sale price, not the <del> one
    assert product.images == [
        "https://kleiderei.example/wp-content/uploads/2023/03/flared-denim.jpg",
        "https://kleiderei.example/wp-content/uploads/2023/03/flared-denim-back.jpg",
    ]
    assert product.colors == ["Hellblau", "Dunkelblau"]


# --- Open Graph, embedded state, heuristics -----------------------------------------------------


def test_open_graph_product_tags() -> None:
    result = extract((FIXTURES / "og_only.html").read_text(), "https://coastline.example/x")
    assert result.method == "og" and result.declared
    assert result.product.url == "https://coastline.example/shop/ribbed-tank-top"
    html = page(
        '<meta name="og:price:amount" content="12,50"><meta name="og:price:currency" '
        'content="EUR"><meta property="og:type" content="product">'
    )
    assert extract(html, URL).product.price == "12.50"


def test_next_data_product_beats_recommendations() -> None:
    html = (FIXTURES / "nextjs_product.html").read_text()
    product = extract(html, "https://nordlys.example/de/p/linen-wrap-dress-nl-2291").product
    assert (product.sku, product.price, product.currency) == ("NL-2291-SAND", "129.95", "EUR")
    assert len(product.images) == 2  # og's lone image extended by the state's gallery


def test_initial_state_assignment() -> None:
    html = (FIXTURES / "initial_state.html").read_text()
    result = extract(html, "https://modasol.example/p/vestido-camisero-de-rayas-is2490")
    product = result.product
    assert "embedded" in result.method
    assert (product.price, product.sku, product.availability) == ("24.90", "IS-2490", "InStock")
    assert product.images[0] == "https://cdn.modasol.example/p/is-2490/1-2000.jpg"  # zoom first


def test_embedded_json_parse_string_and_cents() -> None:
    state = json.dumps({"product": {"name": "Belt", "sku": "B-1", "priceInCents": 1999}})
    html = page(
        body=f"<script>window.__PRELOADED_STATE__ = JSON.parse({json.dumps(state)});</script>"
    )
    product = extract(html, URL).product
    assert (product.name, product.price) == ("Belt", "19.99")


def test_heuristics_price_text_canonical_and_add_to_cart() -> None:
    html = (FIXTURES / "price_text_only.html").read_text()
    result = extract(html, "https://strickwerk.example/shop/merino-crew-neck?ref=x")
    product = result.product
    assert result.method == "heuristics"
    assert (product.price, product.currency) == ("1299.00", "EUR")
    assert product.url == "https://strickwerk.example/shop/merino-crew-neck"
    assert product.availability == "InStock"
    assert product.images == ["https://strickwerk.example/bilder/merino-crew-neck-anthrazit.jpg"]


def test_heuristics_skip_struck_prices() -> None:
    body = (
        '<h1>Coat</h1><div class="product-price"><del class="price">€99</del>'
        '<span class="price old-price">€99</span><span class="price">€59,00</span></div>'
    )
    assert extract(page(body=body), URL).product.price == "59.00"


def test_listing_pages_are_not_products() -> None:
    listing = extract((FIXTURES / "listing.html").read_bytes(), "https://dawn.example/c?page=2")
    assert not listing.ok
    cards = "".join(
        f'<div class="card"><span class="price">€{i},99</span></div>' for i in range(20)
    )
    state = {"items": [{"name": f"P{i}", "price": i, "sku": f"S{i}"} for i in range(20)]}
    html = page(
        body=f"<h1>Skirts</h1>{cards}<script>window.__STATE__ = {json.dumps(state)};</script>"
    )
    assert not extract(html, "https://s.example/collections/skirts").ok


def test_article_with_prices_is_not_a_product() -> None:
    result = extract((FIXTURES / "blog_article.html").read_text(), "https://journal.example/a")
    assert not result.ok and result.product.price is None


# --- selectors and merge --------------------------------------------------------------------------


def test_selectors_beat_heuristics_but_not_structured_data() -> None:
    body = (
        '<h1>Heuristic name</h1><div class="x-title">Selector name</div>'
        '<b class="x-price">EUR 15,00</b><img class="x-img" srcset="/s.jpg 100w, /l.jpg 900w">'
    )
    selectors = {"name": ".x-title", "price": ".x-price::text", "image": "img.x-img"}
    result = extract(page(body=body), URL, selectors=selectors)
    assert result.product.name == "Selector name"
    assert (result.product.price, result.product.currency) == ("15.00", "EUR")
    assert result.product.images == ["https://shop.example/l.jpg"]
    assert "selectors" in result.method
    structured = page(
        ld({"@type": "Product", "name": "LD name", "offers": {"price": "9.00"}}), body
    )
    result = extract(structured, URL, selectors=selectors)
    assert (result.product.name, result.product.price) == ("LD name", "9.00")


def test_invalid_selectors_are_a_config_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        extract(page(), URL, selectors={"price": "div[[", "nonsense": "a"})
    assert set(caught.value.fields) == {"selectors.price", "selectors.nonsense"}


def test_xpath_selectors() -> None:
    html = page(body='<span data-sku="Z-9">x</span>')
    assert extract(html, URL, selectors={"sku": "xpath://span/@data-sku"}).product.sku == "Z-9"


def test_merge_priority_and_method() -> None:
    partials = [
        Partial("heuristics", {"name": "h", "price": "1.00", "url": "https://a/canonical"}),
        Partial("og", {"name": "o", "currency": "EUR", "url": "https://a/og"}),
        Partial("jsonld", {"name": "j", "price": "2.00", "category": "A > B"}),
        Partial("shopify", {"price": "3.00", "category": "Skirt"}, declared=True),
        Partial("embedded", {"price": "not a price"}),
    ]
    result = merge(partials)
    product = result.product
    assert (product.name, product.price, product.currency) == ("j", "3.00", "EUR")
    assert product.url == "https://a/canonical"  # rel=canonical first
    assert product.category == "A > B"  # breadcrumbs before Shopify's product_type
    assert result.method == "shopify+jsonld+og+heuristics"
    assert result.declared


def test_product_output_has_exactly_the_cli_keys() -> None:
    output = Product(name="x", images=[]).output()
    assert tuple(output) == OUTPUT_FIELDS and len(output) == 12
    assert output["images"] is None and output["name"] == "x"
    fields = Product(price="1.00", currency="EUR", colors=["Red", "Blue"]).to_fields()
    assert fields.colors_text == "Red, Blue"


def test_product_validates_price_and_currency() -> None:
    with pytest.raises(ValueError):
        Product(price="1,00")
    with pytest.raises(ValueError):
        Product(currency="eur")
