"""One SQLite database file shared by the local catalog and the job queue.

WAL mode and a busy timeout so API threads, worker threads and Map iterations can read and
write at once; one connection per thread (sqlite3 connections must not cross threads)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from studiolab.domain.errors import BackendError, DataDirError

# Marks the file as ours: a SQLite file from another program is refused, never altered.
APPLICATION_ID = 0x53544C42  # "STLB"
BUSY_TIMEOUT_MS = 30_000


class SqliteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._schema_lock = threading.RLock()
        self._all: list[sqlite3.Connection] = []
        self._check_ownership()

    def _check_ownership(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb") as handle:
            header = handle.read(16)
        if header != b"SQLite format 3\x00":
            raise DataDirError(
                f"{self.path} exists but is not a SQLite database; refusing to touch it"
            )
        app_id = self.connection().execute("PRAGMA application_id").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):
            raise DataDirError(
                f"{self.path} belongs to another application (application_id {app_id:#x})"
            )

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as error:
                raise DataDirError(f"cannot open {self.path}: {error}") from error
            self._local.conn = conn
            with self._schema_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock up front, so read-then-write is atomic."""
        conn = self.connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise BackendError(f"database busy: {error}") from error
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def ensure_schema(self, ddl: str) -> None:
        """Create tables/indexes (idempotent DDL: CREATE ... IF NOT EXISTS) and stamp the file."""
        with self._schema_lock:
            conn = self.connection()
            conn.executescript(f"BEGIN; {ddl}; PRAGMA application_id={APPLICATION_ID}; COMMIT;")

    def close(self) -> None:
        with self._schema_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
