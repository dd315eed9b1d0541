"""SqliteJobQueue: claim/lease, retries with backoff, dead jobs, recovery, admin."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.adapters.local.sqlite_jobs import SqliteJobQueue
from studiolab.adapters.system import SystemClock
from studiolab.domain.errors import InvalidInput, NotFound

T0 = datetime(2026, 11, 3, 9, 0, 0, 123456, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self._now = now
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


class UpperBound(random.Random):
    """An rng whose jitter is always the ceiling: makes the backoff exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteDatabase]:
    database = SqliteDatabase(tmp_path / "catalog.sqlite")
    yield database
    database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(db: SqliteDatabase, clock: FakeClock) -> SqliteJobQueue:
    return SqliteJobQueue(
        db,
        clock=clock,
        topics={"vision", "palette"},
        max_attempts=4,
        base_delay_s=2.0,
        max_delay_s=10.0,
        lease_s=60.0,
        rng=UpperBound(),
    )


def test_submit_then_claim_leases_the_job(queue: SqliteJobQueue, clock: FakeClock) -> None:
    job_id = queue.submit("vision", {"key": "raw/p/i.jpg"})
    assert queue.stats() == {"pending": 1, "running": 0, "done": 0, "dead": 0}

    job = queue.claim("w1")

    assert job is not None and job.id == job_id
    assert job.payload == {"key": "raw/p/i.jpg"}
    assert (job.status, job.attempts, job.worker) == ("running", 0, "w1")
    assert job.lease_until == T0 + timedelta(seconds=60)
    assert job.created_at == T0  # microseconds survive the round trip
    assert queue.claim("w2") is None
    assert queue.stats()["running"] == 1


def test_submit_validates(queue: SqliteJobQueue) -> None:
    with pytest.raises(InvalidInput, match="unknown topic"):
        queue.submit("export", {})
    with pytest.raises(InvalidInput):
        queue.submit("", {})
    with pytest.raises(InvalidInput, match="JSON"):
        queue.submit("vision", {"at": datetime.now(UTC)})
    with pytest.raises(InvalidInput, match="mapping"):
        queue.submit("vision", ["not", "a", "mapping"])  # type: ignore[arg-type]
    assert queue.stats()["pending"] == 0


def test_any_topic_when_topics_not_given(db: SqliteDatabase, clock: FakeClock) -> None:
    queue = SqliteJobQueue(db, clock=clock)
    queue.submit("anything", {})
    assert queue.stats()["pending"] == 1


def test_jobs_are_claimed_in_due_order(queue: SqliteJobQueue, clock: FakeClock) -> None:
    first = queue.submit("vision", {"n": 1})
    clock.advance(1)
    second = queue.submit("vision", {"n": 2})
    assert [queue.claim("w").id, queue.claim("w").id] == [first, second]  # type: ignore[union-attr]


def test_backoff_math_exact_at_the_jitter_ceiling(queue: SqliteJobQueue) -> None:
    # base 2 s, cap 10 s: ceilings 2, 4, 8, 10, 10
    assert [queue.backoff(n) for n in range(1, 6)] == [2.0, 4.0, 8.0, 10.0, 10.0]


def test_full_jitter_stays_within_bounds(db: SqliteDatabase, clock: FakeClock) -> None:
    queue = SqliteJobQueue(
        db, clock=clock, base_delay_s=1.0, max_delay_s=300.0, rng=random.Random(7)
    )
    for attempts in range(1, 12):
        ceiling = min(300.0, 2.0 ** (attempts - 1))
        delays = [queue.backoff(attempts) for _ in range(300)]
        assert all(0.0 <= delay <= ceiling for delay in delays)
        # full jitter: spread over the whole range, not clustered at the top
        assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9


def test_retry_with_backoff_then_success(queue: SqliteJobQueue, clock: FakeClock) -> None:
    job_id = queue.submit("vision", {"n": 1})

    queue.claim("w1")
    failed = queue.fail(job_id, "TimeoutError: shop slow", worker_id="w1")
    assert failed is not None
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert failed.next_run_at == T0 + timedelta(seconds=2)
    assert failed.last_error == "TimeoutError: shop slow"
    assert failed.lease_until is None

    clock.advance(1.9)
    assert queue.claim("w1") is None  # not due yet
    clock.advance(0.1)
    assert queue.claim("w1") is not None
    second = queue.fail(job_id, "TimeoutError: again", worker_id="w1")
    assert second is not None and second.attempts == 2
    assert second.next_run_at == T0 + timedelta(seconds=2 + 4)

    clock.advance(4)
    again = queue.claim("w2")
    assert again is not None and again.attempts == 2
    queue.complete(job_id)

    done = queue.get(job_id)
    assert (done.status, done.attempts) == ("done", 2)
    assert queue.stats() == {"pending": 0, "running": 0, "done": 1, "dead": 0}


def test_dead_after_max_attempts_and_visible(queue: SqliteJobQueue, clock: FakeClock) -> None:
    job_id = queue.submit("palette", {"n": 1})
    for attempt in range(1, 5):
        assert queue.claim("w") is not None
        assert queue.fail(job_id, f"ValueError: bad {attempt}") is not None
        clock.advance(60)
    job = queue.get(job_id)
    assert job.status == "dead" and job.attempts == 4
    assert queue.claim("w") is None
    assert queue.stats()["dead"] == 1
    [listed] = queue.list("dead")
    assert listed.id == job_id and listed.last_error == "ValueError: bad 4"
    assert queue.list("pending") == []


def test_fail_without_retry_is_dead_at_once(queue: SqliteJobQueue) -> None:
    job_id = queue.submit("vision", {})
    queue.claim("w")
    job = queue.fail(job_id, "no handler", retry=False)
    assert job is not None and (job.status, job.attempts) == ("dead", 1)


def test_retry_dead(queue: SqliteJobQueue, clock: FakeClock) -> None:
    ids = [queue.submit("vision", {"n": n}) for n in range(3)]
    for job_id in ids:
        queue.claim("w")
        queue.fail(job_id, "boom", retry=False)
    assert queue.stats()["dead"] == 3

    assert queue.retry_dead(ids[0]) == 1
    revived = queue.get(ids[0])
    assert (revived.status, revived.attempts, revived.next_run_at) == ("pending", 0, T0)
    assert revived.last_error == "boom"  # kept for the record
    assert queue.retry_dead(ids[0]) == 0  # not dead any more
    with pytest.raises(NotFound):
        queue.retry_dead("job_nope")

    assert queue.retry_dead() == 2
    assert queue.stats() == {"pending": 3, "running": 0, "done": 0, "dead": 0}
    assert queue.claim("w") is not None


def test_expired_lease_is_reclaimed(queue: SqliteJobQueue, clock: FakeClock) -> None:
    job_id = queue.submit("vision", {})
    assert queue.claim("w1") is not None
    clock.advance(59)
    assert queue.claim("w2") is None  # lease still held
    clock.advance(1)

    taken = queue.claim("w2")

    assert taken is not None and taken.id == job_id and taken.worker == "w2"
    assert taken.attempts == 1 and taken.last_error == "lease expired (worker w1)"
    # the first worker wakes up and fails: it no longer holds the lease, so it is ignored
    assert queue.fail(job_id, "late", worker_id="w1") is None
    assert queue.get(job_id).status == "running"
    # ... but a late success still counts: the handler did run to the end
    queue.complete(job_id)
    assert queue.get(job_id).status == "done"


def test_lease_expiring_too_often_makes_the_job_dead(
    queue: SqliteJobQueue, clock: FakeClock
) -> None:
    job_id = queue.submit("vision", {})
    assert queue.claim("w") is not None
    for attempts in (1, 2, 3):  # each takeover of an expired lease counts as an attempt
        clock.advance(61)
        taken = queue.claim("w")
        assert taken is not None and taken.attempts == attempts
    clock.advance(61)

    # the 4th expiry reaches max_attempts: dead rather than run again
    assert queue.claim("w") is None
    job = queue.get(job_id)
    assert (job.status, job.attempts) == ("dead", 4)
    assert job.last_error is not None and job.last_error.startswith("lease expired")


def test_recover_after_restart(queue: SqliteJobQueue, clock: FakeClock) -> None:
    running = [queue.submit("vision", {"n": n}) for n in range(2)]
    waiting = queue.submit("vision", {"n": 2})
    queue.claim("w1")
    queue.claim("w2")
    assert queue.stats()["running"] == 2

    assert queue.recover_after_restart() == 2

    assert queue.stats() == {"pending": 3, "running": 0, "done": 0, "dead": 0}
    for job_id in running:
        job = queue.get(job_id)
        assert (job.attempts, job.worker, job.lease_until) == (0, None, None)
    claimed = {queue.claim("w").id for _ in range(3)}  # type: ignore[union-attr]
    assert claimed == {*running, waiting}
    assert queue.recover_after_restart() == 3


def test_complete_unknown_job(queue: SqliteJobQueue) -> None:
    with pytest.raises(NotFound):
        queue.complete("job_nope")
    with pytest.raises(NotFound):
        queue.fail("job_nope", "x")


def test_list_and_purge(queue: SqliteJobQueue, clock: FakeClock) -> None:
    old = queue.submit("vision", {"n": 0})
    queue.claim("w")
    queue.complete(old)
    clock.advance(3600)
    recent = queue.submit("vision", {"n": 1})
    queue.claim("w")
    queue.complete(recent)
    pending = queue.submit("vision", {"n": 2})

    assert [job.id for job in queue.list()] == [pending, recent, old]
    assert [job.id for job in queue.list("done", limit=1)] == [recent]
    with pytest.raises(InvalidInput):
        queue.list("lost")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        queue.list(limit=0)

    assert queue.purge_done(timedelta(minutes=30)) == 1
    assert queue.purge_done(T0) == 0
    assert {job.id for job in queue.list()} == {pending, recent}


def test_schema_is_idempotent_and_shared(db: SqliteDatabase, clock: FakeClock) -> None:
    one = SqliteJobQueue(db, clock=clock)
    job_id = one.submit("vision", {})
    two = SqliteJobQueue(db, clock=clock)
    assert two.get(job_id).topic == "vision"


def test_listeners_are_told_of_new_work(queue: SqliteJobQueue) -> None:
    calls: list[str] = []

    def listener() -> None:
        calls.append("x")

    queue.add_listener(listener)
    queue.submit("vision", {})
    queue.remove_listener(listener)
    queue.submit("vision", {})
    assert calls == ["x"]


def test_concurrent_claimers_never_share_a_job(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "catalog.sqlite")
    queue = SqliteJobQueue(db, clock=SystemClock())
    total = 300
    for n in range(total):
        queue.submit("vision", {"n": n})
    claimed: list[list[int]] = [[] for _ in range(8)]
    start = threading.Barrier(8)

    def claimer(index: int) -> None:
        start.wait()
        while (job := queue.claim(f"w{index}")) is not None:
            claimed[index].append(job.payload["n"])
            queue.complete(job.id)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    everything = [n for part in claimed for n in part]
    assert sorted(everything) == list(range(total))  # each exactly once
    assert sum(1 for part in claimed if part) > 1  # really concurrent
    assert queue.stats() == {"pending": 0, "running": 0, "done": total, "dead": 0}
    db.close()
