"""The arrival log records every request for the politeness benchmark."""

from __future__ import annotations

import json
import time
from pathlib import Path

from studiolab.demo import max_in_window, politeness, start_demo_shop
from tests.demo.conftest import Client


def test_arrival_log_records_requests(tmp_path: Path) -> None:
    log_file = tmp_path / "arrivals.jsonl"
    with start_demo_shop(20, arrivals_path=log_file) as shop:
        client = Client(shop.url)
        before = time.monotonic()
        paths = ["/robots.txt", "/", shop.catalog[0].path(), "/missing"]
        for path in paths:
            client.get(path, {"User-Agent": "studiolab-test/1.0"})
        arrivals = shop.arrivals()
        assert [a.path for a in arrivals] == paths
        assert [a.status for a in arrivals] == [200, 200, 200, 404]
        assert all(before <= a.t <= time.monotonic() for a in arrivals)
        assert [a.t for a in arrivals] == sorted(a.t for a in arrivals)
        assert all(a.client.startswith("127.0.0.1:") for a in arrivals)
        assert all(a.user_agent == "studiolab-test/1.0" and a.method == "GET" for a in arrivals)
        assert all(a.duration_ms is not None and a.duration_ms >= 0 for a in arrivals)
        client.close()
        shop.clear_arrivals()
        assert shop.arrivals() == []
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [line["path"] for line in lines] == paths
    assert {"t", "wall", "method", "path", "client", "user_agent", "status"} <= set(lines[0])


def test_politeness_summary() -> None:
    assert max_in_window([0.0, 0.5, 0.99, 1.0, 1.2, 5.0]) == 4  # [0.5, 1.5)
    assert max_in_window([0.0, 1.0, 2.0]) == 1
    assert max_in_window([]) == 0
    with start_demo_shop(5) as shop:
        client = Client(shop.url)
        for _ in range(3):
            client.get("/robots.txt")
            time.sleep(0.05)
        report = politeness(shop.arrivals())
    assert report.requests == 3 and report.max_in_window == 3
    assert report.min_interval is not None and report.min_interval >= 0.04
