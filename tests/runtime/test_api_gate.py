"""The local server lets at most `api_concurrency` requests into the API app at once and admits
the waiting ones in arrival order (runtime/server.py FifoGate); socket work, blob URLs and
static files are not gated."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.app import Chalice

from studiolab.runtime.server import FifoGate, LocalServer


def test_gate_refuses_zero_slots() -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        FifoGate(0)


def hold_in_turn(gate: FifoGate, count: int) -> tuple[list[int], int]:
    """`count` threads queue at the gate one after another, hold it until all have queued,
    then record their admission; the admission order and the most inside at once."""
    inside = 0
    most_inside = 0
    admitted: list[int] = []
    lock = threading.Lock()
    release = threading.Event()

    def holder(number: int) -> None:
        nonlocal inside, most_inside
        with gate:
            with lock:
                inside += 1
                most_inside = max(most_inside, inside)
                admitted.append(number)
            release.wait(5)
            time.sleep(0.002)
            with lock:
                inside -= 1

    threads = []
    for number in range(count):
        thread = threading.Thread(target=holder, args=(number,), daemon=True)
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 5  # queued (or inside) before the next one starts
        while len(admitted) + len(gate._waiters) <= number and time.monotonic() < deadline:
            time.sleep(0.001)
    release.set()
    for thread in threads:
        thread.join(5)
    return admitted, most_inside


def test_gate_admits_waiters_in_arrival_order() -> None:
    admitted, most_inside = hold_in_turn(FifoGate(1), 8)
    assert admitted == list(range(8))
    assert most_inside == 1


def test_gate_never_lets_in_more_than_its_slots() -> None:
    admitted, most_inside = hold_in_turn(FifoGate(3), 10)
    assert sorted(admitted) == list(range(10))
    assert most_inside == 3


def test_a_holder_that_raises_gives_its_slot_back() -> None:
    gate = FifoGate(1)
    with pytest.raises(RuntimeError), gate:
        raise RuntimeError("handler failed")
    entered = threading.Event()

    def enter() -> None:
        with gate:
            entered.set()

    threading.Thread(target=enter, daemon=True).start()
    assert entered.wait(2)


class SlowGateway:
    """Stands in for Chalice's LocalGateway: counts how many requests are inside at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most_inside = 0
        self.lock = threading.Lock()

    def handle_request(self, method: str, path: str, headers: Any, body: Any) -> dict[str, Any]:
        with self.lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        time.sleep(0.05)
        with self.lock:
            self.inside -= 1
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LocalServer, SlowGateway]]:
    local = LocalServer("127.0.0.1", 0)
    local.attach(
        api_app=Chalice(app_name="gate-test"),
        blobs=None,
        web_dir=tmp_path,
        max_upload_bytes=1024,
        api_concurrency=2,
    )
    gateway = SlowGateway()
    local.gateway = gateway
    (tmp_path / "index.html").write_text("<p>ui</p>")
    thread = threading.Thread(target=local.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield local, gateway
    local.shutdown()
    local.server_close()
    thread.join(5)


def get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        reply.read()
        return reply.status
    finally:
        connection.close()


def test_server_runs_at_most_api_concurrency_requests_in_the_app(
    server: tuple[LocalServer, SlowGateway],
) -> None:
    local, gateway = server
    port = local.server_address[1]
    statuses: list[int] = []
    clients = [
        threading.Thread(target=lambda: statuses.append(get(port, "/v1/projects")))
        for _ in range(8)
    ]
    for client in clients:
        client.start()
    # static files do not wait for the gate while API requests fill it
    assert get(port, "/index.html") == 200
    for client in clients:
        client.join(10)
    assert statuses == [200] * 8
    assert gateway.most_inside == 2
