"""An export with a near colour holds exactly the items the listing returns for the same
filters and near colour, on both adapter sets: local (SQLite catalog + filesystem blobs,
blobs read inline) and AWS (DynamoDB catalog + S3 blobs under moto, blobs read ahead by a
thread pool)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from studiolab.adapters.aws.dynamodb_catalog import DynamoCatalog
from studiolab.adapters.aws.s3_blobstore import S3BlobStore
from studiolab.adapters.local.fs_blobstore import FilesystemBlobStore
from studiolab.adapters.local.sqlite_catalog import SqliteCatalog
from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.adapters.local.url_signer import UrlSigner
from studiolab.domain.blobkeys import item_key
from studiolab.domain.models import Item, ItemBlobs, ItemFilter, Project
from studiolab.domain.models.export import Export, NearFilter
from studiolab.domain.ports import BlobStore, Catalog
from studiolab.exports import builder
from studiolab.services.exports import get_export_view, request_export, run_export
from studiolab.services.items import ItemService, NearColour
from tests.contract.catalog_fixtures import TABLE, dynamodb_env  # noqa: F401 (fixture)
from tests.exports.helpers import NOW, FakeClock, RecordingJobs, SeqIds
from tests.support.palette import single_colour

BUCKET = "studiolab-export-near"
RED = (200, 30, 40)
NEAR_RED = (190, 40, 50)  # ΔE00 ≈ 3.5 from RED
BLUE = (30, 60, 200)
GREY = (128, 128, 128)


@dataclass
class Backend:
    name: str
    catalog: Catalog
    blobs: BlobStore

    def zip_bytes(self, key: str) -> bytes:
        return b"".join(self.blobs.stream(key))


@pytest.fixture(params=["local", "aws"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "local":
        database = SqliteDatabase(tmp_path / "catalog.sqlite")
        signer = UrlSigner(b"k" * 32, "http://127.0.0.1:1", FakeClock())
        blobs = FilesystemBlobStore(tmp_path / "blobs", signer)
        yield Backend("local", SqliteCatalog(database), blobs)
        database.close()
        return
    request.getfixturevalue("dynamodb_env")  # moto is active from here on
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3_blobs = S3BlobStore(BUCKET, client=s3)
    assert s3_blobs.read_ahead > 0  # the export reads blobs through its thread pool
    yield Backend("aws", DynamoCatalog(TABLE), s3_blobs)


# (palette, attribute) of each item; None = no palette (never near anything)
CATALOG: list[tuple[list[tuple[tuple[int, int, int], str]] | None, str]] = [
    ([(RED, "Red")], "skirt.flare"),
    ([(BLUE, "Blue")], "skirt.flare"),
    ([(NEAR_RED, "Red")], "skirt.flare"),
    (None, "skirt.flare"),
    ([(BLUE, "Blue"), (RED, "Red")], "skirt.pencil"),
    ([(GREY, "Grey")], "skirt.flare"),
    ([(RED, "Red")], "skirt.pencil"),
    ([(BLUE, "Blue")], "skirt.pencil"),
    ([(NEAR_RED, "Red"), (GREY, "Grey")], "skirt.flare"),
    ([(RED, "Red")], "skirt.flare"),
    ([(GREY, "Grey")], "skirt.pencil"),
]


def fill(catalog: Catalog, blobs: BlobStore) -> None:
    catalog.create_project(
        Project(
            id="pr_1",
            name="Near",
            shop="shop",
            attribute="skirt.flare",
            created_at=NOW,
            updated_at=NOW,
        )
    )
    for index, (palette, attribute) in enumerate(CATALOG):
        item_id = f"it_{index:03d}"
        raw = item_key("raw", "pr_1", item_id, "image.jpg")
        blobs.put(raw, f"image {index}".encode())
        catalog.create_item(
            Item(
                id=item_id,
                project_id="pr_1",
                attribute=attribute,
                blobs=ItemBlobs(raw=raw),
                state="done",
                palette=[single_colour(rgb, basic) for rgb, basic in palette or []],
                created_at=NOW + timedelta(seconds=index),
                updated_at=NOW,
            )
        )


def listed(
    service: ItemService, filters: ItemFilter, near: NearFilter | None, limit: int
) -> list[str]:
    """Every item id the listing returns, following `next` to the end."""
    near_colour = NearColour(near.near, near.radius) if near else None
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = service.list("pr_1", filters=filters, near=near_colour, limit=limit, cursor=cursor)
        ids += [item.id for item in page.items]
        if page.next is None:
            return ids
        cursor = page.next


def exported(backend: Backend, filters: ItemFilter, near: NearFilter | None) -> list[str]:
    clock = FakeClock()
    export = request_export(
        backend.catalog, RecordingJobs(), SeqIds(), clock, "pr_1", filters, near=near
    )
    done = run_export(backend.catalog, backend.blobs, clock, export.id)
    assert done.status == "SUCCEEDED", done.error
    assert done.near == near  # stored with the export
    with zipfile.ZipFile(io.BytesIO(backend.zip_bytes(done.blob_key or ""))) as archive:
        rows = [json.loads(line) for line in archive.read("manifest.jsonl").splitlines()]
        summary: dict[str, Any] = json.loads(archive.read("export.json"))
        images = [name for name in archive.namelist() if name.startswith("images/")]
    assert summary["filters"] == filters.model_dump(mode="json", exclude_none=True) | (
        near.model_dump(mode="json") if near else {}
    )
    ids = [row["id"] for row in rows]
    assert summary["counts"]["items"] == len(ids) == len(images)
    return ids


CASES = [
    (ItemFilter(), NearFilter(near="#c81e28", radius=5)),
    (ItemFilter(), NearFilter(near="C81E28", radius=1)),
    (ItemFilter(), NearFilter(near="1e3cc8", radius=3)),
    (ItemFilter(attribute="skirt.flare"), NearFilter(near="#c81e28", radius=10)),
    (ItemFilter(colour="Red"), NearFilter(near="#808080", radius=2)),
    (ItemFilter(), NearFilter(near="#00ff00", radius=1)),  # nothing near: an empty export
    (ItemFilter(attribute="skirt.pencil"), None),
]


@pytest.mark.parametrize(("filters", "near"), CASES)
def test_export_holds_exactly_the_listed_items(
    backend: Backend,
    filters: ItemFilter,
    near: NearFilter | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(builder, "PAGE_SIZE", 3)  # catalog pages end inside the matches
    fill(backend.catalog, backend.blobs)
    service = ItemService(backend.catalog, backend.blobs, FakeClock(), 60)
    expected = listed(service, filters, near, limit=2)
    assert expected == listed(service, filters, near, limit=50)
    assert exported(backend, filters, near) == expected


def test_near_cases_are_not_trivial(backend: Backend) -> None:
    """The cases above select different, non-empty sets (so the equality means something)."""
    fill(backend.catalog, backend.blobs)
    service = ItemService(backend.catalog, backend.blobs, FakeClock(), 60)
    reds = listed(service, ItemFilter(), NearFilter(near="#c81e28", radius=5), 50)
    tight = listed(service, ItemFilter(), NearFilter(near="#c81e28", radius=1), 50)
    assert reds == ["it_009", "it_008", "it_006", "it_004", "it_002", "it_000"]  # newest first
    assert tight == ["it_009", "it_006", "it_004", "it_000"]


def test_view_shows_near_and_radius_in_filters(backend: Backend) -> None:
    fill(backend.catalog, backend.blobs)
    clock = FakeClock()
    near = NearFilter(near="#c81e28", radius=4.5)
    export = request_export(
        backend.catalog,
        RecordingJobs(),
        SeqIds(),
        clock,
        "pr_1",
        ItemFilter(kind="image"),
        near=near,
    )
    view = get_export_view(backend.catalog, backend.blobs, export.id, url_ttl_s=60, clock=clock)
    assert view["filters"] == {"kind": "image", "near": "#c81e28", "radius": 4.5}


def test_an_export_without_near_is_stored_as_before() -> None:
    """No `near` key in the stored document unless it is set: a version that does not know
    the field (during a deploy) still reads every export made without near colour."""
    plain = Export(id="ex_1", project_id="pr_1", created_at=NOW)
    assert "near" not in json.loads(plain.model_dump_json())
    assert "near" not in plain.model_dump()
    near = plain.model_copy(update={"near": NearFilter(near="#AA3322", radius=2)})
    stored = near.model_dump_json()
    assert json.loads(stored)["near"] == {"near": "#AA3322", "radius": 2.0}
    assert Export.model_validate_json(stored) == near
    assert Export.model_validate_json(plain.model_dump_json()) == plain
