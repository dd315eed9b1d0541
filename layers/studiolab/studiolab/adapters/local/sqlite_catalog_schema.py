"""Tables of the SQLite catalog and how an entity maps onto its indexed columns.

Every entity table holds the model as JSON (`doc`) plus the columns its access patterns
query; listings walk (parent, created_at, id) indexes newest first. Items carry one column
per ItemFilter field (and `item_colours` for colour families) so filters run in SQL; free
text `q` runs as instr() over `search_text` (filters.search_text: casefolded, so it agrees
with ItemFilter.matches beyond ASCII, which LIKE would not)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

from studiolab.adapters.catalog_common import Entity
from studiolab.domain.models import OPEN_STATUSES, Crawler, Export, Item, ItemFilter, Project, Run
from studiolab.domain.models.filters import search_text

_OPEN = ", ".join(f"'{status.value}'" for status in sorted(OPEN_STATUSES))

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY, created_at TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS projects_by_time ON projects (created_at, id);

CREATE TABLE IF NOT EXISTS crawlers (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, created_at TEXT NOT NULL,
    version INTEGER NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS crawlers_by_project ON crawlers (project_id, created_at, id);

CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, crawler_id TEXT NOT NULL, project_id TEXT NOT NULL,
    status TEXT NOT NULL, created_at TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_crawler ON runs (crawler_id, created_at, id);
CREATE INDEX IF NOT EXISTS runs_open ON runs (created_at, id) WHERE status IN ({_OPEN});
-- At most one open run per crawler, whatever the code above it does.
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_open_per_crawler
    ON runs (crawler_id) WHERE status IN ({_OPEN});

CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, crawler_id TEXT, attribute TEXT,
    kind TEXT NOT NULL, state TEXT NOT NULL, model_present INTEGER NOT NULL,
    pose_view TEXT, framing TEXT, created_at TEXT NOT NULL, version INTEGER NOT NULL,
    doc TEXT NOT NULL, search_text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS items_by_project ON items (project_id, created_at, id);
CREATE INDEX IF NOT EXISTS items_by_crawler ON items (crawler_id, created_at, id);
CREATE INDEX IF NOT EXISTS items_by_state ON items (project_id, state, created_at, id);

CREATE TABLE IF NOT EXISTS item_colours (
    item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    colour TEXT NOT NULL,
    PRIMARY KEY (item_id, colour)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS item_colours_by_colour ON item_colours (colour, item_id);

CREATE TABLE IF NOT EXISTS exports (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, created_at TEXT NOT NULL,
    version INTEGER NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS exports_by_project ON exports (project_id, created_at, id);

CREATE TABLE IF NOT EXISTS counts (
    scope TEXT NOT NULL, entity_id TEXT NOT NULL, name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (scope, entity_id, name)
) WITHOUT ROWID
"""

E = TypeVar("E", bound=Entity)
Columns = dict[str, str | int | None]


@dataclass(frozen=True)
class Table(Generic[E]):
    """An entity table: its name, model and the indexed columns derived from an entity
    (besides id, created_at, version and doc, which every table has)."""

    name: str
    model: type[E]
    label: str
    columns: Callable[[E], Columns] = field(default=lambda entity: {})

    def load(self, doc: str) -> E:
        return cast(E, self.model.model_validate_json(doc))

    def with_version(self, entity: E, version: int) -> E:
        return cast(E, entity.model_copy(update={"version": version}))


def _item_columns(item: Item) -> Columns:
    person = item.person
    return {
        "project_id": item.project_id,
        "crawler_id": item.crawler_id,
        "attribute": item.attribute,
        "kind": item.kind,
        "state": item.state,
        "model_present": int(person is not None and person.present),
        "pose_view": person.view if person is not None else None,
        "framing": person.framing if person is not None else None,
        "search_text": search_text(item),
    }


PROJECTS: Table[Project] = Table("projects", Project, "project")
CRAWLERS: Table[Crawler] = Table(
    "crawlers", Crawler, "crawler", lambda crawler: {"project_id": crawler.project_id}
)
RUNS: Table[Run] = Table(
    "runs",
    Run,
    "run",
    lambda run: {
        "crawler_id": run.crawler_id,
        "project_id": run.project_id,
        "status": run.status.value,
    },
)
ITEMS: Table[Item] = Table("items", Item, "item", _item_columns)
EXPORTS: Table[Export] = Table(
    "exports", Export, "export", lambda export: {"project_id": export.project_id}
)

# ItemFilter field -> items column holding the same value (see _item_columns).
_EQUALITY_FILTERS = ("crawler_id", "attribute", "kind", "state", "pose_view", "framing")


def item_filter_sql(filters: ItemFilter | None) -> tuple[list[str], list[str | int]]:
    """WHERE clauses (column names are constants; values are bound) equivalent to
    ItemFilter.matches."""
    if filters is None:
        return [], []
    clauses: list[str] = []
    params: list[str | int] = []
    for name in _EQUALITY_FILTERS:
        value = getattr(filters, name)
        if value is not None:
            clauses.append(f"{name} = ?")
            params.append(value)
    if filters.model_present is not None:
        clauses.append("model_present = ?")
        params.append(int(filters.model_present))
    if filters.colour is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM item_colours c WHERE c.item_id = items.id AND c.colour = ?)"
        )
        params.append(filters.colour)
    if filters.q is not None:
        clauses.append("instr(search_text, ?) > 0")
        params.append(filters.q.casefold())
    return clauses, params


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a catalog made by an older studiolab up to SCHEMA (inside a transaction):
    items.search_text, added and filled from each item's document."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(items)")}
    if "search_text" in columns:
        return
    conn.execute("ALTER TABLE items ADD COLUMN search_text TEXT NOT NULL DEFAULT ''")
    rows = conn.execute("SELECT id, doc FROM items").fetchall()
    conn.executemany(
        "UPDATE items SET search_text = ? WHERE id = ?",
        [(search_text(ITEMS.load(row[1])), row[0]) for row in rows],
    )
