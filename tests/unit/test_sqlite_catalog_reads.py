"""SQLite catalog reads: a stored document is validated once (the cache keyed by its exact
text never serves a stale model), and a page is read in one aggregated step with the plain
row-by-row read as the fallback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from studiolab.adapters.local import sqlite_reads
from studiolab.adapters.local.sqlite_catalog import SqliteCatalog
from studiolab.adapters.local.sqlite_catalog_schema import ITEMS
from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.adapters.local.sqlite_reads import LoadCache, page_rows
from studiolab.domain.models import Item, ItemFilter

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def _item(index: int, **fields: object) -> Item:
    return Item.model_validate(
        {
            "id": f"it_{index:03d}",
            "project_id": "pr_1",
            "product": {"name": f"Grüne Jacke 👗 {index}"},
            "texts": {"note": 'quote " backslash \\ unit separator \x1f end'},
            "created_at": NOW + timedelta(seconds=index % 7),  # ties: id decides
            "updated_at": NOW,
        }
        | fields
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteDatabase]:
    database = SqliteDatabase(tmp_path / "catalog.sqlite")
    yield database
    database.close()


def test_pages_are_the_row_by_row_pages(db: SqliteDatabase) -> None:
    catalog = SqliteCatalog(db)
    items = [_item(i, state="done" if i % 3 else "failed") for i in range(40)]
    for item in items:
        catalog.create_item(item)
    newest_first = sorted(items, key=lambda i: (i.created_at, i.id), reverse=True)
    for filters, expected in (
        (ItemFilter(), newest_first),
        (ItemFilter(state="failed"), [i for i in newest_first if i.state == "failed"]),
        (ItemFilter(q="nothing like this"), []),
    ):
        seen: list[Item] = []
        cursor = None
        while True:
            page = catalog.list_items("pr_1", filters=filters, limit=6, cursor=cursor)
            seen += page.items
            cursor = page.next
            if cursor is None:
                break
        assert seen == expected


def test_an_unchanged_document_is_validated_once(db: SqliteDatabase) -> None:
    catalog = SqliteCatalog(db)
    catalog.create_item(_item(1))
    first = catalog.get_item("it_001")
    assert catalog.get_item("it_001") is first
    assert catalog.list_items("pr_1").items[0] is first


def test_any_change_of_the_stored_document_is_read(tmp_path: Path, db: SqliteDatabase) -> None:
    catalog = SqliteCatalog(db)
    catalog.create_item(_item(1))
    before = catalog.list_items("pr_1").items[0]
    updated = catalog.update_item(before.model_copy(update={"state": "done"}))
    assert catalog.get_item("it_001") == updated
    assert catalog.list_items("pr_1").items[0].state == "done"
    # Another process writes the file (its own connection): the text differs, so it is read.
    other = SqliteDatabase(db.path)
    try:
        changed = updated.model_copy(update={"state": "failed", "version": updated.version + 1})
        other.connection().execute(
            "UPDATE items SET doc = ?, version = ? WHERE id = ?",
            [changed.model_dump_json(), changed.version, changed.id],
        )
    finally:
        other.close()
    assert catalog.list_items("pr_1").items[0] == changed
    assert catalog.get_item("it_001") == changed
    catalog.delete_item("it_001")
    assert catalog.list_items("pr_1").items == []


def test_the_cache_is_bounded() -> None:
    cache: LoadCache[Item] = LoadCache(ITEMS, size=3)
    docs = {f"it_{i:03d}": _item(i).model_dump_json() for i in range(5)}
    for entity_id, doc in docs.items():
        cache.load(entity_id, doc)
    assert len(cache._entries) == 3
    assert list(cache._entries) == ["it_002", "it_003", "it_004"]  # first in, first out
    assert cache.load("it_004", docs["it_004"]) is cache.load("it_004", docs["it_004"])
    assert sqlite_reads.CACHE_ENTRIES >= 1000


def test_page_rows_falls_back_when_the_aggregate_order_is_not_the_listing_order(
    db: SqliteDatabase,
) -> None:
    catalog = SqliteCatalog(db)
    for i in range(5):
        catalog.create_item(_item(i))
    conn = db.connection()
    plain = "SELECT id, doc, created_at FROM items ORDER BY created_at {0}, id {0} LIMIT ?"
    expected_desc = [(r[0], r[1]) for r in conn.execute(plain.format("DESC"), [10])]
    assert page_rows(conn, plain.format("DESC"), [10]) == expected_desc
    # Ascending rows fail the order check: the row-by-row read answers, in its own order.
    expected_asc = [(r[0], r[1]) for r in conn.execute(plain.format("ASC"), [10])]
    assert page_rows(conn, plain.format("ASC"), [10]) == expected_asc
    assert (
        page_rows(conn, plain.format("DESC").replace("FROM items", "FROM items WHERE 0"), [10])
        == []
    )
