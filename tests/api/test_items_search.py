"""Free-text search `q`: an item filter, so listing, bulk delete and exports all take it."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

import pytest

from studiolab.domain.models import Item
from studiolab.runtime.wiring import AppContext
from studiolab.services.exports import run_export
from tests.api.conftest import Api, assert_error

NOW = datetime(2026, 11, 28, tzinfo=UTC)
CATALOGUE: list[dict[str, Any]] = [
    {"product": {"name": "Red Flare Skirt", "brand": "Acme"}},
    {"product": {"name": "Blue midi", "description": "100% COTTON"}},
    {"product": {"name": "Émile dress", "sku": "EM-1"}},
    {"product": {"category": "Coats"}, "texts": {"title": "Wool coat, red lining"}},
    {"product": {"name": "Plain top"}},
]


def stock(ctx: AppContext, pid: str, kind: str = "image") -> dict[str, str]:
    """The CATALOGUE as items of `pid`; returns item id -> product name or title."""
    names = {}
    for index, fields in enumerate(CATALOGUE):
        moment = NOW + timedelta(seconds=index)
        item = Item.model_validate(
            {
                "id": f"it_q{pid[-4:]}{index}",
                "project_id": pid,
                "kind": kind,
                "created_at": moment,
                "updated_at": moment,
                **fields,
            }
        )
        ctx.catalog.create_item(item)
        names[item.id] = item.product.name or item.texts["title"]
    return names


def found(api: Api, pid: str, q: str, extra: str = "") -> list[str]:
    reply = api.get(f"/v1/projects/{pid}/items?q={quote(q)}{extra}")
    assert reply.status == 200, reply.body
    return sorted(item["id"] for item in reply.body["items"])


def test_list_searches_names_brands_descriptions_skus_and_texts(api: Api, ctx: AppContext) -> None:
    pid = api.project()["id"]
    names = stock(ctx, pid)
    by_name = {name: iid for iid, name in names.items()}
    red = sorted([by_name["Red Flare Skirt"], by_name["Wool coat, red lining"]])
    assert found(api, pid, "RED") == red
    assert found(api, pid, "  red ") == red  # surrounding blanks are not searched
    assert found(api, pid, "acme") == [by_name["Red Flare Skirt"]]
    assert found(api, pid, "cotton") == [by_name["Blue midi"]]
    assert found(api, pid, "100%") == [by_name["Blue midi"]]
    assert found(api, pid, "ÉMILE") == found(api, pid, "em-1") == [by_name["Émile dress"]]
    assert found(api, pid, "coats") == [by_name["Wool coat, red lining"]]
    assert found(api, pid, "nothing like it") == []
    page = api.get(f"/v1/projects/{pid}/items?q=red&limit=1")
    assert len(page.body["items"]) == 1 and page.body["next"]
    rest = api.get(f"/v1/projects/{pid}/items?q=red&limit=1&cursor={page.body['next']}")
    assert sorted([page.body["items"][0]["id"], rest.body["items"][0]["id"]]) == red
    # a cursor belongs to its query
    other = api.get(f"/v1/projects/{pid}/items?q=blue&limit=1&cursor={page.body['next']}")
    assert_error(other, 400, "invalid_input")


@pytest.mark.parametrize("q", ["", "   ", "x" * 201, "a%0Ab", "ta%09b"])
def test_bad_q_is_a_400_naming_the_field(api: Api, q: str) -> None:
    pid = api.project()["id"]
    error = assert_error(api.get(f"/v1/projects/{pid}/items?q={q}"), 400, "invalid_input")
    assert set(error["fields"]) == {"q"}
    text = unquote(q)  # the same value in a JSON body
    error = assert_error(api.post(f"/v1/projects/{pid}/items/delete", {"q": text}), 400)
    assert "q" in error["fields"]
    error = assert_error(api.post(f"/v1/projects/{pid}/exports", {"q": text}), 400)
    assert "q" in error["fields"]


def test_q_of_200_characters_is_accepted(api: Api) -> None:
    pid = api.project()["id"]
    assert api.get(f"/v1/projects/{pid}/items?q={'x' * 200}").status == 200


def test_bulk_delete_by_q(api: Api, ctx: AppContext) -> None:
    pid = api.project()["id"]
    names = stock(ctx, pid)
    reply = api.post(f"/v1/projects/{pid}/items/delete", {"q": "Red", "kind": "image"})
    assert reply.body == {"deleted": 2, "next": None}
    left = {item["id"] for item in api.get(f"/v1/projects/{pid}/items").body["items"]}
    assert {names[i] for i in left} == {"Blue midi", "Émile dress", "Plain top"}


def test_export_by_q_holds_only_the_matching_items(api: Api, ctx: AppContext) -> None:
    pid = api.project("Texts", data_type="text")["id"]
    names = stock(ctx, pid, kind="text")
    started = api.post(f"/v1/projects/{pid}/exports", {"q": "red"})
    assert started.status == 202 and started.body["filters"] == {"q": "red"}
    done = run_export(ctx.catalog, ctx.blobs, ctx.clock, started.body["id"])
    assert done.status == "SUCCEEDED", done.error
    assert done.blob_key is not None
    with zipfile.ZipFile(io.BytesIO(ctx.blobs.get(done.blob_key))) as archive:
        rows = [json.loads(line) for line in archive.read("items.jsonl").splitlines()]
    assert sorted(names[row["id"]] for row in rows) == ["Red Flare Skirt", "Wool coat, red lining"]


def test_openapi_documents_q_on_list_bulk_delete_and_export(api: Api) -> None:
    doc = api.get("/openapi.json").body
    operation = doc["paths"]["/v1/projects/{project_id}/items"]["get"]
    (q,) = [p for p in operation["parameters"] if p["name"] == "q"]
    assert q["description"] and q["schema"]["anyOf"][0]["maxLength"] == 200
    schemas = doc["components"]["schemas"]
    for name in ("BulkDeleteIn", "ExportIn"):
        assert "q" in schemas[name]["properties"], name
