"""Browser tests: Debian's Chromium driven by Playwright (its Python package; no browser is
ever downloaded: `executable_path` points at /usr/bin/chromium) against a real
`studiolab up --demo` process. Screenshots land in `.artifacts/browser/` (not committed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("STUDIOLAB_CHROMIUM", "/usr/bin/chromium")
# The flags the issue asks for: no sandbox (root in CI), no GPU, and no background traffic
# (this machine's closed network refuses it, noisily).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = Path(os.environ.get("STUDIOLAB_BROWSER_ARTIFACTS", ".artifacts/browser"))
UP_COMMAND = [sys.executable, "-m", "studiolab", "up", "--demo", "--port", "0", "--workers", "2"]
UP_LINE = re.compile(r"studiolab is up at (http://\S+)")
SHOP_LINE = re.compile(r"demo shop at (http://\S+)")


@dataclass(frozen=True)
class Stack:
    url: str
    shop_url: str
    data_dir: Path


def _read_urls(stdout: Path, process: subprocess.Popen[bytes], log: Path) -> tuple[str, str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = stdout.read_text(errors="replace") if stdout.exists() else ""
        up, shop = UP_LINE.search(text), SHOP_LINE.search(text)
        if up and shop:
            return up.group(1), shop.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"studiolab up did not start:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`studiolab up --demo` on free ports with a fresh data dir; its logs go to files (a
    pipe nobody reads would fill up and stall the server)."""
    root = tmp_path_factory.mktemp("up")
    data_dir = root / "data"
    stdout, log = root / "stdout.txt", root / "log.txt"
    with stdout.open("wb") as out, log.open("wb") as err:
        process = subprocess.Popen(
            [*UP_COMMAND, "--data-dir", str(data_dir)],
            stdout=out,
            stderr=err,
        )
    try:
        url, shop_url = _read_urls(stdout, process, log)
        yield Stack(url.rstrip("/"), shop_url.rstrip("/"), data_dir)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, ARTIFACTS / "studiolab-up.log")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
            "(apt-get install chromium); set STUDIOLAB_CHROMIUM to use another binary"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh context (empty storage, own profile) per test; JavaScript errors fail it; a
    screenshot of the last state is kept whatever the outcome."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)  # type: ignore[attr-defined]
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(15_000)
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"), full_page=True)
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def call(stack: Stack, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One API request (JSON in and out) beside the browser, e.g. to set up or to compare."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{stack.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        raw = reply.read()
    return json.loads(raw) if raw else None


def wait_for_field(
    stack: Stack, path: str, field: str, done: set[str], timeout_s: float
) -> dict[str, Any]:
    """GET `path` until its `field` is one of `done`; the last document."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        document: dict[str, Any] = call(stack, "GET", path)
        if document[field] in done:
            return document
        time.sleep(0.5)
    raise AssertionError(f"{path}: {field} not in {sorted(done)} after {timeout_s} s")
