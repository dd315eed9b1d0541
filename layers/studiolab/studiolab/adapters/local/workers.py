"""Worker threads for the local job table: claim a job, run its topic's handler, report.

Idle workers sleep on a condition variable: `wake()` (called by the queue after each submit)
rouses them at once, otherwise they poll every `poll_interval_s` (retries become due by the
clock, not by a submit). `stop()` is graceful: no new claims, running handlers finish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from studiolab.adapters.local.sqlite_jobs import Job

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], object]


class JobQueue(Protocol):
    """What the pool needs from the queue (SqliteJobQueue implements it)."""

    def claim(self, worker_id: str) -> Job | None: ...
    def complete(self, job_id: str) -> None: ...
    def fail(
        self, job_id: str, error: str, *, worker_id: str | None = None, retry: bool = True
    ) -> Job | None: ...


class WorkerPool:
    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        *,
        threads: int = 2,
        poll_interval_s: float = 0.2,
        name: str = "studiolab-worker",
    ) -> None:
        # 0 is allowed: jobs only queue up (an API-only process; tests of restart recovery).
        if threads < 0:
            raise ValueError("threads must be >= 0")
        if poll_interval_s <= 0:
            raise ValueError("poll_interval_s must be > 0")
        self._queue = queue
        self._handlers = dict(handlers)
        self._size = threads
        self._poll = poll_interval_s
        self._name = name
        self._cond = threading.Condition()
        self._signal = 0  # bumped by wake(); a worker that saw an old value does not sleep
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._busy = 0

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._threads:
                raise RuntimeError("worker pool already started")
            self._stopping = False
            self._threads = [
                threading.Thread(
                    target=self._run,
                    args=(f"{self._name}-{index}",),
                    name=f"{self._name}-{index}",
                    daemon=True,
                )
                for index in range(self._size)
            ]
        add_listener = getattr(self._queue, "add_listener", None)
        if callable(add_listener):
            add_listener(self.wake)
        for thread in self._threads:
            thread.start()
        logger.info("started %d worker thread(s)", self._size)

    def stop(self, timeout: float | None = 30.0) -> bool:
        """Stop claiming and wait up to `timeout` seconds for running handlers to finish.
        True if every thread ended; False if some handler is still running (its job stays
        `running` and is recovered at the next start, or re-claimed when its lease expires)."""
        remove_listener = getattr(self._queue, "remove_listener", None)
        if callable(remove_listener):
            remove_listener(self.wake)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            threads = list(self._threads)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        alive = [thread.name for thread in threads if thread.is_alive()]
        if alive:
            logger.warning("workers still running a handler after %ss: %s", timeout, alive)
            return False
        with self._cond:
            self._threads = []
        logger.info("worker pool stopped")
        return True

    def wake(self) -> None:
        """Rouse idle workers now (new work was queued)."""
        with self._cond:
            self._signal += 1
            self._cond.notify_all()

    @property
    def busy(self) -> int:
        """Workers currently running a handler."""
        with self._cond:
            return self._busy

    # -- the loop -----------------------------------------------------------------------------

    def _run(self, worker_id: str) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                seen = self._signal
            try:
                job = self._queue.claim(worker_id)
            except Exception:
                logger.exception("%s: claiming a job failed; backing off", worker_id)
                job = None
            if job is not None:
                self._handle(worker_id, job)
                continue
            with self._cond:
                if not self._stopping and self._signal == seen:
                    self._cond.wait(self._poll)

    def _handle(self, worker_id: str, job: Job) -> None:
        handler = self._handlers.get(job.topic)
        if handler is None:
            error = f"no handler for topic {job.topic!r} (known: {sorted(self._handlers)})"
            logger.error("job %s: %s", job.id, error)
            self._report(
                job, lambda: self._queue.fail(job.id, error, worker_id=worker_id, retry=False)
            )
            return
        with self._cond:
            self._busy += 1
        started = time.monotonic()
        try:
            handler(job.payload)
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            logger.warning(
                "job %s (%s) attempt %d failed: %s",
                job.id,
                job.topic,
                job.attempts + 1,
                message,
                exc_info=True,
            )
            self._report(job, lambda: self._queue.fail(job.id, message, worker_id=worker_id))
        else:
            logger.debug("job %s (%s) done in %.3fs", job.id, job.topic, time.monotonic() - started)
            self._report(job, lambda: self._queue.complete(job.id))
        finally:
            with self._cond:
                self._busy -= 1

    @staticmethod
    def _report(job: Job, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:
            # The job stays `running`: it is run again when its lease expires or at restart.
            logger.exception("job %s: recording the outcome failed", job.id)
