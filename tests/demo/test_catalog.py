"""The catalog is deterministic, covers the garment categories and is internally consistent."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

import pytest

from studiolab.demo import Catalog, ground_truth, product_at
from studiolab.demo.catalog import CATEGORIES, styles


def test_same_seed_same_catalog_and_prefix_stable() -> None:
    small, large = Catalog(240, seed=7), Catalog(2000, seed=7)
    assert [p for p in small] == [large[i] for i in range(240)]
    assert Catalog(240, seed=7)[17] == small[17]
    assert [p.handle for p in Catalog(240, seed=8)] != [p.handle for p in small]


def test_categories_and_skirt_styles_are_covered() -> None:
    catalog = Catalog(240)
    counts = Counter(p.category for p in catalog)
    assert set(counts) == set(CATEGORIES)
    assert counts["skirt"] == max(counts.values())
    skirt_styles = {p.style for p in catalog if p.category == "skirt"}
    assert {"flare", "pencil", "pleated"} <= skirt_styles
    assert skirt_styles == {slug for slug, _ in styles()["skirt"]}
    small = Catalog(40)  # even small catalogs have the three headline skirt styles
    assert {"flare", "pencil", "pleated"} <= {p.style for p in small if p.category == "skirt"}


def test_products_are_well_formed() -> None:
    catalog = Catalog(240)
    handles = [p.handle for p in catalog]
    skus = [p.sku for p in catalog]
    assert len(set(handles)) == len(handles) and len(set(skus)) == len(skus)
    availability = Counter(p.availability for p in catalog)
    assert availability["InStock"] > 0.75 * len(catalog)
    assert availability["OutOfStock"] > 0
    for product in catalog:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", product.handle)
        assert re.fullmatch(r"\d+\.\d\d", product.price) and Decimal(product.price) > 0
        assert 1 <= len(product.images) <= 3
        assert product.colours and abs(sum(c.fraction for c in product.colours) - 1.0) < 1e-6
        assert product.sizes and product.breadcrumbs[0] == ("Home", "/")
        assert product.updated_at >= product.created_at
        if product.compare_at_price:
            assert Decimal(product.compare_at_price) > Decimal(product.price)
    assert any(p.pattern == "stripes" for p in catalog)
    assert any(spec.figure for p in catalog for spec in p.images)
    assert {p.markup for p in catalog} == {"product", "graph", "group"}


def test_ground_truth_from_handle_alone() -> None:
    product = product_at(123, seed=7)
    truth = ground_truth(product.handle, seed=7)
    assert truth.colours == product.colours
    assert truth.primary.rgb == product.colours[0].rgb or product.pattern == "stripes"
    assert len(truth.images) == len(product.images)
    for image in truth.images:
        assert (image.skin is not None) == image.figure
    with pytest.raises(KeyError):
        ground_truth(product.handle, seed=8)
    with pytest.raises(KeyError):
        ground_truth("no-such-product")


def test_touch_changes_version_and_updated_at() -> None:
    catalog = Catalog(30)
    before = catalog[3]
    after = catalog.touch(before.handle, price="12.00")
    assert after.version == before.version + 1 and after.updated_at > before.updated_at
    assert catalog.get(before.handle) == after and after.price == "12.00"
    assert catalog.ghost_handles(2)[0] not in {p.handle for p in catalog}
