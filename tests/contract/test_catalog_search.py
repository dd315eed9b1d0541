"""Catalog contract for free-text search (ItemFilter.q), run against every adapter: what
list_items returns for q is exactly what ItemFilter.matches accepts - case-insensitively beyond
ASCII, never across two fields, with LIKE wildcards taken literally, alone and combined with
the other filters, paged, and after updates."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from studiolab.domain.models import Item, ItemFilter
from studiolab.domain.ports import Catalog
from tests.contract.test_catalog import (
    CRAWLER,
    OTHER,
    PROJECT,
    collect,
    colour,
    make_item,
    newest_first,
)

# The `catalog` fixture: each adapter in turn.
pytest_plugins = ["tests.contract.catalog_fixtures"]

PRODUCTS: list[dict[str, Any]] = [
    {"product": {"name": "Red Flare Skirt", "brand": "Acme", "sku": "SKU-100"}},
    {"product": {"name": "Pleated midi", "brand": "Straße & Co", "category": "Skirts"}},
    {"product": {"name": "Wrap dress", "description": "100% cotton, made in STRASSE"}},
    {"product": {"name": "ÉMILE maxi", "brand": "acme"}, "texts": {"care": "Wash cold"}},
    {"product": {"name": "abc", "brand": "def"}},
    {"product": {"sku": "snake_case_sku"}, "texts": {"title": "Ideal red top", "x": "émile"}},
    {"product": {}, "texts": {}},
    {"product": {"category": "Dresses"}, "texts": {"body": "Cotton blend; colour: RED"}},
    {"product": {"name": "İstanbul coat", "description": "Σίσυφος ΣΊΣΥΦΟΣ"}},
    {"product": {"name": "Red scarf"}, "kind": "text"},
]
QUERIES = [
    "red",
    "RED",
    "Red Flare",
    "straße",
    "STRASSE",
    "ss",
    "émile",
    "ÉMILE",
    "acme",
    "sku-1",
    "SNAKE_CASE",
    "_",
    "%",
    "100%",
    "cotton",
    "wash COLD",
    "cdef",  # "abc" + "def" are two fields: no match across them
    "abc",
    "σίσυφος",
    "dresses",
    "no such text anywhere",
]


def search_items() -> list[Item]:
    items = []
    for n in range(len(PRODUCTS) * 3):
        data = dict(PRODUCTS[n % len(PRODUCTS)])
        items.append(
            make_item(
                n,
                project_id=OTHER if n % 7 == 6 else PROJECT,
                crawler_id=CRAWLER if n % 2 else "crw_other",
                state="done" if n % 3 else "pending",
                palette=[colour("Red" if n % 4 else "Blue")],
                **data,
            )
        )
    return items


@pytest.fixture
def searchable(catalog: Catalog) -> tuple[Catalog, list[Item]]:
    items = search_items()
    for item in items:
        catalog.create_item(item)
    return catalog, items


def check(catalog: Catalog, items: list[Item], wanted: ItemFilter) -> list[Item]:
    expected = newest_first([i for i in items if i.project_id == PROJECT and wanted.matches(i)])
    for limit in (2, 50):
        found = collect(partial(catalog.list_items, PROJECT, filters=wanted), limit)
        assert [i.id for i in found] == [i.id for i in expected], (wanted, limit)
    return expected


def test_the_search_data_exercises_each_query() -> None:
    """Guards the tests below: the queries must split the items, not match all or none."""
    items = [i for i in search_items() if i.project_id == PROJECT]
    for q in QUERIES:
        hits = [i for i in items if ItemFilter(q=q).matches(i)]
        if q in ("cdef", "no such text anywhere"):
            assert hits == [], q
        else:
            assert 0 < len(hits) < len(items), q


@pytest.mark.parametrize("q", QUERIES)
def test_q_agrees_with_matches(searchable: tuple[Catalog, list[Item]], q: str) -> None:
    check(*searchable, ItemFilter(q=q))


def test_q_is_case_insensitive_beyond_ascii(searchable: tuple[Catalog, list[Item]]) -> None:
    catalog, items = searchable
    for a, b in (("ÉMILE", "émile"), ("STRASSE", "straße"), ("ΣΊΣΥΦΟΣ", "σίσυφος")):
        first = check(catalog, items, ItemFilter(q=a))
        assert first and [i.id for i in first] == [
            i.id for i in check(catalog, items, ItemFilter(q=b))
        ]


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "image"},
        {"crawler_id": CRAWLER},  # DynamoDB reads the crawler index for this one
        {"crawler_id": CRAWLER, "state": "done"},
        {"colour": "Red", "state": "pending"},
        {"colour": "Blue"},
    ],
)
def test_q_combined_with_other_filters_agrees_with_matches(
    searchable: tuple[Catalog, list[Item]], fields: dict[str, Any]
) -> None:
    catalog, items = searchable
    for q in ("red", "acme", "cotton"):
        check(catalog, items, ItemFilter.model_validate({**fields, "q": q}))


def test_updated_items_are_searched_by_their_new_text(catalog: Catalog) -> None:
    item = catalog.create_item(make_item(1, product={"name": "Old name"}))
    changed = item.model_copy(update={"product": item.product.model_copy(update={"name": "New"})})
    catalog.update_item(changed)
    assert catalog.list_items(PROJECT, filters=ItemFilter(q="old")).items == []
    assert [i.id for i in catalog.list_items(PROJECT, filters=ItemFilter(q="NEW")).items] == [
        item.id
    ]
    texts = changed.model_copy(update={"texts": {"note": "Later"}, "version": 2})
    catalog.update_item(texts)
    assert [i.id for i in catalog.list_items(PROJECT, filters=ItemFilter(q="later")).items] == [
        item.id
    ]
