"""The Catalog port on SQLite (the embedded mode).

Every write runs inside `SqliteDatabase.transaction()` (BEGIN IMMEDIATE): the check and the
write it guards happen under the database write lock, so conditional writes, counters and
"one open run per crawler" stay atomic across threads and processes. A partial unique index
backs the open-run rule as well. Reads are plain autocommit SELECTs (WAL snapshots); each
stored document is validated into its model once and a page is read in one SQLite step
(sqlite_reads.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from studiolab.adapters.catalog_common import (
    Entity,
    RunChange,
    check_counts,
    check_item_immutables,
    check_limit,
    decode_cursor,
    encode_cursor,
    item_count_deltas,
    listing_id,
    position_of,
    prepare_run_change,
    time_key,
)
from studiolab.adapters.local.sqlite_catalog_schema import (
    CRAWLERS,
    EXPORTS,
    ITEMS,
    PROJECTS,
    RUNS,
    SCHEMA,
    Table,
    item_filter_sql,
    migrate,
)
from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.adapters.local.sqlite_reads import LoadCache, page_rows
from studiolab.domain.errors import BackendError, ConcurrentUpdate, Conflict, NotFound
from studiolab.domain.models import (
    OPEN_STATUSES,
    Crawler,
    Export,
    Item,
    ItemFilter,
    Project,
    Run,
    RunStatus,
)
from studiolab.domain.ports import CountScope, Page

E = TypeVar("E", bound=Entity)
_OPEN_VALUES = sorted(status.value for status in OPEN_STATUSES)
_OPEN_MARKS = ", ".join("?" for _ in _OPEN_VALUES)


@contextmanager
def _backend_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as error:
        raise BackendError(f"catalog database error: {error}") from error


class SqliteCatalog:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        self._caches: dict[str, LoadCache[Any]] = {
            table.name: LoadCache(table) for table in (PROJECTS, CRAWLERS, RUNS, ITEMS, EXPORTS)
        }
        with _backend_errors():
            db.ensure_schema(SCHEMA)
            with db.transaction() as conn:
                migrate(conn)  # a catalog made by an older studiolab

    # ---- projects ---------------------------------------------------------------------------

    def create_project(self, project: Project) -> Project:
        return self._create(PROJECTS, project)

    def get_project(self, project_id: str) -> Project:
        return self._get(PROJECTS, project_id)

    def update_project(self, project: Project) -> Project:
        return self._update(PROJECTS, project)

    def delete_project(self, project_id: str) -> None:
        self._delete(PROJECTS, project_id)

    def list_projects(self, *, limit: int = 50, cursor: str | None = None) -> Page[Project]:
        return self._list(PROJECTS, listing_id("projects"), [], [], limit, cursor)

    # ---- crawlers ---------------------------------------------------------------------------

    def create_crawler(self, crawler: Crawler) -> Crawler:
        return self._create(CRAWLERS, crawler)

    def get_crawler(self, crawler_id: str) -> Crawler:
        return self._get(CRAWLERS, crawler_id)

    def update_crawler(self, crawler: Crawler) -> Crawler:
        return self._update(CRAWLERS, crawler)

    def delete_crawler(self, crawler_id: str) -> None:
        self._delete(CRAWLERS, crawler_id)

    def list_crawlers(
        self, project_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Crawler]:
        listing = listing_id("crawlers", project_id)
        return self._list(CRAWLERS, listing, ["project_id = ?"], [project_id], limit, cursor)

    # ---- runs -------------------------------------------------------------------------------

    def create_run(self, run: Run) -> Run:
        with _backend_errors(), self._db.transaction() as conn:
            self._refuse_existing(conn, RUNS, run.id)
            if run.status in OPEN_STATUSES:
                open_run = conn.execute(
                    f"SELECT id FROM runs WHERE crawler_id = ? AND status IN ({_OPEN_MARKS})",  # noqa: S608
                    [run.crawler_id, *_OPEN_VALUES],
                ).fetchone()
                if open_run is not None:
                    raise Conflict(
                        f"crawler {run.crawler_id} already has an open run ({open_run['id']})"
                    )
            self._insert(conn, RUNS, run)
        return run

    def get_run(self, run_id: str) -> Run:
        return self._get(RUNS, run_id)

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        set_fields: Mapping[str, Any] | None = None,
        add: Mapping[str, int] | None = None,
        expected_version: int | None = None,
    ) -> Run:
        change: RunChange = prepare_run_change(status, set_fields, add, expected_version)
        with _backend_errors(), self._db.transaction() as conn:
            current = self._read(conn, RUNS, run_id)
            refusal = change.refusal(run_id, current)
            if refusal is not None:
                raise refusal
            assert current is not None
            if not change.writes:
                return current
            updated = change.apply(current)
            self._write(conn, RUNS, updated)
        return updated

    def delete_run(self, run_id: str) -> None:
        self._delete(RUNS, run_id)

    def list_runs(
        self, crawler_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Run]:
        listing = listing_id("runs", crawler_id)
        return self._list(RUNS, listing, ["crawler_id = ?"], [crawler_id], limit, cursor)

    def list_open_runs(self) -> list[Run]:
        with _backend_errors():
            rows = (
                self._db.connection()
                .execute(
                    f"SELECT id, doc FROM runs WHERE status IN ({_OPEN_MARKS})"  # noqa: S608
                    " ORDER BY created_at DESC, id DESC",
                    _OPEN_VALUES,
                )
                .fetchall()
            )
        load = self._caches[RUNS.name].load
        return [load(row["id"], row["doc"]) for row in rows]

    # ---- items ------------------------------------------------------------------------------

    def create_item(self, item: Item) -> Item:
        with _backend_errors(), self._db.transaction() as conn:
            self._refuse_existing(conn, ITEMS, item.id)
            self._insert(conn, ITEMS, item)
            self._write_colours(conn, item)
            for scope, entity_id, deltas in item_count_deltas(item, +1):
                self._add_counts(conn, scope, entity_id, deltas)
        return item

    def get_item(self, item_id: str) -> Item:
        return self._get(ITEMS, item_id)

    def update_item(self, item: Item) -> Item:
        with _backend_errors(), self._db.transaction() as conn:
            stored = self._read_for_update(conn, ITEMS, item)
            check_item_immutables(stored, item)
            updated = ITEMS.with_version(item, item.version + 1)
            self._write(conn, ITEMS, updated)
            self._write_colours(conn, updated)
        return updated

    def delete_item(self, item_id: str) -> None:
        with _backend_errors(), self._db.transaction() as conn:
            item = self._read(conn, ITEMS, item_id)
            if item is None:
                return
            conn.execute("DELETE FROM items WHERE id = ?", [item_id])  # colours cascade
            for scope, entity_id, deltas in item_count_deltas(item, -1):
                self._add_counts(conn, scope, entity_id, deltas)

    def list_items(
        self,
        project_id: str,
        *,
        filters: ItemFilter | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Item]:
        clauses, params = item_filter_sql(filters)
        listing = listing_id("items", project_id, filters or ItemFilter())
        return self._list(
            ITEMS, listing, ["project_id = ?", *clauses], [project_id, *params], limit, cursor
        )

    # ---- counts -----------------------------------------------------------------------------

    def get_counts(self, scope: CountScope, entity_id: str) -> dict[str, int]:
        check_counts(scope, entity_id, {})
        with _backend_errors():
            return self._read_counts(self._db.connection(), scope, entity_id)

    def increment_counts(
        self, scope: CountScope, entity_id: str, deltas: Mapping[str, int]
    ) -> dict[str, int]:
        checked = check_counts(scope, entity_id, deltas)
        with _backend_errors(), self._db.transaction() as conn:
            self._add_counts(conn, scope, entity_id, checked)
            return self._read_counts(conn, scope, entity_id)

    # ---- exports ----------------------------------------------------------------------------

    def create_export(self, export: Export) -> Export:
        return self._create(EXPORTS, export)

    def get_export(self, export_id: str) -> Export:
        return self._get(EXPORTS, export_id)

    def update_export(self, export: Export) -> Export:
        return self._update(EXPORTS, export)

    def delete_export(self, export_id: str) -> None:
        self._delete(EXPORTS, export_id)

    def list_exports(
        self, project_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Export]:
        listing = listing_id("exports", project_id)
        return self._list(EXPORTS, listing, ["project_id = ?"], [project_id], limit, cursor)

    # ---- generic entity plumbing (table and column names are constants, never input) -------

    def _create(self, table: Table[E], entity: E) -> E:
        with _backend_errors(), self._db.transaction() as conn:
            self._refuse_existing(conn, table, entity.id)
            self._insert(conn, table, entity)
        return entity

    def _get(self, table: Table[E], entity_id: str) -> E:
        with _backend_errors():
            entity = self._read(self._db.connection(), table, entity_id)
        if entity is None:
            raise NotFound(f"{table.label} {entity_id} not found")
        return entity

    def _update(self, table: Table[E], entity: E) -> E:
        version: int = entity.version
        with _backend_errors(), self._db.transaction() as conn:
            self._read_for_update(conn, table, entity)
            updated = table.with_version(entity, version + 1)
            self._write(conn, table, updated)
        return updated

    def _delete(self, table: Table[E], entity_id: str) -> None:
        with _backend_errors(), self._db.transaction() as conn:
            conn.execute(f"DELETE FROM {table.name} WHERE id = ?", [entity_id])  # noqa: S608

    def _read(self, conn: sqlite3.Connection, table: Table[E], entity_id: str) -> E | None:
        row = conn.execute(
            f"SELECT doc FROM {table.name} WHERE id = ?",  # noqa: S608
            [entity_id],
        ).fetchone()
        if row is None:
            return None
        cache: LoadCache[E] = self._caches[table.name]
        return cache.load(entity_id, row[0])

    def _read_for_update(self, conn: sqlite3.Connection, table: Table[E], entity: E) -> E:
        """The stored entity, if its version is the one `entity` was read at."""
        entity_id: str = entity.id
        version: int = entity.version
        stored = self._read(conn, table, entity_id)
        if stored is None:
            raise NotFound(f"{table.label} {entity_id} not found")
        stored_version: int = stored.version
        if stored_version != version:
            raise ConcurrentUpdate(
                f"{table.label} {entity_id} is at version {stored_version}, not {version}"
            )
        return stored

    def _refuse_existing(self, conn: sqlite3.Connection, table: Table[E], entity_id: str) -> None:
        found = conn.execute(
            f"SELECT 1 FROM {table.name} WHERE id = ?",  # noqa: S608
            [entity_id],
        ).fetchone()
        if found is not None:
            raise Conflict(f"{table.label} {entity_id} already exists")

    @staticmethod
    def _row(table: Table[E], entity: E) -> dict[str, str | int | None]:
        return {
            "id": entity.id,
            "created_at": time_key(entity.created_at),
            "version": entity.version,
            "doc": entity.model_dump_json(),
            **table.columns(entity),
        }

    def _insert(self, conn: sqlite3.Connection, table: Table[E], entity: E) -> None:
        row = self._row(table, entity)
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        conn.execute(
            f"INSERT INTO {table.name} ({names}) VALUES ({marks})",  # noqa: S608
            list(row.values()),
        )

    def _write(self, conn: sqlite3.Connection, table: Table[E], entity: E) -> None:
        row = self._row(table, entity)
        assignments = ", ".join(f"{name} = ?" for name in row if name != "id")
        conn.execute(
            f"UPDATE {table.name} SET {assignments} WHERE id = ?",  # noqa: S608
            [value for name, value in row.items() if name != "id"] + [row["id"]],
        )

    @staticmethod
    def _write_colours(conn: sqlite3.Connection, item: Item) -> None:
        conn.execute("DELETE FROM item_colours WHERE item_id = ?", [item.id])
        conn.executemany(
            "INSERT INTO item_colours (item_id, colour) VALUES (?, ?)",
            [(item.id, colour) for colour in sorted(item.colour_families)],
        )

    @staticmethod
    def _add_counts(
        conn: sqlite3.Connection, scope: str, entity_id: str, deltas: Mapping[str, int]
    ) -> None:
        conn.executemany(
            "INSERT INTO counts (scope, entity_id, name, value) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (scope, entity_id, name) DO UPDATE SET value = value + excluded.value",
            [(scope, entity_id, name, delta) for name, delta in deltas.items()],
        )

    @staticmethod
    def _read_counts(conn: sqlite3.Connection, scope: str, entity_id: str) -> dict[str, int]:
        rows = conn.execute(
            "SELECT name, value FROM counts WHERE scope = ? AND entity_id = ? ORDER BY name",
            [scope, entity_id],
        ).fetchall()
        return {row["name"]: row["value"] for row in rows}

    def _list(
        self,
        table: Table[E],
        listing: str,
        clauses: list[str],
        params: list[str | int],
        limit: int,
        cursor: str | None,
    ) -> Page[E]:
        check_limit(limit)
        position = decode_cursor(listing, cursor)
        where = list(clauses)
        args: list[str | int] = list(params)
        if position is not None:
            where.append("(created_at, id) < (?, ?)")
            args += [position.time, position.id]
        sql = f"SELECT id, doc, created_at FROM {table.name}"  # noqa: S608
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        with _backend_errors():
            conn = self._db.connection()
            rows = page_rows(conn, sql, [*args, limit + 1])
        load = self._caches[table.name].load
        entities: list[E] = [load(row[0], row[1]) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = entities[-1]
            next_cursor = encode_cursor(listing, position_of(last.created_at, last.id))
        return Page(entities, next_cursor)
