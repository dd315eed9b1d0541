"""POST /v1/projects/{id}/exports takes the listing's near + radius ("export what I see"):
validated as on the list, shown in the export's `filters`, and the zip holds exactly the
items GET /v1/projects/{id}/items returns for the same query."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from studiolab.runtime.wiring import AppContext
from studiolab.services.exports import run_export
from tests.api.conftest import Api, assert_error
from tests.api.test_items_uploads_exports import add_items


def listed_ids(api: Api, pid: str, query: str) -> list[str]:
    ids: list[str] = []
    path = f"/v1/projects/{pid}/items?{query}&limit=1"
    while True:
        page = api.get(path)
        assert page.status == 200, page.body
        ids += [item["id"] for item in page.body["items"]]
        if page.body["next"] is None:
            return ids
        path = f"/v1/projects/{pid}/items?{query}&limit=1&cursor={page.body['next']}"


def zip_ids(ctx: AppContext, export_id: str) -> list[str]:
    done = run_export(ctx.catalog, ctx.blobs, ctx.clock, export_id)
    assert done.status == "SUCCEEDED", done.error
    data = b"".join(ctx.blobs.stream(done.blob_key or ""))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [json.loads(line)["id"] for line in archive.read("manifest.jsonl").splitlines()]


@pytest.mark.parametrize(
    ("body", "query"),
    [
        ({"near": "#c81e28", "radius": 3}, "near=%23c81e28&radius=3"),
        ({"near": "1e3cc8", "radius": 3, "state": "done"}, "near=1e3cc8&radius=3&state=done"),
        ({"near": "#c81e28", "colour": "Blue"}, "near=%23c81e28&colour=Blue"),
    ],
)
def test_export_holds_what_the_list_shows(
    api: Api, ctx: AppContext, body: dict[str, Any], query: str
) -> None:
    pid = api.project()["id"]
    add_items(ctx, pid, ["red", "blue", "red", "blue", "red"])
    started = api.post(f"/v1/projects/{pid}/exports", body)
    assert started.status == 202, started.body
    shown = api.get(f"/v1/exports/{started.body['id']}").body["filters"]
    assert shown == {"radius": 10.0} | body
    assert zip_ids(ctx, started.body["id"]) == listed_ids(api, pid, query)


def test_near_fields_are_validated_as_on_the_list(api: Api) -> None:
    pid = api.project()["id"]
    for bad in ({"near": "red"}, {"near": "#12345"}, {"near": "#c81e28", "radius": 0}):
        for reply in (
            api.post(f"/v1/projects/{pid}/exports", bad),
            api.get(f"/v1/projects/{pid}/items?" + "&".join(f"{k}={v}" for k, v in bad.items())),
        ):
            error = assert_error(reply, 400)
            assert set(error.get("fields") or {}) & {"near", "radius"}, error
    assert_error(api.post(f"/v1/projects/{pid}/exports", {"radius": 101}), 400)
    # radius alone is accepted and constrains nothing (as on the list): not stored
    alone = api.post(f"/v1/projects/{pid}/exports", {"radius": 5})
    assert alone.status == 202 and alone.body["filters"] == {}


def test_openapi_documents_near_on_exports(api: Api) -> None:
    spec = api.get("/openapi.json").body
    schema = spec["components"]["schemas"]["ExportIn"]["properties"]
    assert {"near", "radius", "include_cutouts", "q"} <= set(schema)
