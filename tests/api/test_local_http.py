"""Through real HTTP on 127.0.0.1 (`studiolab up`'s stack): create a project, ask for an
upload URL, PUT a PNG to it, and see the item go through the pipeline."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from studiolab.runtime.local_stack import LocalStack
from tests.api.conftest import serving
from tests.support.images import cutout_png

TOKEN = "http-token-0123456789abcdef"


def call(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[LocalStack, str]]:
    with serving(tmp_path / "data", workers=2, **getattr(request, "param", {})) as served:
        yield served


def test_upload_over_http_flows_through_the_pipeline(stack: tuple[LocalStack, str]) -> None:
    _, base = stack
    status, project = call(
        base, "POST", "/v1/projects", {"name": "P", "shop": "S", "attribute": "dress.maxi"}
    )
    assert status == 201, project
    pid = project["id"]
    status, upload = call(
        base,
        "POST",
        f"/v1/projects/{pid}/uploads",
        {"filename": "photo.png", "content_type": "image/png"},
    )
    assert status == 201, upload
    put = urllib.request.Request(upload["url"], data=cutout_png([(20, 120, 40)]), method="PUT")
    for name, value in upload["headers"].items():
        put.add_header(name, value)
    with urllib.request.urlopen(put, timeout=10) as reply:
        assert reply.status == 200

    deadline = time.monotonic() + 60
    while True:
        status, page = call(base, "GET", f"/v1/projects/{pid}/items?state=done")
        assert status == 200, page
        if page["items"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [item["id"] for item in page["items"]] == [upload["item_id"]]
    assert page["items"][0]["palette"][0]["basic"] == "Green"
    status, item = call(base, "GET", f"/v1/items/{upload['item_id']}")
    assert status == 200 and item["urls"]["thumbnail"].startswith(base + "/blobs/")
    with urllib.request.urlopen(item["urls"]["thumbnail"], timeout=10) as reply:
        assert reply.status == 200 and reply.read()[:2] == b"\xff\xd8"
    status, error = call(base, "GET", "/v1/projects?bogus=1")
    assert status == 400 and error["error"]["fields"] == {"bogus": "unknown query parameter"}


@pytest.mark.parametrize("stack", [{"token": TOKEN}], indirect=True)
def test_token_over_http(stack: tuple[LocalStack, str]) -> None:
    _, base = stack
    status, error = call(base, "GET", "/v1/projects")
    assert status == 401 and error["error"]["code"] == "unauthorized"
    status, page = call(base, "GET", "/v1/projects", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and page == {"items": [], "next": None}
    assert call(base, "GET", "/health")[0] == 200


def test_docs_and_vendored_swagger_ui_over_http(stack: tuple[LocalStack, str]) -> None:
    _, base = stack
    with urllib.request.urlopen(base + "/docs", timeout=10) as reply:
        page = reply.read().decode()
    assert "/vendor/swagger-ui/swagger-ui-bundle.js" in page
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        with urllib.request.urlopen(f"{base}/vendor/swagger-ui/{name}", timeout=10) as reply:
            assert reply.status == 200 and len(reply.read()) > 10_000
    status, spec = call(base, "GET", "/openapi.json")
    assert status == 200 and "/v1/projects" in spec["paths"]
