"""`studiolab up` as a user runs it: a real process, real HTTP on 127.0.0.1, real signals."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from studiolab.adapters.local.url_signer import UrlSigner, load_or_create_secret
from studiolab.adapters.system import SystemClock

pytestmark = pytest.mark.slow


class Up:
    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "studiolab",
                "up",
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60  # a loaded machine imports slowly
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if "studiolab is up at " in line:
                return line.split("studiolab is up at ")[1].split()[0]
            if not line and self.process.poll() is not None:
                break
        self.process.kill()
        raise AssertionError(
            f"up did not start: {self.process.stderr.read() if self.process.stderr else ''}"
        )

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)


def request(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def job_statuses(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(data_dir / "catalog.sqlite") as conn:
        return dict(conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall())


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def test_health_page_errors_and_clean_stop(data_dir: Path) -> None:
    up = Up(data_dir)
    try:
        status, body = request("GET", f"{up.url}/health")
        assert status == 200
        assert json.loads(body)["status"] == "ok"
        status, body = request("GET", f"{up.url}/")
        assert status == 200 and b"<title>studiolab</title>" in body
        status, body = request("GET", f"{up.url}/no/such/page")
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
        status, body = request("GET", f"{up.url}/blobs/raw/x.jpg?op=get&exp=1&sig=00")
        assert status == 403 and json.loads(body)["error"]["code"] == "forbidden"
    finally:
        assert up.stop() == 0
    assert "stopped" in (up.process.stdout.read() if up.process.stdout else "")


def test_second_up_on_same_data_dir_is_refused(data_dir: Path) -> None:
    up = Up(data_dir)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "studiolab", "up", "--port", "0", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert "already running" in second.stderr
        assert request("GET", f"{up.url}/health")[0] == 200
    finally:
        up.stop()


def test_foreign_data_dir_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "studiolab", "up", "--port", "0", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "not a studiolab data dir" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_signed_urls_and_sigkill_loses_no_job(data_dir: Path) -> None:
    # Workers off: the upload's object-created job stays pending when we kill -9.
    up = Up(data_dir, "--workers", "0")
    signer = UrlSigner(load_or_create_secret(data_dir / "secret.key"), up.url, SystemClock())
    put_url = signer.sign("put", "raw/demo/shirt.jpg", 60)
    assert request("PUT", put_url, b"jpeg bytes")[0] == 200
    get_url = signer.sign("get", "raw/demo/shirt.jpg", 60)
    assert request("GET", get_url) == (200, b"jpeg bytes")
    assert request("GET", get_url.replace("sig=", "sig=0"))[0] == 403
    assert request("GET", get_url.replace("raw/demo/shirt.jpg", "raw/demo/other.jpg"))[0] == 403
    assert job_statuses(data_dir) == {"pending": 1}

    up.process.kill()
    up.process.wait(timeout=30)

    restarted = Up(data_dir, "--workers", "2")
    try:
        deadline = time.monotonic() + 60
        while job_statuses(data_dir) != {"done": 1} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert job_statuses(data_dir) == {"done": 1}
        # data kept across the kill; the secret persists, so a URL signed before the
        # restart still verifies (only the port differs: --port 0)
        assert request("GET", get_url.replace(up.url, restarted.url)) == (200, b"jpeg bytes")
    finally:
        assert restarted.stop(signal.SIGTERM) == 0
