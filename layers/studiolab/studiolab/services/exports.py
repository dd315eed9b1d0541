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
"""

from __future__ import annotations

import itertools
import json
import logging
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from studiolab.domain.errors import ConcurrentUpdate, NotFound
from studiolab.domain.models import Export, ExportCounts, Item, ItemFilter, Project
from studiolab.domain.ports import BlobStore, Catalog, Clock, IdGenerator, Jobs, Page
from studiolab.exports.manifest import ItemRows
from studiolab.exports.zipstream import ZipStreamWriter, safe_extension, safe_segment, stream_into

log = logging.getLogger(__name__)

EXPORT_TOPIC = "export.run"
PAGE_SIZE = 200
READ_CHUNK = 256 * 1024
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
    include_cutouts: bool = False,
) -> Export:
    """A PENDING export and its job. NotFound if the project does not exist."""
    catalog.get_project(project_id)
    export = catalog.create_export(
        Export(id=ids.new_id("ex"), project_id=project_id, filters=filters, created_at=clock.now())
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
    PENDING, RUNNING (re-delivered job) or FAILED one is (re)built. Never raises for a
    failed build: the export ends FAILED with the reason (retrying would not help)."""
    export = catalog.get_export(export_id)
    if export.status in DONE_STATUSES:
        return export
    key = export_key(export.project_id, export.id)
    export = _set(catalog, export_id, status="RUNNING", error=None, finished_at=None)
    try:
        project = catalog.get_project(export.project_id)
        builder = _Builder(catalog, blobs, project, export, include_cutouts)
        info = stream_into(
            lambda source: blobs.put_stream(key, source, content_type="application/zip"),
            builder.write,
        )
    except Exception as error:
        log.exception("export %s failed", export_id)
        with suppress(Exception):
            blobs.delete(key)
        reason = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
        return _set(catalog, export_id, status="FAILED", error=reason, clock=clock)
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
        status="SUCCEEDED",
        counts=ExportCounts(items=stats.items, images=stats.images, bytes=info.size),
        blob_key=key,
        error=notice,
        finished_at=now,
        expires_at=now + timedelta(seconds=retention_s),
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
        "filters": export.filters.model_dump(mode="json", exclude_none=True),
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


def _set(catalog: Catalog, export_id: str, *, clock: Clock | None = None, **changes: Any) -> Export:
    """Apply `changes` to the stored export (optimistic; re-read on a concurrent update).
    With `clock` and no finished_at given, finished_at is now."""
    if clock is not None and "finished_at" not in changes:
        changes["finished_at"] = clock.now()
    for attempt in range(UPDATE_ATTEMPTS):
        current = catalog.get_export(export_id)
        try:
            return catalog.update_export(current.model_copy(update=changes))
        except ConcurrentUpdate:
            if attempt == UPDATE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class _Fetched:
    """A blob read ahead: its first chunks, then the rest of its stream (chunks None when
    there is no key, or when the blob is gone: missing)."""

    key: str | None = None
    chunks: Iterator[bytes] | None = None
    missing: bool = False


def _fetch(blobs: BlobStore, key: str | None) -> _Fetched:
    if key is None:
        return _Fetched()
    stream = blobs.stream(key, chunk_size=READ_CHUNK)
    try:
        first = next(stream, b"")
        second = next(stream, None)
    except NotFound:
        return _Fetched(key, missing=True)
    if second is None:
        return _Fetched(key, iter((first,)))
    return _Fetched(key, itertools.chain((first, second), stream))


def _resolved(
    entry: tuple[Item, Future[tuple[_Fetched, _Fetched]]],
) -> tuple[Item, _Fetched, _Fetched]:
    item, future = entry
    raw, cut = future.result()
    return item, raw, cut


@dataclass
class _Stats:
    items: int = 0
    images: int = 0
    skipped: int = 0
    skipped_ids: list[str] = field(default_factory=list)


class _Builder:
    """Writes one export's zip into a sink (the producer side of stream_into)."""

    MAX_LISTED_SKIPS = 100

    def __init__(
        self,
        catalog: Catalog,
        blobs: BlobStore,
        project: Project,
        export: Export,
        include_cutouts: bool,
    ) -> None:
        self.catalog = catalog
        self.blobs = blobs
        self.project = project
        self.export = export
        self.include_cutouts = include_cutouts
        self.stats = _Stats()

    def write(self, sink: IO[bytes]) -> None:
        text = self.project.data_type == "text"
        rows = ItemRows(text=text)
        zipped = ZipStreamWriter(sink, date_time=self.export.created_at)
        prefetch = self.blobs.read_ahead  # S3: overlap GETs; local files: read inline
        pool = (
            ThreadPoolExecutor(max_workers=prefetch, thread_name_prefix="export-read")
            if prefetch > 0
            else None
        )
        try:
            if text:
                for item in self._items():
                    self.stats.items += 1
                    rows.add(item)
            else:
                self._write_images(zipped, rows, pool, prefetch)
            csv_file, jsonl_file = rows.spool.finish()
            zipped.add_file(f"{rows.stem}.csv", csv_file)
            zipped.add_file(f"{rows.stem}.jsonl", jsonl_file)
            zipped.add_bytes("export.json", self._summary(rows.rows))
            zipped.close()
        except BaseException:
            zipped.abort()
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            rows.spool.close()

    def _write_images(
        self, zipped: ZipStreamWriter, rows: ItemRows, pool: Executor | None, prefetch: int
    ) -> None:
        """Blobs are read ahead by `prefetch` threads (S3 GETs are latency-bound), written in
        listing order by this thread. Memory: at most `prefetch` items' first two chunks are
        held. Without a pool (a store whose reads are local: no latency to hide, and thread
        hand-offs under the GIL would cost more than they save) each blob is read inline."""
        if pool is None:
            for item in self._items():
                self._add_images(zipped, rows, item, *self._fetch_item(item))
            return
        pending: deque[tuple[Item, Future[tuple[_Fetched, _Fetched]]]] = deque()
        for item in self._items():
            pending.append((item, pool.submit(self._fetch_item, item)))
            if len(pending) >= prefetch:
                self._add_images(zipped, rows, *_resolved(pending.popleft()))
        while pending:
            self._add_images(zipped, rows, *_resolved(pending.popleft()))

    def _fetch_item(self, item: Item) -> tuple[_Fetched, _Fetched]:
        raw = _fetch(self.blobs, item.blobs.raw)
        if not self.include_cutouts or raw.missing or raw.chunks is None:
            return raw, _Fetched()
        return raw, _fetch(self.blobs, item.blobs.cutout)

    def _items(self) -> Any:
        cursor: str | None = None
        while True:
            page = self.catalog.list_items(
                self.project.id, filters=self.export.filters, limit=PAGE_SIZE, cursor=cursor
            )
            yield from page.items
            if page.next is None:
                return
            cursor = page.next

    def _add_images(
        self, zipped: ZipStreamWriter, rows: ItemRows, item: Item, raw: _Fetched, cut: _Fetched
    ) -> None:
        self.stats.items += 1
        attribute = safe_segment(item.attribute or self.project.attribute, "unknown")
        item_name = safe_segment(item.id, "item")
        extension = safe_extension(item.blobs.raw)
        file = self._add_blob(zipped, raw, f"images/{attribute}/{item_name}.{extension}")
        note = None
        if item.blobs.raw is None:
            note = "no image"
        elif file is None:
            note = "skipped: image deleted during the export"
            self.stats.skipped += 1
            if len(self.stats.skipped_ids) < self.MAX_LISTED_SKIPS:
                self.stats.skipped_ids.append(item.id)
        cutout = None
        if file is not None:
            cutout = self._add_blob(zipped, cut, f"cutouts/{attribute}/{item_name}.png")
        rows.add(item, file=file, cutout_file=cutout, note=note)

    def _add_blob(self, zipped: ZipStreamWriter, fetched: _Fetched, name: str) -> str | None:
        """The entry's name, or None when there is no blob (or it was deleted meanwhile)."""
        if fetched.chunks is None or fetched.key is None:
            if fetched.missing:
                log.info("export %s: blob %s is gone, skipped", self.export.id, fetched.key)
            return None
        key = fetched.key
        final, _ = zipped.add_chunks(
            name, fetched.chunks, size_of=lambda: self.blobs.head(key).size
        )
        self.stats.images += 1
        return final

    def _summary(self, rows: int) -> bytes:
        summary: Mapping[str, Any] = {
            "export_id": self.export.id,
            "project": {"id": self.project.id, "name": self.project.name},
            "data_type": self.project.data_type,
            "filters": self.export.filters.model_dump(mode="json", exclude_none=True),
            "created_at": self.export.created_at.isoformat(),
            "counts": {
                "items": self.stats.items,
                "images": self.stats.images,
                "skipped": self.stats.skipped,
                "manifest_rows": rows,
            },
            "skipped_item_ids": self.stats.skipped_ids,
        }
        return json.dumps(summary, indent=2).encode()
