"""Competing CPU load for the API benchmarks (`--busy-cpus N`): N processes spinning for as
long as the measurement runs, so "a machine shared with other work" is a condition the
benchmark sets and reports instead of whatever the other sessions happen to do."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

SPIN = "while True: pass"


@contextlib.contextmanager
def busy_cpus(count: int) -> Iterator[None]:
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()
