"""Items (filters, near colour, pages, signed URLs, delete, bulk delete), uploads, exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from studiolab.domain.blobkeys import item_key
from studiolab.domain.models import Item, ItemBlobs
from studiolab.runtime.wiring import AppContext
from tests.api.conftest import Api, assert_error
from tests.support.palette import single_colour

NOW = datetime(2026, 11, 28, tzinfo=UTC)
RED = (200, 30, 40)
BLUE = (30, 60, 200)


def add_items(ctx: AppContext, pid: str, colours: list[str], **fields: Any) -> list[str]:
    ids = []
    for index, name in enumerate(colours):
        palette = [single_colour(RED, "Red") if name == "red" else single_colour(BLUE, "Blue")]
        item = Item(
            id=f"it_{pid[-4:]}{index:03d}",
            project_id=pid,
            state="done",
            palette=palette,
            created_at=NOW + timedelta(seconds=index),
            updated_at=NOW,
            **fields,
        )
        ids.append(ctx.catalog.create_item(item).id)
    return ids


def test_list_items_filters_pages_and_near_colour(api: Api, ctx: AppContext) -> None:
    pid = api.project()["id"]
    add_items(ctx, pid, ["red", "blue", "red", "blue", "red"])
    every = api.get(f"/v1/projects/{pid}/items")
    assert every.status == 200 and len(every.body["items"]) == 5 and every.body["next"] is None

    seen: list[str] = []
    path = f"/v1/projects/{pid}/items?limit=2"
    while True:
        page = api.get(path)
        seen += [item["id"] for item in page.body["items"]]
        if page.body["next"] is None:
            break
        path = f"/v1/projects/{pid}/items?limit=2&cursor={page.body['next']}"
    assert len(seen) == len(set(seen)) == 5

    reds = api.get(f"/v1/projects/{pid}/items?colour=Red&state=done&kind=image")
    assert len(reds.body["items"]) == 3
    near = api.get(f"/v1/projects/{pid}/items?near=%23c81e28&radius=3")
    assert {i["palette"][0]["basic"] for i in near.body["items"]} == {"Red"}
    assert len(near.body["items"]) == 3
    near_paged = api.get(f"/v1/projects/{pid}/items?near=1e3cc8&radius=3&limit=1")
    assert len(near_paged.body["items"]) == 1 and near_paged.body["next"]
    assert api.get(f"/v1/projects/{pid}/items?model_present=true").body["items"] == []


def test_list_items_errors(api: Api) -> None:
    pid = api.project()["id"]
    bad = api.get(f"/v1/projects/{pid}/items?colour=Mauve&near=zz&limit=0&sort=name")
    assert assert_error(bad, 400, "invalid_input")["fields"] == {"sort": "unknown query parameter"}
    fields = assert_error(api.get(f"/v1/projects/{pid}/items?colour=Mauve&near=zz&limit=0"), 400)[
        "fields"
    ]
    assert set(fields) == {"colour", "near", "limit"}
    assert_error(api.get(f"/v1/projects/{pid}/items?cursor=garbage"), 400, "invalid_input")
    assert_error(api.get(f"/v1/projects/{pid}/items?limit=1&limit=2"), 400, "invalid_input")
    assert_error(api.get("/v1/projects/pr_missing/items"), 404)


def test_get_item_signed_urls_and_delete(api: Api, ctx: AppContext) -> None:
    pid = api.project()["id"]
    (iid,) = add_items(ctx, pid, ["red"])
    raw = item_key("raw", pid, iid, "photo.png")
    thumb = item_key("thumb", pid, iid, "thumb.jpg")
    mask = item_key("masks", pid, iid, "0.png")
    for key in (raw, thumb, mask):
        ctx.blobs.put(key, b"x")
    item = ctx.catalog.get_item(iid)
    blobs = ItemBlobs(raw=raw, thumbnail=thumb, masks=[mask])
    ctx.catalog.update_item(item.model_copy(update={"blobs": blobs}))

    got = api.get(f"/v1/items/{iid}")
    assert got.status == 200 and got.body["palette"][0]["hex"] == "#c81e28"
    urls = got.body["urls"]
    assert "/blobs/raw/" in urls["raw"] and "sig=" in urls["raw"]
    assert urls["cutout"] is None and len(urls["masks"]) == 1 and urls["expires_at"]

    assert api.delete(f"/v1/items/{iid}").status == 204
    assert not any(ctx.blobs.exists(key) for key in (raw, thumb, mask))
    assert_error(api.get(f"/v1/items/{iid}"), 404)
    assert_error(api.delete(f"/v1/items/{iid}"), 404)
    assert api.get(f"/v1/projects/{pid}").body["counts"].get("items", 0) == 0


def test_bulk_delete_is_bounded_and_resumable(api: Api, ctx: AppContext) -> None:
    pid = api.project()["id"]
    add_items(ctx, pid, ["red", "blue", "red", "blue", "red"])
    first = api.post(f"/v1/projects/{pid}/items/delete", {"colour": "Red", "limit": 2})
    assert first.status == 200 and first.body["deleted"] == 2 and first.body["next"]
    second = api.post(
        f"/v1/projects/{pid}/items/delete",
        {"colour": "Red", "limit": 2, "cursor": first.body["next"]},
    )
    assert second.body == {"deleted": 1, "next": None}
    left = api.get(f"/v1/projects/{pid}/items").body["items"]
    assert [i["palette"][0]["basic"] for i in left] == ["Blue", "Blue"]
    near = api.post(f"/v1/projects/{pid}/items/delete", {"near": "#1e3cc8", "radius": 2})
    assert near.body == {"deleted": 2, "next": None}
    assert_error(api.post(f"/v1/projects/{pid}/items/delete", {"colour": "Teal"}), 400)
    assert_error(api.post("/v1/projects/pr_missing/items/delete", {}), 404)


def test_upload_creates_pending_item_and_signed_put(api: Api, ctx: AppContext) -> None:
    pid = api.project()["id"]
    reply = api.post(
        f"/v1/projects/{pid}/uploads",
        {"filename": "../../My Photo?.PNG", "content_type": "image/png"},
    )
    assert reply.status == 201, reply.body
    body = reply.body
    assert body["method"] == "PUT" and body["headers"] == {"Content-Type": "image/png"}
    assert f"/blobs/raw/{pid}/{body['item_id']}/My_Photo.png?" in body["url"]
    assert body["expires_at"]
    item = api.get(f"/v1/items/{body['item_id']}").body
    assert item["state"] == "pending" and item["kind"] == "image"
    assert item["attribute"] == "dress.maxi"


def test_upload_errors(api: Api) -> None:
    pid = api.project()["id"]
    bad = api.post(f"/v1/projects/{pid}/uploads", {"filename": "a.exe", "content_type": "x/y"})
    assert set(assert_error(bad, 400)["fields"]) == {"content_type"}
    assert_error(api.post(f"/v1/projects/{pid}/uploads", {"filename": "a.png"}), 400)
    missing = api.post(
        "/v1/projects/pr_missing/uploads", {"filename": "a.png", "content_type": "image/png"}
    )
    assert_error(missing, 404)
    text = api.project("Texts", data_type="text")["id"]
    refused = api.post(
        f"/v1/projects/{text}/uploads", {"filename": "a.png", "content_type": "image/png"}
    )
    assert_error(refused, 422, "unprocessable")


def test_exports_routes(api: Api) -> None:
    pid = api.project()["id"]
    started = api.post(f"/v1/projects/{pid}/exports", {"colour": "Red"})
    assert started.status == 202, started.body
    export = started.body
    assert export["status"] == "PENDING" and export["url"] is None
    assert export["filters"] == {"colour": "Red"}
    got = api.get(f"/v1/exports/{export['id']}")
    assert got.status == 200 and got.body["id"] == export["id"]
    listed = api.get(f"/v1/projects/{pid}/exports")
    assert [e["id"] for e in listed.body["items"]] == [export["id"]]
    assert_error(api.post(f"/v1/projects/{pid}/exports", {"colour": "Teal"}), 400)
    assert_error(api.post("/v1/projects/pr_missing/exports", {}), 404)
    assert_error(api.get("/v1/exports/ex_missing"), 404)
