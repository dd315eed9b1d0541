"""Writing one export's zip: items paged from the catalog (with the export's filters), their
blobs streamed into a ZipStreamWriter in listing order, then the manifests and a summary.
Used by studiolab.services.exports.run_export (the producer side of stream_into).

With `accept` (the export's near colour) only the listed items it accepts are exported: the
catalog's filters, then `accept` - exactly what ItemService.list returns for the same filters
and near colour when its pages are followed to the end.

Between catalog pages the builder asks `still_wanted()`; when it says no (the export was
cancelled, e.g. its project is being deleted) the build stops with ExportCancelled."""

from __future__ import annotations

import itertools
import json
import logging
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

from studiolab.domain.errors import NotFound
from studiolab.domain.models import Export, Item, Project
from studiolab.domain.ports import BlobStore, Catalog
from studiolab.exports.manifest import ItemRows
from studiolab.exports.zipstream import ZipStreamWriter, safe_extension, safe_segment

log = logging.getLogger(__name__)

PAGE_SIZE = 200
READ_CHUNK = 256 * 1024


def filters_of(export: Export) -> dict[str, Any]:
    """The export's filters as the API shows them: the item filters, plus near + radius."""
    shown = export.filters.model_dump(mode="json", exclude_none=True)
    if export.near is not None:
        shown |= export.near.model_dump(mode="json")
    return shown


class ExportCancelled(Exception):
    """The export was cancelled (or deleted) while it was being built."""


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


class ZipBuilder:
    """Writes one export's zip into a sink (the producer side of stream_into)."""

    MAX_LISTED_SKIPS = 100

    def __init__(
        self,
        catalog: Catalog,
        blobs: BlobStore,
        project: Project,
        export: Export,
        include_cutouts: bool,
        still_wanted: Callable[[], bool] = lambda: True,
        accept: Callable[[Item], bool] | None = None,
    ) -> None:
        self.catalog = catalog
        self.blobs = blobs
        self.project = project
        self.export = export
        self.include_cutouts = include_cutouts
        self.still_wanted = still_wanted
        self.accept = accept
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

    def _items(self) -> Iterator[Item]:
        cursor: str | None = None
        while True:
            if not self.still_wanted():
                raise ExportCancelled(f"export {self.export.id} was cancelled")
            page = self.catalog.list_items(
                self.project.id, filters=self.export.filters, limit=PAGE_SIZE, cursor=cursor
            )
            if self.accept is None:
                yield from page.items
            else:
                yield from filter(self.accept, page.items)
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
            "filters": filters_of(self.export),
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
