"""`studiolab demo-shop` prints its URL, serves, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from studiolab.runtime.cli import main
from tests.demo.conftest import Client


def test_demo_shop_command_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    log_file = tmp_path / "arrivals.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "studiolab", "demo-shop", "--port", "0", "--products", "30",
         "--no-faults", "--crawl-delay", "2", "--arrivals-log", str(log_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert match, line
        client = Client(match.group(1))
        assert "Crawl-delay: 2" in client.get("/robots.txt").text
        assert len(client.get("/products.json?limit=250").json()["products"]) == 30
        client.close()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "stopped" in out
    assert len(log_file.read_text().splitlines()) == 2


def test_demo_shop_refuses_public_interfaces() -> None:
    result = CliRunner().invoke(main, ["demo-shop", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2 and "loopback" in result.output
