"""The UI's other promises: phone-width layout, labelled controls and keyboard use, API
errors shown in words, uploads that appear once processed, and the text table with search."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from PIL import Image

from tests.browser.conftest import Stack, call, shot, wait_for_field

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(el => el.type !== 'hidden' && !el.closest('[hidden]'))
  .filter(el => {
    const name = (el.labels && [...el.labels].map(l => l.textContent).join('').trim())
      || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
      || (el.tagName === 'BUTTON' && el.textContent.trim());
    return !name;
  })
  .map(el => el.outerHTML.slice(0, 120))"""


def new_project(stack: Stack, data_type: str = "image") -> dict[str, Any]:
    body = {
        "name": f"UI {data_type} {uuid.uuid4().hex[:8]}",
        "shop": "demo shop",
        "attribute": "skirt.flare",
        "data_type": data_type,
    }
    project: dict[str, Any] = call(stack, "POST", "/v1/projects", body)
    return project


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_phone_width_pages_fit_without_sideways_scrolling(page: Any, stack: Stack) -> None:
    project = new_project(stack)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{stack.url}/")
    page.get_by_role("link", name=project["name"]).wait_for()
    assert no_horizontal_scroll(page)
    shot(page, "phone-projects")
    for tab in ("crawlers", "gallery", "exports"):
        page.goto(f"{stack.url}/#/projects/{project['id']}/{tab}")
        page.get_by_role("heading", level=1, name=project["name"]).wait_for()
        page.wait_for_timeout(300)
        assert no_horizontal_scroll(page), tab
        shot(page, f"phone-{tab}")


def test_every_control_is_labelled_and_a_project_can_be_made_by_keyboard(
    page: Any, stack: Stack
) -> None:
    page.goto(f"{stack.url}/")
    page.get_by_role("form", name="New project").wait_for()
    assert page.evaluate(UNLABELLED_CONTROLS) == []

    name = f"Keyboard {uuid.uuid4().hex[:6]}"
    page.get_by_label("Name", exact=True).focus()
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type("keyboard shop")
    page.keyboard.press("Tab")  # the attribute <select>: pick with the arrow keys
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # not on a button: Enter in the form still must not submit
    page.get_by_label("Shop", exact=True).press("Enter")  # implicit submission from a text field
    page.get_by_role("link", name=name).wait_for()

    page.get_by_role("link", name=name).focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="New crawler").wait_for()
    page.wait_for_function("(t) => document.title === t", arg=f"{name} · studiolab")
    assert page.evaluate("document.activeElement.id") == "view"  # focus moved to the new page
    page.get_by_role("button", name="New crawler").press("Enter")
    page.get_by_role("form", name="New crawler").wait_for()
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    page.get_by_role("link", name="Gallery").press("Enter")
    page.get_by_role("search", name="Item filters").wait_for()
    assert page.evaluate(UNLABELLED_CONTROLS) == []


def test_api_errors_are_shown_in_words(page: Any, stack: Stack) -> None:
    project = new_project(stack)
    page.goto(f"{stack.url}/#/projects/{project['id']}/crawlers")
    page.get_by_role("button", name="New crawler").click()
    form = page.get_by_role("form", name="New crawler")
    form.get_by_label("Name", exact=True).fill("Bad crawler")
    form.get_by_label("Start URLs (one per line)").fill("ftp://example.com/catalogue")
    form.get_by_role("button", name="Create crawler").click()
    field_error = form.locator("[data-error-for='start_urls']")
    field_error.wait_for()
    assert "http" in field_error.inner_text()
    assert page.get_by_role("alert").filter(has_text="marked fields").count() >= 1
    shot(page, "error-field")

    page.goto(f"{stack.url}/#/items/it_doesnotexist")
    page.get_by_role("heading", name="Something went wrong").wait_for()
    assert "not found" in page.locator("main").inner_text().lower()


def red_dress_jpeg() -> bytes:
    image = Image.new("RGB", (240, 320), (245, 245, 245))
    image.paste((200, 30, 40), (60, 40, 180, 300))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def test_uploaded_images_appear_and_get_processed(page: Any, stack: Stack) -> None:
    project = new_project(stack)
    page.goto(f"{stack.url}/#/projects/{project['id']}/gallery")
    page.get_by_test_id("dropzone").wait_for()
    page.set_input_files(
        "#upload-input",
        files=[{"name": "red-dress.jpg", "mimeType": "image/jpeg", "buffer": red_dress_jpeg()}],
    )
    card = page.get_by_test_id("gallery").locator("li.item-card").first
    card.wait_for()
    page.wait_for_function(
        "document.querySelector('li.item-card')?.dataset.state === 'done'", timeout=120_000
    )
    titles = card.locator(".swatches span").evaluate_all("spans => spans.map(s => s.title)")
    assert any("(Red)" in title for title in titles), titles
    shot(page, "upload-processed")

    # The same works by drag and drop (a DataTransfer with a file dropped on the zone).
    page.evaluate(
        """async (bytes) => {
          const data = new DataTransfer();
          data.items.add(new File([new Uint8Array(bytes)], 'dropped.jpg', {type: 'image/jpeg'}));
          const zone = document.querySelector('[data-testid=dropzone]');
          zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true}));
        }""",
        list(red_dress_jpeg()),
    )
    page.wait_for_function("document.querySelectorAll('li.item-card').length === 2")
    listed = call(stack, "GET", f"/v1/projects/{project['id']}/items")
    assert len(listed["items"]) == 2


def wait_for_run(stack: Stack, run_id: str, timeout_s: float = 180) -> dict[str, Any]:
    ended = {"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"}
    return wait_for_field(stack, f"/v1/runs/{run_id}", "status", ended, timeout_s)


def test_text_project_lists_texts_and_searches_them(page: Any, stack: Stack) -> None:
    project = new_project(stack, "text")
    crawler = call(
        stack,
        "POST",
        f"/v1/projects/{project['id']}/crawlers",
        {
            "name": "texts",
            "start_urls": [f"{stack.shop_url}/"],
            "limits": {"max_items": 8},
            "politeness": {"delay_s": 0.1, "concurrency": 2, "obey_robots": True},
        },
    )
    run = call(stack, "POST", f"/v1/crawlers/{crawler['id']}/runs")
    assert wait_for_run(stack, run["id"])["status"] == "SUCCEEDED"

    page.goto(f"{stack.url}/#/projects/{project['id']}")
    page.get_by_role("link", name="Texts").click()
    rows = page.get_by_test_id("texts").locator("tbody tr")
    rows.first.wait_for()
    assert rows.count() == 8
    title = rows.first.locator("td").first.inner_text()
    word = max(title.split(), key=len)
    page.get_by_label("Search texts").fill(word)
    page.wait_for_function(
        "(w) => document.querySelector('[data-testid=texts-summary]').textContent.includes(w)",
        arg=word,
    )
    page.wait_for_timeout(300)
    expected = call(stack, "GET", f"/v1/projects/{project['id']}/items?kind=text&q={word}")
    assert 1 <= rows.count() == len(expected["items"])
    assert title in [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
    shot(page, "texts-search")


def test_unreachable_api_is_reported_not_swallowed(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.url}/")
    page.get_by_role("form", name="New project").wait_for()
    page.route("**/v1/projects", lambda route: route.abort())
    form = page.get_by_role("form", name="New project")
    form.get_by_label("Name", exact=True).fill("offline")
    form.get_by_label("Shop").fill("shop")
    form.get_by_label("Attribute").select_option("skirt.flare")
    form.get_by_role("button", name="Create project").click()
    alert = page.get_by_role("alert").filter(has_text="unreachable")
    alert.wait_for()
    assert "Could not create the project" in alert.inner_text()


def test_missing_project_is_a_clear_message(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.url}/#/projects/pr_missing")
    page.get_by_role("heading", name="Something went wrong").wait_for()
    text = page.locator("main").inner_text().lower()
    assert "not found" in text or "no project" in text
    with pytest.raises(urllib.error.HTTPError):
        call(stack, "GET", "/v1/projects/pr_missing")


def upload_via_api(stack: Stack, project_id: str, name: str) -> str:
    upload = call(
        stack,
        "POST",
        f"/v1/projects/{project_id}/uploads",
        {"filename": name, "content_type": "image/jpeg"},
    )
    request = urllib.request.Request(
        upload["url"], data=red_dress_jpeg(), method="PUT", headers=upload["headers"]
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
    return str(upload["item_id"])


def test_items_arriving_elsewhere_are_offered_not_pushed(page: Any, stack: Stack) -> None:
    project = new_project(stack)
    first = upload_via_api(stack, project["id"], "first.jpg")
    page.goto(f"{stack.url}/#/projects/{project['id']}/gallery")
    cards = page.get_by_test_id("gallery").locator("li.item-card")
    cards.first.wait_for()
    assert cards.count() == 1 and cards.first.get_attribute("data-item-id") == first

    second = upload_via_api(stack, project["id"], "second.jpg")
    offer = page.get_by_test_id("show-new")
    offer.wait_for(timeout=15_000)
    assert offer.inner_text() == "Show 1 new item"
    assert cards.count() == 1  # nothing moved under the reader's eyes
    offer.click()
    page.wait_for_function("document.querySelectorAll('li.item-card').length === 2")
    assert cards.first.get_attribute("data-item-id") == second  # newest first
    assert offer.is_hidden()


def wait_until_done(stack: Stack, item_id: str, timeout_s: float = 120) -> dict[str, Any]:
    return wait_for_field(stack, f"/v1/items/{item_id}", "state", {"done", "failed"}, timeout_s)


def test_export_what_i_see_keeps_the_near_colour_filter(page: Any, stack: Stack) -> None:
    project = new_project(stack)
    item = wait_until_done(stack, upload_via_api(stack, project["id"], "red.jpg"))
    assert item["state"] == "done"
    red = item["palette"][0]["hex"].lstrip("#")
    page.goto(f"{stack.url}/#/projects/{project['id']}/gallery?near={red}&radius=12")
    page.get_by_test_id("gallery").locator("li.item-card").first.wait_for()
    assert page.get_by_label("Only near this colour").is_checked()
    page.get_by_role("button", name="Export what I see").click()
    page.get_by_text("Export started").wait_for()
    page.get_by_role("link", name="Exports").click()
    page.get_by_test_id("export-download").wait_for(timeout=60_000)
    listed = call(stack, "GET", f"/v1/projects/{project['id']}/exports")
    assert (
        listed["items"][0]["filters"]["near"] == f"#{red}"
        or listed["items"][0]["filters"]["near"].lstrip("#") == red
    )
    assert listed["items"][0]["counts"]["items"] == 1
