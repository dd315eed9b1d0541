"""Durability: a worker process SIGKILLed mid-way loses no job.

Given a process that queued N jobs and is running them, when it is killed with SIGKILL (no
cleanup at all), then a new process that runs recover_after_restart + workers brings every
job to `done`, each having run to completion at least once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.adapters.local.sqlite_jobs import SqliteJobQueue
from studiolab.adapters.system import SystemClock

HELPER = Path(__file__).resolve().parents[1] / "support" / "jobs_worker.py"
N = 40

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def completions(log: Path) -> list[int]:
    if not log.exists():
        return []
    return [int(line) for line in log.read_text().splitlines() if line]


def test_sigkill_mid_way_loses_no_job(tmp_path: Path) -> None:
    db_path, log = tmp_path / "catalog.sqlite", tmp_path / "completions.log"

    first = subprocess.Popen(
        [sys.executable, str(HELPER), "submit-and-run", str(db_path), str(log), str(N)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while len(completions(log)) < 6:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "first worker made no progress"
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        first.stdout.close()  # type: ignore[union-attr]
        first.stderr.close()  # type: ignore[union-attr]

    db = SqliteDatabase(db_path)
    queue = SqliteJobQueue(db, clock=SystemClock())
    after_kill = queue.stats()
    db.close()
    assert after_kill["done"] < N, "killed too late to test anything"
    assert sum(after_kill.values()) == N  # every submitted job is in the table
    before = set(completions(log))

    second = subprocess.run(
        [sys.executable, str(HELPER), "recover-and-run", str(db_path), str(log)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode == 0, second.stderr

    db = SqliteDatabase(db_path)
    queue = SqliteJobQueue(db, clock=SystemClock())
    assert queue.stats() == {"pending": 0, "running": 0, "done": N, "dead": 0}
    db.close()
    runs = completions(log)
    assert set(runs) == set(range(N))  # every job completed at least once
    assert set(runs) - before  # the second process did real work
