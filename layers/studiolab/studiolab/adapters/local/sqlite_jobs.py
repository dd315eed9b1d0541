"""The local Jobs adapter: a durable job table in the catalog's SQLite file.

At-least-once: a job is `done` only after its handler returned. A job claimed by a worker is
`running` with a lease; if the worker dies (process killed) the job is re-claimed once the
lease expires, or at start-up by `recover_after_restart` (the data-dir lock guarantees that no
other process is working on the table then). Failures retry with exponential backoff and full
jitter; after `max_attempts` failed attempts the job is `dead`, kept for inspection and
`retry_dead`.

Times are stored as integer microseconds since the Unix epoch (exact round trip, sortable).
A running job's `next_run_at` equals its `lease_until`, so one index on (status, next_run_at)
finds both due pending jobs and running jobs whose lease expired.
"""

from __future__ import annotations

import builtins
import json
import logging
import random
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast, get_args

from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.adapters.system import UlidIds
from studiolab.domain.errors import BackendError, InvalidInput, NotFound
from studiolab.domain.ports import MAX_PAGE_SIZE, Clock, IdGenerator

logger = logging.getLogger(__name__)

JobStatus = Literal["pending", "running", "done", "dead"]
JOB_STATUSES: tuple[JobStatus, ...] = get_args(JobStatus)
LEASE_EXPIRED = "lease expired"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    topic       TEXT NOT NULL,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_run_at INTEGER NOT NULL,
    lease_until INTEGER,
    worker      TEXT,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_status_next_run_at ON jobs (status, next_run_at);
"""

# The next due job: the oldest expired lease or the oldest due pending job. Two index range
# scans of one row each (an IN (...) with ORDER BY would sort every due row on each claim).
_NEXT_DUE = """
SELECT * FROM (
    SELECT id, status, attempts, worker, next_run_at FROM jobs
    WHERE status = 'running' AND next_run_at <= ?1 ORDER BY next_run_at LIMIT 1
)
UNION ALL
SELECT * FROM (
    SELECT id, status, attempts, worker, next_run_at FROM jobs
    WHERE status = 'pending' AND next_run_at <= ?1 ORDER BY next_run_at LIMIT 1
)
ORDER BY next_run_at LIMIT 1
"""


def _to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the clock must return timezone-aware UTC")
    return (moment - _EPOCH) // _US


def _from_us(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True)
class Job:
    id: str
    topic: str
    payload: dict[str, Any]
    status: JobStatus
    attempts: int
    next_run_at: datetime
    lease_until: datetime | None
    worker: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        return cls(
            id=row["id"],
            topic=row["topic"],
            payload=json.loads(row["payload"]),
            status=cast(JobStatus, row["status"]),
            attempts=row["attempts"],
            next_run_at=cast(datetime, _from_us(row["next_run_at"])),
            lease_until=_from_us(row["lease_until"]),
            worker=row["worker"],
            last_error=row["last_error"],
            created_at=cast(datetime, _from_us(row["created_at"])),
            updated_at=cast(datetime, _from_us(row["updated_at"])),
        )


class SqliteJobQueue:
    """Implements the Jobs port (`submit`) plus what the worker pool and the admin CLI need."""

    def __init__(
        self,
        db: SqliteDatabase,
        *,
        clock: Clock,
        topics: Collection[str] | None = None,
        max_attempts: int = 5,
        base_delay_s: float = 1.0,
        max_delay_s: float = 300.0,
        lease_s: float = 900.0,
        ids: IdGenerator | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if base_delay_s < 0 or max_delay_s < 0 or lease_s <= 0:
            raise ValueError("delays must be >= 0 and lease_s > 0")
        self._db = db
        self._clock = clock
        self._topics = frozenset(topics) if topics is not None else None
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.lease_s = lease_s
        self._ids: IdGenerator = ids or UlidIds()
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._listeners: builtins.list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()
        db.ensure_schema(SCHEMA)

    # -- Jobs port ---------------------------------------------------------------------------

    def submit(self, topic: str, payload: Mapping[str, Any]) -> str:
        """Queue one job, due now. Inside a caller's open transaction on this thread the
        insert joins it (so a catalog write and its job commit together)."""
        if not isinstance(topic, str) or not topic:
            raise InvalidInput("topic must be a non-empty string", fields={"topic": "required"})
        if self._topics is not None and topic not in self._topics:
            raise InvalidInput(f"unknown topic {topic!r}", fields={"topic": "unknown"})
        if not isinstance(payload, Mapping):
            raise InvalidInput("payload must be a mapping", fields={"payload": "not a mapping"})
        try:
            body = json.dumps(dict(payload), allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise InvalidInput(
                f"payload is not JSON-serialisable: {error}", fields={"payload": "not JSON"}
            ) from error
        job_id = self._ids.new_id("job")
        now = _to_us(self._clock.now())
        with self._errors():
            self._db.connection().execute(
                "INSERT INTO jobs (id, topic, payload, status, attempts, next_run_at,"
                " created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)",
                (job_id, topic, body, now, now, now),
            )
        self._notify()
        return job_id

    # -- worker side ------------------------------------------------------------------------

    def claim(self, worker_id: str) -> Job | None:
        """Atomically take the next due job (pending and due, or running with an expired
        lease) and lease it to `worker_id`; None when nothing is due.

        Taking over an expired lease counts as a failed attempt ("lease expired"): a job
        whose handler hangs or keeps killing its worker ends up dead, not in a loop."""
        while True:
            now = self._clock.now()
            now_us = _to_us(now)
            lease_us = _to_us(now + timedelta(seconds=self.lease_s))
            with self._errors():
                # a plain read first: idle polls never take the write lock (WAL readers
                # do not block the catalog's writers)
                if self._db.connection().execute(_NEXT_DUE, (now_us,)).fetchone() is None:
                    return None
            with self._errors(), self._db.transaction() as conn:
                row = conn.execute(_NEXT_DUE, (now_us,)).fetchone()
                if row is None:
                    return None
                expired = row["status"] == "running"
                if expired and row["attempts"] + 1 >= self.max_attempts:
                    conn.execute(
                        "UPDATE jobs SET status = 'dead', attempts = attempts + 1,"
                        " lease_until = NULL, last_error = ?, updated_at = ? WHERE id = ?",
                        (f"{LEASE_EXPIRED} (worker {row['worker']})", now_us, row["id"]),
                    )
                    logger.error("job %s is dead: lease expired too often", row["id"])
                    continue
                claimed = conn.execute(
                    "UPDATE jobs SET status = 'running', worker = ?, lease_until = ?,"
                    " next_run_at = ?, updated_at = ?,"
                    " attempts = attempts + ?, last_error = COALESCE(?, last_error)"
                    " WHERE id = ? RETURNING *",
                    (
                        worker_id,
                        lease_us,
                        lease_us,
                        now_us,
                        1 if expired else 0,
                        f"{LEASE_EXPIRED} (worker {row['worker']})" if expired else None,
                        row["id"],
                    ),
                ).fetchone()
            if expired:
                logger.warning("job %s: lease expired, re-claimed by %s", row["id"], worker_id)
            return Job.from_row(claimed)

    def complete(self, job_id: str) -> None:
        """The handler returned: the job is done (even if its lease had been taken over)."""
        now_us = _to_us(self._clock.now())
        with self._errors():
            cursor = self._db.connection().execute(
                "UPDATE jobs SET status = 'done', lease_until = NULL, updated_at = ?"
                " WHERE id = ? AND status != 'done'",
                (now_us, job_id),
            )
        if cursor.rowcount == 0:
            self.get(job_id)  # NotFound if absent; already done is fine

    def fail(
        self, job_id: str, error: str, *, worker_id: str | None = None, retry: bool = True
    ) -> Job | None:
        """The handler raised: count the attempt and schedule a retry with backoff, or make
        the job dead after `max_attempts` (or at once with retry=False).

        Applies only to a running job (and, with `worker_id`, only to that worker's lease: a
        worker whose lease was taken over cannot reschedule the new holder's run). Returns the
        job after the change, or None when it did not apply."""
        now = self._clock.now()
        with self._errors(), self._db.transaction() as conn:
            row = conn.execute(
                "SELECT attempts, status, worker FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"job {job_id} not found")
            if row["status"] != "running" or (worker_id is not None and row["worker"] != worker_id):
                logger.warning("job %s: ignoring stale failure report: %s", job_id, error)
                return None
            attempts = row["attempts"] + 1
            if not retry or attempts >= self.max_attempts:
                status, next_run = "dead", now
            else:
                status, next_run = "pending", now + timedelta(seconds=self.backoff(attempts))
            updated = conn.execute(
                "UPDATE jobs SET status = ?, attempts = ?, next_run_at = ?, lease_until = NULL,"
                " last_error = ?, updated_at = ? WHERE id = ? RETURNING *",
                (status, attempts, _to_us(next_run), error, _to_us(now), job_id),
            ).fetchone()
        if status == "dead":
            logger.error("job %s is dead after %d attempt(s): %s", job_id, attempts, error)
        return Job.from_row(updated)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failure: full jitter, uniform in
        [0, min(max_delay, base * 2^(attempts-1))]."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** max(attempts - 1, 0))
        with self._rng_lock:
            return self._rng.uniform(0.0, ceiling)

    def recover_after_restart(self) -> int:
        """Make every running job pending again, due now; returns how many. Only safe when no
        other process works on this table (the data-dir lock); call it before starting
        workers. Not counted as an attempt: the restart is not the job's fault."""
        now_us = _to_us(self._clock.now())
        with self._errors():
            cursor = self._db.connection().execute(
                "UPDATE jobs SET status = 'pending', next_run_at = ?, lease_until = NULL,"
                " worker = NULL, updated_at = ? WHERE status = 'running'",
                (now_us, now_us),
            )
        if cursor.rowcount:
            logger.info("recovered %d interrupted job(s)", cursor.rowcount)
            self._notify()
        return cursor.rowcount

    # -- inspection and admin ---------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        with self._errors():
            row = (
                self._db.connection()
                .execute("SELECT * FROM jobs WHERE id = ?", (job_id,))
                .fetchone()
            )
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return Job.from_row(row)

    def stats(self) -> dict[str, int]:
        """Number of jobs per status; every status present."""
        counts: dict[str, int] = dict.fromkeys(JOB_STATUSES, 0)
        with self._errors():
            for row in self._db.connection().execute(
                "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status"
            ):
                counts[row["status"]] = row["n"]
        return counts

    def list(self, status: JobStatus | None = None, limit: int = 100) -> builtins.list[Job]:
        """Jobs with `status` (all when None), most recently updated first."""
        if status is not None and status not in JOB_STATUSES:
            raise InvalidInput(f"unknown job status {status!r}", fields={"status": "unknown"})
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidInput(f"limit must be in 1..{MAX_PAGE_SIZE}", fields={"limit": "range"})
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        with self._errors():
            rows = (
                self._db.connection()
                .execute(
                    f"SELECT * FROM jobs {where} ORDER BY updated_at DESC, id DESC LIMIT ?",  # noqa: S608
                    (*params, limit),
                )
                .fetchall()
            )
        return [Job.from_row(row) for row in rows]

    def retry_dead(self, job_id: str | None = None) -> int:
        """Give dead jobs (one, or all when None) a fresh set of attempts, due now; returns
        how many. NotFound if `job_id` does not exist; 0 if it exists but is not dead."""
        now_us = _to_us(self._clock.now())
        sql = (
            "UPDATE jobs SET status = 'pending', attempts = 0, next_run_at = ?,"
            " lease_until = NULL, worker = NULL, updated_at = ? WHERE status = 'dead'"
        )
        params: tuple[Any, ...] = (now_us, now_us)
        if job_id is not None:
            sql, params = sql + " AND id = ?", (*params, job_id)
        with self._errors():
            count = self._db.connection().execute(sql, params).rowcount
        if job_id is not None and count == 0:
            self.get(job_id)
        if count:
            self._notify()
        return count

    def purge_done(self, older_than: datetime | timedelta) -> int:
        """Delete done jobs last updated before `older_than` (a moment, or an age relative to
        now); returns how many."""
        cutoff = self._clock.now() - older_than if isinstance(older_than, timedelta) else older_than
        with self._errors():
            return (
                self._db.connection()
                .execute(
                    "DELETE FROM jobs WHERE status = 'done' AND updated_at < ?", (_to_us(cutoff),)
                )
                .rowcount
            )

    # -- submit notifications (the worker pool's wake-up) -------------------------------------

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call `callback()` after each submit / recovery / retry (e.g. WorkerPool.wake)."""
        with self._listeners_lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        with self._listeners_lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def _notify(self) -> None:
        with self._listeners_lock:
            listeners = builtins.list(self._listeners)
        for callback in listeners:
            try:
                callback()
            except Exception:
                logger.exception("job listener failed")

    @staticmethod
    @contextmanager
    def _errors() -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise BackendError(f"job table: {error}") from error
