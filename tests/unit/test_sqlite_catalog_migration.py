"""A catalog file made before items.search_text existed is migrated when opened: the column
is added and filled from the stored items, so free-text search finds the old items."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from studiolab.adapters.local.sqlite_catalog import SqliteCatalog
from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.domain.models import Item, ItemFilter

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def test_an_older_catalog_gains_search_text_for_its_items(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    db = SqliteDatabase(path)
    catalog = SqliteCatalog(db)
    for n, name in enumerate(["Red Flare Skirt", "Blue midi"]):
        catalog.create_item(
            Item.model_validate(
                {
                    "id": f"it_{n}",
                    "project_id": "pr_1",
                    "product": {"name": name},
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        )
    db.connection().execute("ALTER TABLE items DROP COLUMN search_text")  # the old layout
    db.close()

    reopened = SqliteDatabase(path)
    try:
        migrated = SqliteCatalog(reopened)
        found = migrated.list_items("pr_1", filters=ItemFilter(q="FLARE")).items
        assert [item.id for item in found] == ["it_0"]
        SqliteCatalog(reopened)  # a second open finds nothing to migrate
        assert len(migrated.list_items("pr_1", filters=ItemFilter(q="i")).items) == 2
    finally:
        reopened.close()
