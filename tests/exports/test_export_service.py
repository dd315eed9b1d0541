"""Exports on the local adapters: request -> job -> run -> zip; manifest, names, filters,
skipped blobs, failures, idempotence, the view with its signed URL."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from studiolab.domain.errors import NotFound
from studiolab.domain.models import Item, ItemFilter
from studiolab.domain.ports import BlobStore
from studiolab.domain.taxonomy import load_taxonomy
from studiolab.runtime.settings import Settings
from studiolab.runtime.wiring import (
    EXPORT_RUN,
    JOB_TOPICS,
    AppContext,
    install,
    local_job_handlers,
)
from studiolab.services.exports import (
    EXPORT_TOPIC,
    export_key,
    get_export_view,
    request_export,
    run_export,
)
from tests.exports.helpers import NOW, Env, add_image_item, make_env, make_project


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path)


def export_now(env: Env, filters: ItemFilter | None = None, **kwargs: Any) -> Any:
    export = request_export(
        env.catalog, env.jobs, env.ids, env.clock, "pr_1", filters or ItemFilter(), **kwargs
    )
    return run_export(
        env.catalog,
        env.blobs,
        env.clock,
        export.id,
        include_cutouts=bool(kwargs.get("include_cutouts")),
    )


def open_zip(env: Env, key: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(env.blobs.get(key)))


def manifest(archive: zipfile.ZipFile, stem: str = "manifest") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(f"{stem}.csv").decode())))


def jsonl(archive: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in archive.read(name).decode().splitlines()]


def test_export_of_1000_items(env: Env) -> None:
    make_project(env.catalog)
    for n in range(1000):
        add_image_item(
            env.catalog,
            env.blobs,
            f"it_{n:04d}",
            f"image {n}".encode() * 50,
            attribute=["skirt.flare", "dress.wrap", None][n % 3],
            palette=n % 2 == 0,
            person=True if n % 5 == 0 else None,
        )
    export = export_now(env)

    assert export.status == "SUCCEEDED", export.error
    assert export.counts.items == 1000 and export.counts.images == 1000
    assert export.blob_key == "exports/pr_1/" + export.id + ".zip"
    assert export.counts.bytes == env.blobs.head(export.blob_key).size
    assert export.expires_at is not None and export.expires_at > NOW
    assert env.jobs.submitted == [(EXPORT_TOPIC, {"export_id": export.id})]
    archive = open_zip(env, export.blob_key)
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(names) == len(set(names)) == 1003
    rows = manifest(archive)
    assert len(rows) == 1000 and len(jsonl(archive, "manifest.jsonl")) == 1000
    by_id = {row["id"]: row for row in rows}
    assert by_id["it_0000"]["file"] == "images/skirt.flare/it_0000.jpg"
    assert by_id["it_0001"]["file"] == "images/dress.wrap/it_0001.jpg"
    assert by_id["it_0002"]["file"] == "images/skirt.flare/it_0002.jpg"  # project attribute
    assert archive.read("images/dress.wrap/it_0001.jpg") == b"image 1" * 50
    row = by_id["it_0000"]
    assert (row["colour_1_hex"], row["colour_1_name"], row["colour_1_basic"]) == (
        "#1e3cc8",
        "vivid blue",
        "Blue",
    )
    assert float(row["colour_1_fraction"]) == pytest.approx(0.7)
    assert row["colour_2_name"].startswith("'=")  # CSV injection neutralised
    assert row["person_present"] == "True" and by_id["it_0001"]["person_present"] == ""
    assert row["source_url"] == "https://shop.example/img/it_0000.jpg"
    full = next(r for r in jsonl(archive, "manifest.jsonl") if r["id"] == "it_0000")
    assert len(full["palette"]) == 2 and full["palette"][1]["name"] == '=HYPERLINK("x")'
    summary = json.loads(archive.read("export.json"))
    assert summary["counts"] == {"items": 1000, "images": 1000, "skipped": 0, "manifest_rows": 1000}


def test_hostile_attributes_and_ids_give_safe_unique_names(env: Env) -> None:
    make_project(env.catalog)
    hostile = {
        "..": "../../etc",
        "a:b": "x/../../y",
        "a_b": "x/../../y",
        "ABC": "con\x00trol\n",
        "abc": "con\x00trol\n",
        ".hidden": "..",
        "-": "\\windows\\path",
    }
    for item_id, attribute in hostile.items():
        blob_id = "b" + str(len(item_id)) + item_id.replace(".", "d").replace(":", "c")
        add_image_item(env.catalog, env.blobs, item_id, b"x", attribute=attribute, blob_id=blob_id)
    export = export_now(env)

    assert export.status == "SUCCEEDED", export.error
    archive = open_zip(env, export.blob_key or "")
    assert archive.testzip() is None
    images = [n for n in archive.namelist() if n.startswith("images/")]
    assert len(images) == len(hostile)
    assert len({n.lower() for n in images}) == len(images)
    for name in images:
        parts = name.split("/")
        assert len(parts) == 3 and all(p not in ("", ".", "..") for p in parts)
        assert not any(ord(c) < 32 or c in "\\:" for c in name), name
        assert not parts[1].startswith(".") and not parts[2].startswith(".")
    assert {"images/x_.._.._y/a_b.jpg", "images/x_.._.._y/a_b-2.jpg"} <= set(images)
    rows = manifest(archive)
    assert sorted(r["file"] for r in rows) == sorted(images)


def test_text_project_exports_items_files(env: Env) -> None:
    make_project(env.catalog, data_type="text")
    for n in range(5):
        env.catalog.create_item(
            Item(
                id=f"it_{n}",
                project_id="pr_1",
                kind="text",
                texts={"title": f"=cmd|{n}", "description": "flowy skirt", "extra": "x"},
                created_at=NOW,
                updated_at=NOW,
            )
        )
    export = export_now(env)

    assert export.status == "SUCCEEDED", export.error
    assert (export.counts.items, export.counts.images) == (5, 0)
    archive = open_zip(env, export.blob_key or "")
    assert sorted(archive.namelist()) == ["export.json", "items.csv", "items.jsonl"]
    rows = manifest(archive, "items")
    assert len(rows) == 5
    assert all(r["text_title"].startswith("'=cmd|") for r in rows)
    assert json.loads(rows[0]["texts_json"])["extra"] == "x"
    documents = jsonl(archive, "items.jsonl")
    assert {d["texts"]["title"] for d in documents} == {f"=cmd|{n}" for n in range(5)}


def test_filters_are_respected_and_cutouts_optional(env: Env) -> None:
    make_project(env.catalog)
    for n in range(30):
        add_image_item(
            env.catalog,
            env.blobs,
            f"it_{n:02d}",
            b"img",
            attribute="skirt.flare" if n % 2 else "dress.wrap",
            cutout=b"png" if n % 3 == 0 else None,
        )
    export = export_now(env, ItemFilter(attribute="dress.wrap"), include_cutouts=True)

    assert export.status == "SUCCEEDED", export.error
    archive = open_zip(env, export.blob_key or "")
    rows = manifest(archive)
    assert {r["attribute"] for r in rows} == {"dress.wrap"} and len(rows) == 15
    cutouts = [n for n in archive.namelist() if n.startswith("cutouts/")]
    assert len(cutouts) == 5  # even ids divisible by 3: 0, 6, 12, 18, 24
    assert all(n.startswith("cutouts/dress.wrap/") and n.endswith(".png") for n in cutouts)
    assert export.counts.images == 20
    assert env.jobs.submitted[-1][1] == {"export_id": export.id, "include_cutouts": True}


class DeletingBlobs:
    """A blob store that deletes `victim` when `trigger` is first streamed (mid-export)."""

    def __init__(self, inner: Any, trigger: str, victim: str) -> None:
        self._inner: BlobStore = inner
        self._trigger, self._victim = trigger, victim

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def stream(self, key: str, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        if key == self._trigger:
            self._inner.delete(self._victim)
        return self._inner.stream(key, chunk_size=chunk_size)


def test_blob_deleted_mid_export_is_skipped(env: Env) -> None:
    make_project(env.catalog)
    items = [add_image_item(env.catalog, env.blobs, f"it_{n:03d}", b"img") for n in range(300)]
    # listing is newest first: the last created item streams first
    victim = items[10].blobs.raw or ""
    blobs = DeletingBlobs(env.blobs, items[-1].blobs.raw or "", victim)
    export = request_export(env.catalog, env.jobs, env.ids, env.clock, "pr_1", ItemFilter())
    export = run_export(env.catalog, blobs, env.clock, export.id)

    assert export.status == "SUCCEEDED"
    assert (export.counts.items, export.counts.images) == (300, 299)
    assert export.error is not None and "1 item(s) skipped" in export.error
    archive = open_zip(env, export.blob_key or "")
    assert archive.testzip() is None
    row = next(r for r in manifest(archive) if r["id"] == "it_010")
    assert row["file"] == "" and row["note"].startswith("skipped")
    summary = json.loads(archive.read("export.json"))
    assert summary["counts"]["skipped"] == 1 and summary["skipped_item_ids"] == ["it_010"]


class FailingBlobs:
    """A blob store whose stream of the `fail_on`-th blob breaks after half a chunk."""

    def __init__(self, inner: Any, fail_on: int) -> None:
        self._inner: BlobStore = inner
        self._fail_on, self.streamed = fail_on, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def stream(self, key: str, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        self.streamed += 1
        if self.streamed < self._fail_on:
            return self._inner.stream(key, chunk_size=chunk_size)
        return self._broken(key)

    def _broken(self, key: str) -> Iterator[bytes]:
        yield self._inner.get(key)[:3]
        raise ConnectionResetError("storage went away")


def test_failure_mid_stream_fails_the_export_and_leaves_no_zip(env: Env) -> None:
    make_project(env.catalog)
    for n in range(400):
        add_image_item(env.catalog, env.blobs, f"it_{n:03d}", bytes(range(256)) * 40)
    blobs = FailingBlobs(env.blobs, fail_on=300)
    export = request_export(env.catalog, env.jobs, env.ids, env.clock, "pr_1", ItemFilter())
    export = run_export(env.catalog, blobs, env.clock, export.id)

    assert export.status == "FAILED"
    assert export.error is not None and "storage went away" in export.error
    assert export.blob_key is None and export.finished_at is not None
    assert not env.blobs.exists(export_key("pr_1", export.id))
    assert list(env.blobs.list("exports/")) == []
    assert list((env.blobs.root / ".\x7fstudiolab" / "tmp").iterdir()) == []
    view = get_export_view(env.catalog, env.blobs, export.id, url_ttl_s=3600, clock=env.clock)
    assert view["status"] == "FAILED" and view["url"] is None and "storage" in view["error"]

    # a re-run (job retried) with healthy storage succeeds
    again = run_export(env.catalog, env.blobs, env.clock, export.id)
    assert again.status == "SUCCEEDED" and again.error is None and again.counts.images == 400


def test_rerun_of_a_succeeded_export_is_not_redone(env: Env) -> None:
    make_project(env.catalog)
    add_image_item(env.catalog, env.blobs, "it_1", b"img")
    export = export_now(env)
    etag = env.blobs.head(export.blob_key or "").etag
    add_image_item(env.catalog, env.blobs, "it_2", b"img2")
    again = run_export(env.catalog, env.blobs, env.clock, export.id)
    assert again == export
    assert env.blobs.head(export.blob_key or "").etag == etag


def test_view_has_a_signed_url_until_expiry(env: Env) -> None:
    make_project(env.catalog, name="Flare skirts / Zalando")
    add_image_item(env.catalog, env.blobs, "it_1", b"img")
    export = export_now(env)
    view = get_export_view(env.catalog, env.blobs, export.id, url_ttl_s=600, clock=env.clock)

    assert view["status"] == "SUCCEEDED" and view["size"] == export.counts.bytes
    assert view["counts"] == {"items": 1, "images": 1, "bytes": export.counts.bytes}
    query = parse_qs(urlsplit(view["url"]).query)
    assert any(f"Flare_skirts_Zalando-{export.id}.zip" in v[0] for v in query.values()), query
    assert view["url_expires_at"] == "2026-11-28T12:10:00+00:00"
    key, params = env.blobs.signer.parse_target(view["url"])
    assert key == export.blob_key
    env.blobs.signer.verify("get", key, params)

    env.clock.advance(8 * 24 * 3600)
    expired = get_export_view(env.catalog, env.blobs, export.id, url_ttl_s=600, clock=env.clock)
    assert expired["status"] == "EXPIRED" and expired["url"] is None


def test_request_for_a_missing_project_is_not_found(env: Env) -> None:
    with pytest.raises(NotFound):
        request_export(env.catalog, env.jobs, env.ids, env.clock, "pr_nope", ItemFilter())
    assert env.jobs.submitted == []


def test_export_topic_is_registered_locally() -> None:
    assert EXPORT_RUN == EXPORT_TOPIC and EXPORT_RUN in JOB_TOPICS
    assert EXPORT_RUN in local_job_handlers()


def test_local_export_job_runs_the_handler_file(env: Env) -> None:
    make_project(env.catalog)
    add_image_item(env.catalog, env.blobs, "it_1", b"img", cutout=b"png")
    export = request_export(
        env.catalog, env.jobs, env.ids, env.clock, "pr_1", ItemFilter(), include_cutouts=True
    )
    topic, payload = env.jobs.submitted[-1]
    context = AppContext(
        settings=Settings(),
        catalog=env.catalog,
        blobs=env.blobs,
        jobs=env.jobs,
        clock=env.clock,
        ids=env.ids,
        taxonomy=load_taxonomy(None),
    )
    install(context)
    try:
        result = local_job_handlers()[topic](payload)
    finally:
        install(None)
    assert result == {"export_id": export.id, "status": "SUCCEEDED", "error": None}
    assert env.catalog.get_export(export.id).counts.images == 2
