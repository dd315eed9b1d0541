"""WorkerPool over a real SqliteJobQueue: handling, retries, dead jobs, wake-up, stop."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.adapters.local.sqlite_jobs import Job, SqliteJobQueue
from studiolab.adapters.local.workers import WorkerPool
from studiolab.adapters.system import SystemClock


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteDatabase]:
    database = SqliteDatabase(tmp_path / "catalog.sqlite")
    yield database
    database.close()


@pytest.fixture
def queue(db: SqliteDatabase) -> SqliteJobQueue:
    return SqliteJobQueue(
        db, clock=SystemClock(), max_attempts=3, base_delay_s=0.01, max_delay_s=0.05
    )


@pytest.fixture
def pools() -> Iterator[list[WorkerPool]]:
    """Pools a test starts; stopped at teardown even if the test fails."""
    started: list[WorkerPool] = []
    yield started
    for pool in started:
        pool.stop(timeout=5)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def drained(queue: SqliteJobQueue) -> Callable[[], bool]:
    def check() -> bool:
        stats = queue.stats()
        return stats["pending"] == stats["running"] == 0

    return check


def start(pools: list[WorkerPool], queue: Any, handlers: Any, **options: Any) -> WorkerPool:
    pool = WorkerPool(queue, handlers, **options)
    pools.append(pool)
    pool.start()
    return pool


def test_handlers_receive_payloads_and_jobs_end_done(
    queue: SqliteJobQueue, pools: list[WorkerPool]
) -> None:
    seen: list[dict[str, Any]] = []
    start(pools, queue, {"vision": seen.append}, threads=2, poll_interval_s=0.05)
    for n in range(10):
        queue.submit("vision", {"n": n})
    wait_for(drained(queue))
    assert sorted(p["n"] for p in seen) == list(range(10))
    assert queue.stats()["done"] == 10


def test_submit_wakes_idle_workers_without_waiting_for_the_poll(
    queue: SqliteJobQueue, pools: list[WorkerPool]
) -> None:
    done = threading.Event()
    start(pools, queue, {"vision": lambda payload: done.set()}, threads=2, poll_interval_s=30)
    time.sleep(0.1)  # both workers are idle, waiting up to 30 s
    queue.submit("vision", {})
    assert done.wait(2), "submit did not wake an idle worker"


def test_failing_handler_is_retried_then_succeeds(
    queue: SqliteJobQueue, pools: list[WorkerPool]
) -> None:
    calls = Counter[int]()

    def flaky(payload: dict[str, Any]) -> None:
        calls[payload["n"]] += 1
        if calls[payload["n"]] < 3:
            raise ConnectionError(f"try {calls[payload['n']]}")

    start(pools, queue, {"vision": flaky}, threads=1, poll_interval_s=0.01)
    job_id = queue.submit("vision", {"n": 7})
    wait_for(drained(queue))
    job = queue.get(job_id)
    assert (job.status, job.attempts, calls[7]) == ("done", 2, 3)
    assert job.last_error == "ConnectionError: try 2"


def test_handler_always_failing_goes_dead(queue: SqliteJobQueue, pools: list[WorkerPool]) -> None:
    def broken(payload: dict[str, Any]) -> None:
        raise ValueError("cannot decode image")

    start(pools, queue, {"vision": broken}, threads=2, poll_interval_s=0.01)
    job_id = queue.submit("vision", {})
    wait_for(drained(queue))
    job = queue.get(job_id)
    assert (job.status, job.attempts) == ("dead", 3)
    assert job.last_error == "ValueError: cannot decode image"
    assert queue.stats()["dead"] == 1


def test_unknown_topic_goes_dead_with_a_clear_error(
    queue: SqliteJobQueue, pools: list[WorkerPool]
) -> None:
    start(pools, queue, {"vision": lambda payload: None}, threads=1, poll_interval_s=0.01)
    job_id = queue.submit("export", {})
    wait_for(drained(queue))
    job = queue.get(job_id)
    assert job.status == "dead" and job.attempts == 1
    assert job.last_error == "no handler for topic 'export' (known: ['vision'])"


def test_each_job_handled_exactly_once_with_many_threads(
    queue: SqliteJobQueue, pools: list[WorkerPool]
) -> None:
    handled = Counter[int]()
    lock = threading.Lock()
    threads_seen: set[str] = set()

    def handler(payload: dict[str, Any]) -> None:
        with lock:
            handled[payload["n"]] += 1
            threads_seen.add(threading.current_thread().name)
        time.sleep(0.001)

    for n in range(200):
        queue.submit("vision", {"n": n})
    start(pools, queue, {"vision": handler}, threads=6, poll_interval_s=0.01)
    wait_for(drained(queue), timeout=30)
    assert handled == Counter(range(200))
    assert len(threads_seen) > 1
    assert queue.stats()["done"] == 200


def test_graceful_stop_lets_the_running_handler_finish(
    queue: SqliteJobQueue, pools: list[WorkerPool]
) -> None:
    started = threading.Event()
    finished: list[int] = []

    def slow(payload: dict[str, Any]) -> None:
        started.set()
        time.sleep(0.3)
        finished.append(payload["n"])

    pool = start(pools, queue, {"vision": slow}, threads=1, poll_interval_s=0.01)
    first = queue.submit("vision", {"n": 1})
    second = queue.submit("vision", {"n": 2})
    assert started.wait(5)

    assert pool.stop(timeout=5) is True

    assert finished == [1]  # the running one finished, the queued one was not started
    assert queue.get(first).status == "done"
    assert queue.get(second).status == "pending"
    queue.submit("vision", {"n": 3})
    time.sleep(0.1)
    assert finished == [1]  # stopped pools take nothing


def test_stop_times_out_when_a_handler_overruns(
    queue: SqliteJobQueue, pools: list[WorkerPool]
) -> None:
    release = threading.Event()
    started = threading.Event()

    def stuck(payload: dict[str, Any]) -> None:
        started.set()
        release.wait(10)

    pool = start(pools, queue, {"vision": stuck}, threads=1, poll_interval_s=0.01)
    job_id = queue.submit("vision", {})
    assert started.wait(5)

    assert pool.stop(timeout=0.1) is False
    assert queue.get(job_id).status == "running"  # recovered at next start if we died now

    release.set()
    wait_for(lambda: queue.get(job_id).status == "done")
    assert pool.stop(timeout=5) is True


def test_idle_workers_do_not_busy_loop(queue: SqliteJobQueue, pools: list[WorkerPool]) -> None:
    claims = Counter[str]()

    class CountingQueue:
        def claim(self, worker_id: str) -> Job | None:
            claims[worker_id] += 1
            return queue.claim(worker_id)

        def complete(self, job_id: str) -> None:
            queue.complete(job_id)

        def fail(
            self, job_id: str, error: str, *, worker_id: str | None = None, retry: bool = True
        ) -> Job | None:
            return queue.fail(job_id, error, worker_id=worker_id, retry=retry)

    start(pools, CountingQueue(), {"vision": lambda p: None}, threads=2, poll_interval_s=0.1)
    time.sleep(0.55)
    # about 6 polls each in 0.55 s; a busy loop would make thousands
    assert 0 < sum(claims.values()) <= 2 * 8


def test_a_failing_claim_does_not_kill_the_worker(
    queue: SqliteJobQueue, pools: list[WorkerPool]
) -> None:
    failures = [RuntimeError("database busy")] * 2
    seen: list[dict[str, Any]] = []

    class FlakyQueue:
        def claim(self, worker_id: str) -> Job | None:
            if failures:
                raise failures.pop()
            return queue.claim(worker_id)

        def complete(self, job_id: str) -> None:
            queue.complete(job_id)

        def fail(
            self, job_id: str, error: str, *, worker_id: str | None = None, retry: bool = True
        ) -> Job | None:
            return queue.fail(job_id, error, worker_id=worker_id, retry=retry)

    queue.submit("vision", {"n": 1})
    start(pools, FlakyQueue(), {"vision": seen.append}, threads=1, poll_interval_s=0.01)
    wait_for(drained(queue))
    assert seen == [{"n": 1}]


def test_start_twice_is_refused(queue: SqliteJobQueue, pools: list[WorkerPool]) -> None:
    pool = start(pools, queue, {}, threads=1)
    with pytest.raises(RuntimeError, match="already started"):
        pool.start()
    assert pool.stop(timeout=5)
    pool.start()  # a stopped pool can start again
