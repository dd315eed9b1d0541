"""Reads of the SQLite catalog (sqlite_catalog.py): documents validated once, pages in one step.

Each stored JSON document is validated into its model once: a bounded cache per table maps an
entity id to (the document text it was validated from, the model). A read whose row holds
exactly that text gets the cached model (an equal document validates to an equal model, so
nothing can go stale: any write, by any thread or process, changes the text); any other text
is validated and replaces the entry. Models handed out may therefore be shared between
readers: domain models are frozen (DomainModel: assigning a field raises; `model_copy(update=)`
makes a new one), and their lists and dicts are never changed in place either."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any, Generic, TypeVar

from studiolab.adapters.catalog_common import Entity
from studiolab.adapters.local.sqlite_catalog_schema import Table

E = TypeVar("E", bound=Entity)
# Validated entities kept per table (see the module docstring). An item with its palette is
# about 10 KB of Python objects, so the items table's cache holds at most ~40 MB.
CACHE_ENTRIES = 4096


class LoadCache(Generic[E]):
    """id -> (document text, model validated from it): a read of the same text skips the
    validation. First-in first-out past `size` entries (evictions take a lock, lookups and
    inserts none)."""

    def __init__(self, table: Table[E], size: int = CACHE_ENTRIES) -> None:
        self._table = table
        self._size = size
        self._entries: dict[str, tuple[str, E]] = {}
        self._lock = threading.Lock()

    def load(self, entity_id: str, doc: str) -> E:
        entry = self._entries.get(entity_id)
        if entry is not None and entry[0] == doc:
            return entry[1]
        entity = self._table.load(doc)
        entries = self._entries
        entries[entity_id] = (doc, entity)  # a known id keeps its place in the order
        if len(entries) > self._size:
            with self._lock:
                while len(entries) > self._size:
                    try:
                        del entries[next(iter(entries))]
                    except (KeyError, RuntimeError, StopIteration):  # changed meanwhile
                        break
        return entity

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_SEP = "\x1f"  # in neither ids (EntityId pattern), time keys nor JSON text (escaped there)


def page_rows(conn: sqlite3.Connection, sql: str, args: list[Any]) -> list[tuple[str, str]]:
    """(id, doc) of the rows of `sql` (SELECT id, doc, created_at ... ORDER BY created_at
    DESC, id DESC LIMIT ?), read in one step: the page is aggregated into one row by SQLite.
    sqlite3 releases the GIL around every step, so reading a 50-row page row by row hands
    the GIL to other threads up to 51 times; under concurrent requests each hand-back is a
    wait. group_concat's order over the ordered subquery is not guaranteed by SQLite
    (before 3.44), so it is checked and the plain row-by-row read is the fallback."""
    row = conn.execute(
        "SELECT count(*), group_concat(id, char(31)), group_concat(created_at, char(31)),"  # noqa: S608
        f" group_concat(length(doc)), group_concat(doc, '') FROM ({sql})",
        args,
    ).fetchone()
    count, ids, times, lengths, docs = row
    if not count:
        return []
    id_list = ids.split(_SEP)
    time_list = times.split(_SEP)
    sizes = [int(size) for size in lengths.split(",")]
    keys = list(zip(time_list, id_list, strict=False))
    if (
        len(id_list) == len(time_list) == len(sizes) == count
        and sum(sizes) == len(docs)
        and all(keys[i] > keys[i + 1] for i in range(count - 1))
    ):
        out: list[tuple[str, str]] = []
        start = 0
        for entity_id, size in zip(id_list, sizes, strict=True):
            out.append((entity_id, docs[start : start + size]))
            start += size
        return out
    return [(r[0], r[1]) for r in conn.execute(sql, args).fetchall()]
