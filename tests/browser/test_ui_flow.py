"""The management UI end to end, as a data team uses it: create a project and a crawler,
run it and watch its live status, see palettes in the gallery, filter by colour, open an
item, export what is shown and check the downloaded zip."""

from __future__ import annotations

import io
import json
import re
import time
import uuid
import zipfile
from typing import Any

import pytest

from tests.browser.conftest import Stack, call, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CRAWL_TIMEOUT_S = 180


def create_project(page: Any, stack: Stack, name: str, data_type: str = "image") -> None:
    page.goto(f"{stack.url}/")
    form = page.get_by_role("form", name="New project")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Shop").fill("demo shop")
    form.get_by_label("Attribute").select_option("skirt.flare")
    form.get_by_label("Texts" if data_type == "text" else "Images").check()
    form.get_by_role("button", name="Create project").click()
    page.get_by_role("link", name=name).click()
    page.get_by_role("heading", level=1, name=name).wait_for()


def create_crawler(page: Any, stack: Stack, name: str, max_items: int) -> Any:
    page.get_by_role("button", name="New crawler").click()
    form = page.get_by_role("form", name="New crawler")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Start URLs (one per line)").fill(f"{stack.shop_url}/")
    form.get_by_label("Max items").fill(str(max_items))
    form.get_by_label("Delay per domain (s)").fill("0.1")
    form.get_by_role("button", name="Create crawler").click()
    card = page.locator("article.crawler", has=page.get_by_role("heading", name=name))
    card.wait_for()
    return card


def watch_run(card: Any, timeout_s: float = CRAWL_TIMEOUT_S) -> tuple[list[str], list[int]]:
    """The states and item counts the card showed, sampled until the run ended."""
    states: list[str] = []
    counts: list[int] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = card.get_by_test_id("run-state").inner_text().strip()
        items = card.get_by_test_id("run-items").inner_text().replace(",", "").strip()
        if not states or states[-1] != state:
            states.append(state)
        if items.isdigit() and (not counts or counts[-1] != int(items)):
            counts.append(int(items))
        if state in {"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"}:
            return states, counts
        time.sleep(0.5)
    raise AssertionError(f"the run did not end in {timeout_s} s; states seen {states}")


def wait_for_pipeline(stack: Stack, project_id: str, timeout_s: float) -> None:
    """Until no item of the project is pending or processing in the image pipeline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        items = call(stack, "GET", f"/v1/projects/{project_id}/items?limit=200")["items"]
        if items and all(item["state"] not in ("pending", "processing") for item in items):
            return
        time.sleep(0.5)
    raise AssertionError(f"the image pipeline did not finish in {timeout_s} s")


def test_crawl_watch_filter_open_and_export(page: Any, stack: Stack) -> None:
    name = f"Flare skirts {uuid.uuid4().hex[:6]}"
    create_project(page, stack, name)
    card = create_crawler(page, stack, "Shop crawler", max_items=10)
    card.get_by_test_id("run-state").filter(has_text="never run").wait_for()
    shot(page, "01-crawler-created")

    card.get_by_role("button", name="Run", exact=True).click()
    states, counts = watch_run(card)
    shot(page, "02-run-finished")
    assert states[-1] == "SUCCEEDED", states
    assert any(state in ("READY", "RUNNING") for state in states[:-1]), states  # live updates
    assert counts[-1] >= 5 and len(counts) >= 2, counts  # the count grew while we watched
    assert card.get_by_test_id("run-elapsed").inner_text() != "—"
    card.get_by_text("Run history").click()
    history = card.locator(".history tbody tr")
    history.first.wait_for()
    assert history.count() == 1 and "SUCCEEDED" in history.first.inner_text()

    # Gallery: thumbnails with palette swatches once the image pipeline has run. Wait for
    # the pipeline to finish every item first: the gallery offers items that finish later as
    # "N new" instead of adding them, so the colour-filter comparison below would race it.
    project_id = page.url.split("/projects/")[1].split("/")[0]
    wait_for_pipeline(stack, project_id, timeout_s=CRAWL_TIMEOUT_S)
    page.get_by_role("link", name="Gallery").click()
    gallery = page.get_by_test_id("gallery")
    done = gallery.locator("li.item-card[data-state='done']")
    done.first.wait_for(timeout=CRAWL_TIMEOUT_S * 1000)
    page.wait_for_function(
        "document.querySelectorAll('li.item-card[data-state=\"done\"]').length >= 3",
        timeout=CRAWL_TIMEOUT_S * 1000,
    )
    first_swatches = done.first.locator(".swatches span")
    assert first_swatches.count() >= 1
    assert done.first.locator("img").get_attribute("src")
    shot(page, "03-gallery")

    # Filter by the first item's dominant basic colour: every card shown carries it.
    title = first_swatches.first.get_attribute("title") or ""
    basic = re.search(r"\((\w+)\)", title)
    assert basic, title
    page.get_by_label("Basic colour").select_option(basic.group(1))
    page.wait_for_function(
        "(c) => location.hash.includes('colour=' + c)", arg=basic.group(1), timeout=5000
    )
    page.wait_for_timeout(500)
    shown = gallery.locator("li.item-card")
    page.wait_for_function("document.querySelectorAll('li.item-card').length > 0")
    for index in range(shown.count()):
        titles = (
            shown.nth(index)
            .locator(".swatches span")
            .evaluate_all("spans => spans.map(s => s.title)")
        )
        assert any(f"({basic.group(1)})" in t for t in titles), titles
    query = f"colour={basic.group(1)}&limit=200"
    listed = call(stack, "GET", f"/v1/projects/{project_id}/items?{query}")
    assert shown.count() == len(listed["items"])
    shot(page, "04-gallery-filtered")

    # Item page: palette table, a mask on hover, tags, product fields and source link.
    shown.first.locator("a.thumb").click()
    palette = page.get_by_test_id("palette")
    palette.wait_for()
    rows = palette.locator("tbody tr")
    assert rows.count() >= 1
    assert re.fullmatch(r"#[0-9a-f]{6}", rows.first.locator("code").inner_text())
    overlay = page.get_by_test_id("mask-overlay")
    assert overlay.is_hidden()
    rows.first.hover()
    assert overlay.is_visible() and "/masks/" in (overlay.get_attribute("src") or "")
    assert page.get_by_role("heading", name="Model and pose").is_visible()
    assert (
        page.get_by_role("link", name="Product page at the shop")
        .get_attribute("href")
        .startswith(stack.shop_url)
    )
    shot(page, "05-item")

    # Export what the filtered gallery shows, then download the zip from the Exports tab.
    page.go_back()
    page.get_by_role("button", name="Export what I see").click()
    page.get_by_text("Export started").wait_for()
    page.get_by_role("link", name="Exports").click()
    download_link = page.get_by_test_id("export-download")
    download_link.wait_for(timeout=60_000)
    assert "colour" in page.get_by_test_id("exports").inner_text()
    with page.expect_download() as info:
        download_link.click()
    payload = info.value.path().read_bytes()
    shot(page, "06-exports")
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        names = archive.namelist()
        manifest = archive.read("manifest.jsonl").decode().splitlines()
    assert len(manifest) == len(listed["items"])
    exported = {json.loads(line)["id"] for line in manifest}
    assert exported == {item["id"] for item in listed["items"]}
    assert sum(1 for entry in names if entry.startswith("images/")) >= len(manifest)
