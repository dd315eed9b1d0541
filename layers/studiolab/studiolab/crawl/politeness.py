"""Politeness policy: per-domain pacing and concurrency, and the retry schedule.

Pure and thread-safe; the clock and sleep are injectable so tests assert schedules
without waiting.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

Clock = Callable[[], float]
Sleep = Callable[[float], None]

# Scrapy's RETRY_HTTP_CODES: worth another try after a pause.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 522, 524})


def backoff_delay(
    attempt: int, *, base_s: float, max_s: float, rng: Callable[[], float] = random.random
) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(max, base * 2**attempt)].
    `attempt` counts from 0 (the wait after the first failure)."""
    ceiling = min(max_s, base_s * 2.0 ** min(attempt, 30))
    return ceiling * rng()


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date.
    None when absent or unparsable; never negative."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def retry_wait(
    attempt: int,
    retry_after_s: float | None,
    *,
    base_s: float,
    max_s: float,
    retry_after_max_s: float,
    rng: Callable[[], float] = random.random,
) -> float | None:
    """How long to wait before the next attempt, or None to give up (the server asked for
    more than `retry_after_max_s`). A Retry-After is a floor, the jittered backoff on top."""
    if retry_after_s is not None and retry_after_s > retry_after_max_s:
        return None
    jitter = backoff_delay(attempt, base_s=base_s, max_s=max_s, rng=rng)
    return max(jitter, retry_after_s or 0.0)


class DomainThrottle:
    """At most one request start per `delay` seconds per domain, and at most `concurrency`
    requests in flight per domain.

    Slots are reserved in arrival order under a lock, so concurrent callers are spaced
    `delay` apart even though each one sleeps outside the lock. The delay of a domain is
    max(default, robots Crawl-delay); a 429/503 can `pause` a domain.
    """

    def __init__(
        self,
        delay_s: float = 1.0,
        concurrency: int = 2,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if delay_s < 0 or concurrency < 1:
            raise ValueError("delay_s must be >= 0 and concurrency >= 1")
        self.delay_s = delay_s
        self.concurrency = concurrency
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # The last reserved start per domain and any Retry-After pause. The spacing is applied
        # when the NEXT request asks, so a Crawl-delay learnt from robots.txt (fetched as the
        # first request) already spaces the request right after it.
        self._last_start: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}
        self._min_delay: dict[str, float] = {}
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}

    @staticmethod
    def key(domain: str) -> str:
        return domain.strip("[]").lower().rstrip(".")

    def set_min_delay(self, domain: str, delay_s: float | None) -> None:
        """Raise (never lower) a domain's delay, e.g. to its robots.txt Crawl-delay."""
        with self._lock:
            if delay_s is None or delay_s <= 0:
                self._min_delay.pop(self.key(domain), None)
            else:
                self._min_delay[self.key(domain)] = delay_s

    def delay_for(self, domain: str) -> float:
        with self._lock:
            return max(self.delay_s, self._min_delay.get(self.key(domain), 0.0))

    def pause(self, domain: str, seconds: float) -> None:
        """No new request to `domain` for `seconds` from now (Retry-After on 429/503)."""
        key = self.key(domain)
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            self._paused_until[key] = max(self._paused_until.get(key, until), until)

    def wait_turn(self, domain: str) -> float:
        """Block until this caller may start a request; return the (clock) start time."""
        key = self.key(domain)
        with self._lock:
            now = self._clock()
            delay = max(self.delay_s, self._min_delay.get(key, 0.0))
            last = self._last_start.get(key)
            start = max(
                now,
                now if last is None else last + delay,
                self._paused_until.get(key, now),
            )
            self._last_start[key] = start
        if start > now:
            self._sleep(start - now)
        return start

    def _semaphore(self, key: str) -> threading.BoundedSemaphore:
        with self._lock:
            semaphore = self._semaphores.get(key)
            if semaphore is None:
                semaphore = threading.BoundedSemaphore(self.concurrency)
                self._semaphores[key] = semaphore
            return semaphore

    @contextmanager
    def slot(self, domain: str) -> Iterator[float]:
        """Hold one of the domain's concurrency slots, starting on the domain's pace."""
        semaphore = self._semaphore(self.key(domain))
        with semaphore:
            yield self.wait_turn(domain)
