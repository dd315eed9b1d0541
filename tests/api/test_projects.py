"""Projects and attributes through the Chalice test client."""

from __future__ import annotations

from datetime import UTC, datetime

from studiolab.domain.blobkeys import item_key
from studiolab.domain.models import Item
from studiolab.runtime.wiring import AppContext
from tests.api.conftest import Api, assert_error

NOW = datetime(2026, 11, 28, tzinfo=UTC)
PROJECT_KEYS = {"id", "name", "shop", "attribute", "data_type", "created_at", "counts"}


def test_attributes_are_the_taxonomy(api: Api, ctx: AppContext) -> None:
    reply = api.get("/v1/attributes")
    assert reply.status == 200
    assert reply.body["next"] is None
    first = reply.body["items"][0]
    assert set(first) == {"id", "category", "name"}
    assert len(reply.body["items"]) == len(ctx.taxonomy)
    assert any(a["id"] == "dress.maxi" for a in reply.body["items"])


def test_create_get_list_update_project(api: Api) -> None:
    created = api.project("Maxi", data_type="image")
    assert set(created) >= PROJECT_KEYS
    assert created["attribute"] == "dress.maxi" and created["counts"] == {}
    got = api.get(f"/v1/projects/{created['id']}")
    assert got.status == 200 and got.body == created

    second = api.project("Other")
    listed = api.get("/v1/projects?limit=1")
    assert listed.status == 200 and [p["id"] for p in listed.body["items"]] == [second["id"]]
    rest = api.get(f"/v1/projects?limit=1&cursor={listed.body['next']}")
    assert [p["id"] for p in rest.body["items"]] == [created["id"]]

    updated = api.patch(f"/v1/projects/{created['id']}", {"name": "Maxi 2", "version": 1})
    assert updated.status == 200
    assert updated.body["name"] == "Maxi 2" and updated.body["version"] == 2
    stale = api.patch(f"/v1/projects/{created['id']}", {"shop": "x", "version": 1})
    assert_error(stale, 409, "concurrent_update")


def test_project_validation_is_per_field(api: Api) -> None:
    reply = api.post("/v1/projects", {"name": "", "shop": "s", "attribute": "Bad", "x": 1})
    error = assert_error(reply, 400, "invalid_input")
    assert set(error["fields"]) == {"name", "attribute", "x"}
    unknown = api.post("/v1/projects", {"name": "n", "shop": "s", "attribute": "dress.nope"})
    assert assert_error(unknown, 400)["fields"] == {"attribute": "unknown attribute"}
    empty = api.patch(f"/v1/projects/{api.project()['id']}", {})
    assert_error(empty, 400, "invalid_input")
    bad_type = api.post(
        "/v1/projects", {"name": "n", "shop": "s", "attribute": "dress.maxi", "data_type": "video"}
    )
    assert "data_type" in assert_error(bad_type, 400)["fields"]


def test_duplicate_name_is_409(api: Api) -> None:
    api.project("Same")
    error = assert_error(
        api.post("/v1/projects", {"name": "same", "shop": "s", "attribute": "dress.maxi"}),
        409,
        "conflict",
    )
    assert error["fields"] == {"name": "already taken"}


def test_missing_project_is_404(api: Api) -> None:
    assert_error(api.get("/v1/projects/pr_missing"), 404, "not_found")
    assert_error(api.patch("/v1/projects/pr_missing", {"name": "x"}), 404, "not_found")
    assert_error(api.delete("/v1/projects/pr_missing"), 404, "not_found")


def test_delete_needs_force_when_not_empty_and_cascades(api: Api, ctx: AppContext) -> None:
    project = api.project()
    pid = project["id"]
    crawler = api.post(
        f"/v1/projects/{pid}/crawlers", {"name": "c", "start_urls": ["https://shop.example/"]}
    ).body
    ctx.catalog.create_item(Item(id="it_1", project_id=pid, created_at=NOW, updated_at=NOW))
    key = item_key("raw", pid, "it_1", "photo.png")
    ctx.blobs.put(key, b"png")
    assert api.get(f"/v1/projects/{pid}").body["counts"]["items"] == 1

    assert_error(api.delete(f"/v1/projects/{pid}"), 409, "conflict")
    assert api.delete(f"/v1/projects/{pid}?force=true").status == 204
    assert_error(api.get(f"/v1/projects/{pid}"), 404)
    assert_error(api.get(f"/v1/crawlers/{crawler['id']}"), 404)
    assert_error(api.get("/v1/items/it_1"), 404)
    assert not ctx.blobs.exists(key)


def test_delete_empty_project(api: Api) -> None:
    pid = api.project()["id"]
    reply = api.delete(f"/v1/projects/{pid}")
    assert reply.status == 204 and not reply.body
    assert_error(api.delete(f"/v1/projects/{pid}?force=maybe"), 400, "invalid_input")
