"""Gallery thumbnails: GET /v1/projects/{id}/items?thumbnails=true signs each item's thumbnail,
with the local HMAC signer and with S3 presigned URLs (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from chalice.test import Client
from moto import mock_aws

from studiolab.adapters.aws.table_schema import create_table
from studiolab.adapters.local.fs_blobstore import FilesystemBlobStore
from studiolab.domain.blobkeys import item_key
from studiolab.domain.models import Item, ItemBlobs
from studiolab.runtime.server import load_api_app
from studiolab.runtime.settings import load_settings
from studiolab.runtime.wiring import AppContext, build_context, install
from tests.api.conftest import Api, assert_error

NOW = datetime(2026, 11, 28, tzinfo=UTC)
TTL = 1234


def stock(ctx: AppContext, pid: str, count: int, *, thumbs: set[int]) -> dict[str, bytes]:
    """`count` items; those in `thumbs` have a thumbnail blob. Returns item id -> bytes."""
    stored: dict[str, bytes] = {}
    for index in range(count):
        iid = f"it_th{index:03d}"
        blobs = ItemBlobs()
        if index in thumbs:
            key = item_key("thumb", pid, iid, "thumb.jpg")
            stored[iid] = f"thumb-{index}".encode()
            ctx.blobs.put(key, stored[iid], content_type="image/jpeg")
            blobs = ItemBlobs(thumbnail=key)
        moment = NOW + timedelta(seconds=index)
        ctx.catalog.create_item(
            Item(id=iid, project_id=pid, blobs=blobs, created_at=moment, updated_at=moment)
        )
    return stored


def fetch_local(blobs: FilesystemBlobStore, url: str) -> bytes:
    """What the local server does for GET <url>: verify the HMAC signature, read the blob."""
    key, query = blobs.signer.parse_target(url)
    _info, reader, _headers = blobs.open_signed_get(key, query)
    with reader:
        return b"".join(reader)


@pytest.fixture
def ttl_api(tmp_path: Path) -> Iterator[tuple[Api, AppContext]]:
    context = build_context(
        load_settings(
            mode="local", data_dir=tmp_path / "data", segment_model="none", signed_url_ttl_s=TTL
        )
    )
    install(context)
    with Client(load_api_app()) as client:
        yield Api(client), context
    install(None)
    context.close()


def test_thumbnails_flag_signs_each_thumbnail_locally(ttl_api: tuple[Api, AppContext]) -> None:
    api, ctx = ttl_api
    pid = api.project()["id"]
    stored = stock(ctx, pid, 5, thumbs={0, 2, 3})

    page = api.get(f"/v1/projects/{pid}/items?thumbnails=true")
    assert page.status == 200
    items = page.body["items"]
    assert len(items) == 5
    assert isinstance(ctx.blobs, FilesystemBlobStore)
    for item in items:
        url = item["thumbnail_url"]
        if item["id"] not in stored:
            assert url is None
            continue
        assert fetch_local(ctx.blobs, url) == stored[item["id"]]
        expires = int(parse_qs(urlsplit(url).query)["exp"][0])
        now = datetime.now(UTC).timestamp()
        assert now + TTL - 60 <= expires <= now + TTL + 60


def test_without_the_flag_no_thumbnail_is_signed(ttl_api: tuple[Api, AppContext]) -> None:
    api, ctx = ttl_api
    pid = api.project()["id"]
    stock(ctx, pid, 3, thumbs={0, 1, 2})
    for query in ("", "?thumbnails=false", "?limit=2&thumbnails=0"):
        page = api.get(f"/v1/projects/{pid}/items{query}")
        assert page.status == 200 and page.body["items"]
        assert all(item.get("thumbnail_url") is None for item in page.body["items"])


def test_thumbnails_follow_the_filters_and_pages(ttl_api: tuple[Api, AppContext]) -> None:
    api, ctx = ttl_api
    pid = api.project()["id"]
    stored = stock(ctx, pid, 4, thumbs={0, 1, 2, 3})
    first = api.get(f"/v1/projects/{pid}/items?thumbnails=true&limit=3")
    second = api.get(
        f"/v1/projects/{pid}/items?thumbnails=true&limit=3&cursor={first.body['next']}"
    )
    items = first.body["items"] + second.body["items"]
    assert [fetch_local(ctx.blobs, i["thumbnail_url"]) for i in items] == [  # type: ignore[arg-type]
        stored[i["id"]] for i in items
    ]
    assert_error(api.get(f"/v1/projects/{pid}/items?thumbnails=maybe"), 400, "invalid_input")


def test_get_one_item_carries_its_thumbnail_url(ttl_api: tuple[Api, AppContext]) -> None:
    api, ctx = ttl_api
    pid = api.project()["id"]
    stored = stock(ctx, pid, 1, thumbs={0})
    (iid,) = stored
    got = api.get(f"/v1/items/{iid}").body
    assert got["thumbnail_url"] == got["urls"]["thumbnail"]
    assert fetch_local(ctx.blobs, got["thumbnail_url"]) == stored[iid]  # type: ignore[arg-type]


def test_openapi_documents_the_flag_and_the_field(ttl_api: tuple[Api, AppContext]) -> None:
    api, _ = ttl_api
    doc = api.get("/openapi.json").body
    operation = doc["paths"]["/v1/projects/{project_id}/items"]["get"]
    (flag,) = [p for p in operation["parameters"] if p["name"] == "thumbnails"]
    assert flag["in"] == "query" and flag["schema"]["type"] == "boolean" and flag["description"]
    item_schema = doc["components"]["schemas"]["ItemOut"]["properties"]["thumbnail_url"]
    assert {"type": "null"} in item_schema["anyOf"] and item_schema["description"]
    bulk = doc["components"]["schemas"]["BulkDeleteIn"]["properties"]
    assert "thumbnails" not in bulk  # a listing option, not an item filter


@pytest.fixture
def aws_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, AppContext]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        create_table(boto3.client("dynamodb"), "studiolab")
        boto3.client("s3").create_bucket(Bucket="studiolab-blobs")
        settings: dict[str, Any] = {
            "mode": "aws",
            "table_name": "studiolab",
            "bucket_name": "studiolab-blobs",
            "signed_url_ttl_s": TTL,
        }
        context = build_context(load_settings(**settings))
        install(context)
        with Client(load_api_app()) as client:
            yield Api(client), context
        install(None)


def test_thumbnails_are_s3_presigned_urls_on_aws(aws_api: tuple[Api, AppContext]) -> None:
    api, ctx = aws_api
    pid = api.project()["id"]
    stored = stock(ctx, pid, 3, thumbs={1})
    items = api.get(f"/v1/projects/{pid}/items?thumbnails=true").body["items"]
    urls = {item["id"]: item["thumbnail_url"] for item in items}
    assert [iid for iid, url in urls.items() if url] == list(stored)
    (url,) = [u for u in urls.values() if u]
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == [str(TTL)] and "X-Amz-Signature" in query
    reply = requests.get(url, timeout=5)  # moto intercepts *.amazonaws.com
    assert reply.status_code == 200 and reply.content == next(iter(stored.values()))
