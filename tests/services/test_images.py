"""The image pipeline service on the local adapters: raw -> cutout -> palette, idempotent,
bad images recorded on the item, deleted items skipped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from studiolab.adapters.local.fs_blobstore import FilesystemBlobStore
from studiolab.adapters.local.sqlite_catalog import SqliteCatalog
from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.adapters.local.url_signer import UrlSigner
from studiolab.adapters.system import SystemClock
from studiolab.domain.blobkeys import item_key
from studiolab.domain.models import Item, Project
from studiolab.services.images import ImagePipeline
from tests.support.images import cutout_png, product_photo

NOW = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[SqliteCatalog, FilesystemBlobStore]]:
    database = SqliteDatabase(tmp_path / "catalog.sqlite")
    catalog = SqliteCatalog(database)
    blobs = FilesystemBlobStore(
        tmp_path / "blobs", UrlSigner(b"k" * 32, "http://127.0.0.1:1", SystemClock())
    )
    catalog.create_project(
        Project(
            id="pr_1", name="p", shop="s", attribute="skirt.flare", created_at=NOW, updated_at=NOW
        )
    )
    yield catalog, blobs
    database.close()


def new_item(catalog: SqliteCatalog, item_id: str = "it_1") -> Item:
    return catalog.create_item(Item(id=item_id, project_id="pr_1", created_at=NOW, updated_at=NOW))


def pipeline(
    parts: tuple[SqliteCatalog, FilesystemBlobStore], model: str = "none"
) -> ImagePipeline:
    catalog, blobs = parts
    return ImagePipeline(catalog=catalog, blobs=blobs, clock=SystemClock(), model=model)


def test_raw_then_cutout_gives_a_named_palette_and_masks(parts) -> None:
    catalog, blobs = parts
    new_item(catalog)
    raw = item_key("raw", "pr_1", "it_1", "image.png")
    blobs.put(raw, cutout_png([(30, 60, 200)]))
    steps = pipeline(parts)

    assert steps.on_raw(raw) == "segmented"
    item = catalog.get_item("it_1")
    assert item.state == "processing"
    assert item.blobs.cutout == "cutout/pr_1/it_1/cutout.png"
    assert blobs.head(item.blobs.thumbnail or "").content_type == "image/jpeg"

    assert steps.on_cutout(item.blobs.cutout or "") == "analysed"
    item = catalog.get_item("it_1")
    assert item.state == "done" and item.error is None
    assert [c.hex for c in item.palette] == ["#1e3cc8"]
    assert item.palette[0].basic == "Blue" and item.palette[0].fraction == 1.0
    assert item.blobs.masks == ["masks/pr_1/it_1/0.png"]
    assert blobs.exists("masks/pr_1/it_1/overview.png")


def test_repeated_events_give_the_same_result_without_double_counting(parts) -> None:
    catalog, blobs = parts
    new_item(catalog)
    raw = item_key("raw", "pr_1", "it_1", "image.png")
    blobs.put(raw, cutout_png([(200, 30, 30), (240, 220, 40)]))
    steps = pipeline(parts)
    for _ in range(2):
        steps.on_raw(raw)
        steps.on_cutout("cutout/pr_1/it_1/cutout.png")
    first = catalog.get_item("it_1")
    steps.on_raw(raw)
    steps.on_cutout("cutout/pr_1/it_1/cutout.png")
    again = catalog.get_item("it_1")
    assert again.palette == first.palette and again.blobs == first.blobs
    assert sorted(c.basic for c in again.palette) == ["Red", "Yellow"]
    assert catalog.get_counts("project", "pr_1")["items"] == 1
    assert [b.key for b in blobs.list("masks/pr_1/it_1/")] == [
        "masks/pr_1/it_1/0.png",
        "masks/pr_1/it_1/1.png",
        "masks/pr_1/it_1/overview.png",
    ]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"", "empty_file"),
        (b"this is not a JPEG", "not_an_image"),
        (product_photo()[:400], "truncated_image"),
    ],
)
def test_bad_image_marks_the_item_failed_and_keeps_it(parts, payload: bytes, code: str) -> None:
    catalog, blobs = parts
    new_item(catalog)
    raw = item_key("raw", "pr_1", "it_1", "image.jpg")
    blobs.put(raw, payload)
    assert pipeline(parts).on_raw(raw) == "failed"
    item = catalog.get_item("it_1")
    assert item.state == "failed" and item.error is not None and item.error.code == code
    assert blobs.get(raw) == payload  # nothing already saved is lost


def test_fully_transparent_cutout_is_no_garment_pixels(parts) -> None:
    catalog, blobs = parts
    new_item(catalog)
    key = item_key("cutout", "pr_1", "it_1", "cutout.png")
    blobs.put(key, _transparent_png())
    assert pipeline(parts).on_cutout(key) == "failed"
    assert catalog.get_item("it_1").error.code == "no_garment_pixels"  # type: ignore[union-attr]


def _transparent_png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 0, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_deleted_item_and_foreign_keys_are_skipped(parts) -> None:
    _, blobs = parts
    raw = item_key("raw", "pr_1", "it_gone", "image.png")
    blobs.put(raw, cutout_png([(10, 10, 10)]))
    steps = pipeline(parts)
    assert steps.on_raw(raw) == "skipped"
    assert steps.on_raw("raw/not-an-item-key.jpg") == "skipped"
    assert not blobs.exists("cutout/pr_1/it_gone/cutout.png")


def test_u2netp_cuts_a_product_photo(parts) -> None:
    pytest.importorskip("onnxruntime")
    from studiolab.vision.segment import get_segmenter

    try:
        get_segmenter("u2netp")
    except Exception as missing:
        pytest.skip(f"u2netp weights not installed ({missing}); run `make models`")
    catalog, blobs = parts
    new_item(catalog)
    raw = item_key("raw", "pr_1", "it_1", "image.jpg")
    blobs.put(raw, product_photo((200, 30, 40)))
    steps = pipeline(parts, model="u2netp")
    assert steps.on_raw(raw) == "segmented"
    assert steps.on_cutout("cutout/pr_1/it_1/cutout.png") == "analysed"
    item = catalog.get_item("it_1")
    assert item.palette[0].basic == "Red"
