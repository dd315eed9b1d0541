"""Deleting a project while an export of it is PENDING or RUNNING: 409 without ?force=true
(naming the exports); with it the exports are cancelled, the builds stop, and no zip is left
for the deleted project - whether the job runs after the delete, the delete lands mid-build,
or right after the zip was written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from studiolab.domain.blobkeys import item_key
from studiolab.domain.models import Item, ItemBlobs
from studiolab.domain.ports import BlobInfo
from studiolab.exports.builder import PAGE_SIZE
from studiolab.runtime.wiring import AppContext
from studiolab.services.exports import cancel_export, export_key, is_cancelled, run_export
from tests.api.conftest import Api, assert_error

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def stock(ctx: AppContext, pid: str, count: int) -> None:
    for index in range(count):
        iid = f"it_{index:04d}"
        raw = item_key("raw", pid, iid, "image.jpg")
        ctx.blobs.put(raw, b"jpeg-bytes-%d" % index)
        moment = NOW + timedelta(seconds=index)
        ctx.catalog.create_item(
            Item(
                id=iid,
                project_id=pid,
                blobs=ItemBlobs(raw=raw),
                created_at=moment,
                updated_at=moment,
            )
        )


def start_export(api: Api, pid: str) -> str:
    reply = api.post(f"/v1/projects/{pid}/exports", {})
    assert reply.status == 202 and reply.body["status"] == "PENDING"
    return str(reply.body["id"])


def leftovers(ctx: AppContext, pid: str) -> list[str]:
    return [info.key for info in ctx.blobs.list(f"exports/{pid}/")]


class Hooked:
    """The context's blob store, calling `hook` once: on the `at`-th stream() (a build
    reading images), or after put_stream() (the zip written, not yet SUCCEEDED)."""

    def __init__(self, inner: Any, hook: Any, *, at: int | None = None) -> None:
        self.inner, self.hook, self.at, self.streams = inner, hook, at, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def stream(self, key: str, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        self.streams += 1
        if self.streams == self.at:
            self.hook()
        return self.inner.stream(key, chunk_size=chunk_size)  # type: ignore[no-any-return]

    def put_stream(self, key: str, source: Any, **kwargs: Any) -> BlobInfo:
        info: BlobInfo = self.inner.put_stream(key, source, **kwargs)
        if self.at is None:
            self.hook()
        return info


def test_without_force_an_open_export_is_a_409_naming_it(api: Api, ctx: AppContext) -> None:
    pid = api.project()["id"]
    export_id = start_export(api, pid)
    error = assert_error(api.delete(f"/v1/projects/{pid}"), 409, "conflict")
    assert "force" in error["fields"] and "1 export(s)" in error["fields"]["exports"]
    assert api.get(f"/v1/exports/{export_id}").body["status"] == "PENDING"  # untouched


def test_force_then_the_pending_job_runs_builds_nothing(api: Api, ctx: AppContext) -> None:
    pid = api.project()["id"]
    stock(ctx, pid, 3)
    export_id = start_export(api, pid)
    assert api.delete(f"/v1/projects/{pid}?force=true").status == 204
    assert_error(api.get(f"/v1/exports/{export_id}"), 404)

    done = run_export(ctx.catalog, ctx.blobs, ctx.clock, export_id)  # the job, delivered late
    assert done.status == "FAILED" and is_cancelled(done)
    assert leftovers(ctx, pid) == []


def test_force_mid_build_stops_it_and_leaves_no_zip(api: Api, ctx: AppContext) -> None:
    pid = api.project()["id"]
    count = PAGE_SIZE + 50  # two catalog pages: the build checks in between
    stock(ctx, pid, count)
    export_id = start_export(api, pid)
    deleted: list[int] = []

    def delete_project() -> None:
        assert ctx.catalog.get_export(export_id).status == "RUNNING"
        deleted.append(api.delete(f"/v1/projects/{pid}?force=true").status)

    blobs = Hooked(ctx.blobs, delete_project, at=10)
    done = run_export(ctx.catalog, blobs, ctx.clock, export_id)
    assert deleted == [204]
    assert is_cancelled(done) and done.id == export_id
    assert blobs.streams <= PAGE_SIZE  # stopped at the next page, not after every item
    assert leftovers(ctx, pid) == [] and not ctx.blobs.exists(export_key(pid, export_id))
    assert_error(api.get(f"/v1/projects/{pid}"), 404)


def test_force_after_the_zip_was_written_deletes_it(api: Api, ctx: AppContext) -> None:
    pid = api.project()["id"]
    stock(ctx, pid, 3)
    export_id = start_export(api, pid)
    key = export_key(pid, export_id)
    seen: list[bool] = []

    def delete_project() -> None:
        seen.append(ctx.blobs.exists(key))  # written, while the export is still RUNNING
        assert api.delete(f"/v1/projects/{pid}?force=true").status == 204

    done = run_export(ctx.catalog, Hooked(ctx.blobs, delete_project), ctx.clock, export_id)
    assert seen == [True]
    assert done.status == "FAILED" and is_cancelled(done)
    assert not ctx.blobs.exists(key) and leftovers(ctx, pid) == []


def test_a_cancelled_export_is_never_rebuilt(api: Api, ctx: AppContext) -> None:
    pid = api.project()["id"]
    stock(ctx, pid, 2)
    export_id = start_export(api, pid)
    cancelled = cancel_export(ctx.catalog, ctx.clock, export_id, "testing")
    assert cancelled is not None and is_cancelled(cancelled)
    shown = api.get(f"/v1/exports/{export_id}").body
    assert shown["status"] == "FAILED" and shown["error"] == "cancelled: testing"
    assert shown["url"] is None

    again = run_export(ctx.catalog, ctx.blobs, ctx.clock, export_id)  # a re-delivered job
    assert again.status == "FAILED" and again.version == cancelled.version
    assert leftovers(ctx, pid) == []


def test_cancel_leaves_finished_exports_alone(api: Api, ctx: AppContext) -> None:
    pid = api.project()["id"]
    stock(ctx, pid, 2)
    export_id = start_export(api, pid)
    built = run_export(ctx.catalog, ctx.blobs, ctx.clock, export_id)
    assert built.status == "SUCCEEDED"
    assert cancel_export(ctx.catalog, ctx.clock, export_id, "late") == built
    assert ctx.blobs.exists(export_key(pid, export_id))
    assert cancel_export(ctx.catalog, ctx.clock, "ex_missing", "gone") is None
