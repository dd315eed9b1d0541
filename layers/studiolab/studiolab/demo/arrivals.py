"""The arrival log: every request the demo shop receives, with its monotonic arrival time.

Kept in memory (`ArrivalLog.snapshot`) and optionally appended to a JSONL file, one line per
finished request. `politeness` turns arrival times into what the politeness benchmark reports."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO


@dataclass(frozen=True)
class Arrival:
    t: float  # time.monotonic() when the request line was read
    wall: float  # time.time() at the same moment
    method: str
    path: str  # path and query as sent
    client: str  # "ip:port" of the connection
    user_agent: str
    status: int | None = None  # None while the request is being handled
    duration_ms: float | None = None  # arrival until the answer was ready to send


class _Record:
    __slots__ = ("client", "duration_ms", "method", "path", "status", "t", "user_agent", "wall")

    def __init__(self, method: str, path: str, client: str, user_agent: str) -> None:
        self.t = time.monotonic()
        self.wall = time.time()
        self.method, self.path, self.client, self.user_agent = method, path, client, user_agent
        self.status: int | None = None
        self.duration_ms: float | None = None

    def freeze(self) -> Arrival:
        return Arrival(
            self.t, self.wall, self.method, self.path, self.client, self.user_agent,
            self.status, self.duration_ms,
        )  # fmt: skip


class ArrivalLog:
    def __init__(self, jsonl_path: Path | None = None) -> None:
        self._records: list[_Record] = []
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        if jsonl_path is not None:
            jsonl_path.parent.mkdir(parents=True, exist_ok=True)
            self._file = jsonl_path.open("a", encoding="utf-8", buffering=1)

    def start(self, method: str, path: str, client: str, user_agent: str) -> _Record:
        record = _Record(method, path, client, user_agent)
        with self._lock:
            self._records.append(record)
        return record

    def finish(self, record: _Record, status: int) -> None:
        record.status = status
        record.duration_ms = round((time.monotonic() - record.t) * 1000, 3)
        if self._file is not None:
            line = json.dumps(asdict(record.freeze()), ensure_ascii=False)
            with self._lock:
                if self._file is not None:
                    self._file.write(line + "\n")

    def snapshot(self) -> list[Arrival]:
        with self._lock:
            return [record.freeze() for record in self._records]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


@dataclass(frozen=True)
class Politeness:
    requests: int
    max_in_window: int  # most requests that arrived within any `window` seconds
    window: float
    min_interval: float | None  # smallest gap between consecutive arrivals (s)
    mean_rate: float | None  # requests per second between the first and the last arrival


def max_in_window(times: Sequence[float], window: float = 1.0) -> int:
    """Most arrivals in any half-open interval [t, t + window)."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def politeness(arrivals: Sequence[Arrival], window: float = 1.0) -> Politeness:
    times = sorted(arrival.t for arrival in arrivals)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return Politeness(
        requests=len(times),
        max_in_window=max_in_window(times, window),
        window=window,
        min_interval=min(gaps) if gaps else None,
        mean_rate=(len(times) - 1) / span if span > 0 else None,
    )
