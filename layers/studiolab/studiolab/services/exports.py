"""Filtered zip exports of a project's items (ports only).

request_export -> PENDING + an "export.run" job; the job calls run_export, which streams
every matching item into `exports/<project>/<export>.zip` through BlobStore.put_stream
(memory bounded: see studiolab.exports.zipstream) and ends SUCCEEDED or FAILED.

Zip layout (image projects): images/<attribute>/<item-id>.<ext>, optionally
cutouts/<attribute>/<item-id>.png, then manifest.csv, manifest.jsonl and export.json (a
summary: counts, skipped items, filters). Text projects: items.csv, items.jsonl, export.json.
An item whose image was deleted meanwhile stays in the manifest with an empty `file` and a
`note`, is counted in export.json's `skipped`, and is mentioned in the export's `error` text
(a notice on a SUCCEEDED export); it never fails the export. Any other failure -> FAILED
with the reason, and the zip key is deleted: a half-written zip is never offered.

Cancellation (deleting a project with ?force=true while an export of it is PENDING or
RUNNING): `cancel_export` marks it FAILED with an error starting "cancelled:" (CANCELLED
below). A cancelled export is never rebuilt; a build in progress notices between catalog
pages, or at the latest when it would mark itself SUCCEEDED (a guarded update), and then
deletes its zip instead: no zip is left for a deleted project. A job whose export record
is gone returns without building (and without raising, so it is not retried).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from studiolab.domain.errors import ConcurrentUpdate, NotFound
from studiolab.domain.models import Export, ExportCounts, Item, ItemFilter
from studiolab.domain.models.export import NearFilter
from studiolab.domain.ports import BlobStore, Catalog, Clock, IdGenerator, Jobs, Page
from studiolab.exports.builder import ExportCancelled, ZipBuilder, filters_of
from studiolab.exports.zipstream import safe_segment, stream_into
from studiolab.services.items import NearColour

log = logging.getLogger(__name__)

EXPORT_TOPIC = "export.run"
CANCELLED = "cancelled: "  # the error prefix of a cancelled export
OPEN_EXPORT_STATUSES = ("PENDING", "RUNNING")
DEFAULT_RETENTION_S = 7 * 24 * 3600
MAX_ERROR_CHARS = 1000
UPDATE_ATTEMPTS = 5
DONE_STATUSES = ("SUCCEEDED", "EXPIRED")


def export_key(project_id: str, export_id: str) -> str:
    return f"exports/{project_id}/{export_id}.zip"


def request_export(
    catalog: Catalog,
    jobs: Jobs,
    ids: IdGenerator,
    clock: Clock,
    project_id: str,
    filters: ItemFilter,
    *,
    near: NearFilter | None = None,
    include_cutouts: bool = False,
) -> Export:
    """A PENDING export and its job. NotFound if the project does not exist. `near`: only
    the items with a palette colour that near (as the item listing's near + radius)."""
    catalog.get_project(project_id)
    export = catalog.create_export(
        Export(
            id=ids.new_id("ex"),
            project_id=project_id,
            filters=filters,
            near=near,
            created_at=clock.now(),
        )
    )
    payload: dict[str, Any] = {"export_id": export.id}
    if include_cutouts:
        payload["include_cutouts"] = True
    try:
        jobs.submit(EXPORT_TOPIC, payload)
    except Exception as error:
        _set(catalog, export.id, status="FAILED", error=f"could not queue: {error}", clock=clock)
        raise
    return export


def list_exports(
    catalog: Catalog, project_id: str, *, limit: int = 50, cursor: str | None = None
) -> Page[Export]:
    return catalog.list_exports(project_id, limit=limit, cursor=cursor)


def run_export(
    catalog: Catalog,
    blobs: BlobStore,
    clock: Clock,
    export_id: str,
    *,
    include_cutouts: bool = False,
    retention_s: int = DEFAULT_RETENTION_S,
) -> Export:
    """Build the zip. Idempotent: a SUCCEEDED (or EXPIRED) export is returned as it is; a
    PENDING, RUNNING (re-delivered job) or FAILED one is (re)built - unless cancelled (see
    the module doc). Never raises for a failed build: the export ends FAILED with the reason
    (retrying would not help)."""
    try:
        export = catalog.get_export(export_id)
    except NotFound:
        log.info("export %s is gone (its project was deleted?): nothing to build", export_id)
        return _gone(export_id, clock)
    if export.status in DONE_STATUSES or is_cancelled(export):
        return export
    key = export_key(export.project_id, export.id)
    try:
        export = _set(
            catalog, export_id, only_if=_buildable, status="RUNNING", error=None, finished_at=None
        )
    except (ExportCancelled, NotFound):  # cancelled, gone, or finished by a twin job
        return _latest(catalog, clock, export_id)
    try:
        project = catalog.get_project(export.project_id)
        builder = ZipBuilder(
            catalog,
            blobs,
            project,
            export,
            include_cutouts,
            still_wanted=lambda: _still_running(catalog, export_id),
            accept=_near_matcher(export.near),
        )
        info = stream_into(
            lambda source: blobs.put_stream(key, source, content_type="application/zip"),
            builder.write,
        )
        now = clock.now()
        stats = builder.stats
        notice = (
            f"{stats.skipped} item(s) skipped: their image was deleted during the export"
            if stats.skipped
            else None
        )
        return _set(
            catalog,
            export_id,
            only_if=("RUNNING",),
            status="SUCCEEDED",
            counts=ExportCounts(items=stats.items, images=stats.images, bytes=info.size),
            blob_key=key,
            error=notice,
            finished_at=now,
            expires_at=now + timedelta(seconds=retention_s),
        )
    except ExportCancelled as stopped:
        log.info("export %s stopped: %s", export_id, stopped)
        return _drop_zip_unless_succeeded(catalog, blobs, clock, export_id, key)
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
        try:
            failed = _set(
                catalog, export_id, only_if=_buildable, status="FAILED", error=reason, clock=clock
            )
        except (ExportCancelled, NotFound):  # cancelled meanwhile: that is why it broke
            log.info("export %s stopped: %s", export_id, reason)
            return _drop_zip_unless_succeeded(catalog, blobs, clock, export_id, key)
        log.error("export %s failed: %s", export_id, reason, exc_info=error)
        with suppress(Exception):
            blobs.delete(key)
        return failed


def _near_matcher(near: NearFilter | None) -> Callable[[Item], bool] | None:
    """The listing's near-colour test (ItemService.list), so both select the same items."""
    return None if near is None else NearColour(near.near, near.radius).matcher()


def cancel_export(catalog: Catalog, clock: Clock, export_id: str, why: str) -> Export | None:
    """Mark a PENDING or RUNNING export FAILED with error "cancelled: <why>" (a build in
    progress then stops and deletes its zip). Returns the export (unchanged when it was not
    open any more), or None when it is gone."""
    try:
        return _set(
            catalog,
            export_id,
            only_if=OPEN_EXPORT_STATUSES,
            status="FAILED",
            error=CANCELLED + why,
            clock=clock,
        )
    except ExportCancelled:
        return catalog.get_export(export_id)
    except NotFound:
        return None


def is_cancelled(export: Export) -> bool:
    return export.status == "FAILED" and (export.error or "").startswith(CANCELLED)


def _still_running(catalog: Catalog, export_id: str) -> bool:
    try:
        return catalog.get_export(export_id).status == "RUNNING"
    except NotFound:
        return False


def _drop_zip_unless_succeeded(
    catalog: Catalog, blobs: BlobStore, clock: Clock, export_id: str, key: str
) -> Export:
    """After a build stopped: delete its zip, unless a twin job (at-least-once delivery) has
    meanwhile made the export SUCCEEDED with that very key."""
    latest = _latest(catalog, clock, export_id)
    if latest.status not in DONE_STATUSES:
        with suppress(Exception):
            blobs.delete(key)
    return latest


def _latest(catalog: Catalog, clock: Clock, export_id: str) -> Export:
    try:
        return catalog.get_export(export_id)
    except NotFound:
        return _gone(export_id, clock)


def _gone(export_id: str, clock: Clock) -> Export:
    """A stand-in (never stored) for an export whose record no longer exists."""
    return Export(
        id=export_id,
        project_id="unknown",
        status="FAILED",
        error=CANCELLED + "the export no longer exists (its project was deleted)",
        created_at=clock.now(),
        finished_at=clock.now(),
    )


def get_export_view(
    catalog: Catalog,
    blobs: BlobStore,
    export_id: str,
    *,
    url_ttl_s: int,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """What GET /v1/exports/{id} shows: status, counts, size, error and, when SUCCEEDED, a
    signed URL (filename `<project-name>-<export-id>.zip`) valid for url_ttl_s seconds but
    never past the zip's expiry. A SUCCEEDED export past expires_at shows EXPIRED."""
    export = catalog.get_export(export_id)
    now = clock.now() if clock is not None else datetime.now(UTC)
    status = export.status
    if status == "SUCCEEDED" and export.expires_at is not None and export.expires_at <= now:
        status = "EXPIRED"
    view: dict[str, Any] = {
        "id": export.id,
        "project_id": export.project_id,
        "status": status,
        "filters": filters_of(export),
        "counts": export.counts.model_dump(mode="json"),
        "size": export.counts.bytes if status == "SUCCEEDED" else None,
        "error": export.error,
        "created_at": export.created_at.isoformat(),
        "finished_at": export.finished_at.isoformat() if export.finished_at else None,
        "expires_at": export.expires_at.isoformat() if export.expires_at else None,
        "url": None,
        "url_expires_at": None,
    }
    if status == "SUCCEEDED" and export.blob_key:
        ttl = url_ttl_s
        if export.expires_at is not None:  # never past the zip's own expiry
            ttl = max(1, min(ttl, int((export.expires_at - now).total_seconds())))
        project_name = _project_name(catalog, export.project_id)
        filename = f"{safe_segment(project_name, 'export')}-{export.id}.zip"
        view["url"] = blobs.signed_get_url(export.blob_key, expires_in=ttl, filename=filename)
        view["url_expires_at"] = (now + timedelta(seconds=ttl)).isoformat()
    return view


def _project_name(catalog: Catalog, project_id: str) -> str:
    try:
        return catalog.get_project(project_id).name
    except NotFound:
        return project_id


def _buildable(export: Export) -> bool:
    return export.status in ("PENDING", "RUNNING", "FAILED") and not is_cancelled(export)


def _set(
    catalog: Catalog,
    export_id: str,
    *,
    only_if: tuple[str, ...] | Callable[[Export], bool] | None = None,
    clock: Clock | None = None,
    **changes: Any,
) -> Export:
    """Apply `changes` to the stored export (optimistic; re-read on a concurrent update).
    With `clock` and no finished_at given, finished_at is now. `only_if`: the statuses (or a
    predicate) the stored export must be in, else ExportCancelled and nothing is written;
    NotFound if it is gone."""
    if clock is not None and "finished_at" not in changes:
        changes["finished_at"] = clock.now()
    for attempt in range(UPDATE_ATTEMPTS):
        current = catalog.get_export(export_id)
        if only_if is not None:
            allowed = only_if(current) if callable(only_if) else current.status in only_if
            if not allowed:
                raise ExportCancelled(f"export {export_id} is {current.status}: not changed")
        try:
            return catalog.update_export(current.model_copy(update=changes))
        except ConcurrentUpdate:
            if attempt == UPDATE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
