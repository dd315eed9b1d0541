"""Helper process for tests/unit/test_jobs_sigkill.py (run as a script, not imported).

    jobs_worker.py submit-and-run DB LOG N   queue N jobs, then work until killed
    jobs_worker.py recover-and-run DB LOG    recover interrupted jobs, work until drained

Each job's handler sleeps a little, then appends "<n>\\n" to LOG (O_APPEND: one write per
line, so a kill cannot interleave lines; a kill before the write loses only that record).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.adapters.local.sqlite_jobs import SqliteJobQueue
from studiolab.adapters.local.workers import WorkerPool
from studiolab.adapters.system import SystemClock

HANDLER_SLEEP_S = 0.05


def main(argv: list[str]) -> int:
    mode, db_path, log_path = argv[0], Path(argv[1]), Path(argv[2])
    db = SqliteDatabase(db_path)
    queue = SqliteJobQueue(db, clock=SystemClock(), topics={"work"})

    def handler(payload: dict[str, Any]) -> None:
        time.sleep(HANDLER_SLEEP_S)
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{payload['n']}\n".encode())
        finally:
            os.close(fd)

    if mode == "submit-and-run":
        for n in range(int(argv[3])):
            queue.submit("work", {"n": n})
    elif mode == "recover-and-run":
        queue.recover_after_restart()
    else:
        raise SystemExit(f"unknown mode {mode}")

    pool = WorkerPool(queue, {"work": handler}, threads=2, poll_interval_s=0.02)
    pool.start()
    while True:  # the first process is killed in here
        stats = queue.stats()
        if stats["pending"] == stats["running"] == 0:
            break
        time.sleep(0.02)
    pool.stop(timeout=10)
    print(stats, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
