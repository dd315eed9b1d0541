"""Browse and delete items - over ports only.

Listing: the catalog applies ItemFilter; "near colour" (a hex colour and a CIEDE2000 radius:
an item matches when any palette colour is within the radius) is applied here, after the
catalog, so a filtered page is filled by reading further catalog pages, up to SCAN_BUDGET
items per request. A page may therefore hold fewer than `limit` items and still have a `next`
cursor when the scan budget ran out: follow `next` until it is null.

Bulk delete: deletes at most `limit` (<= BULK_LIMIT) matching items per request and returns
how many it deleted and a `next` cursor (null when the whole project was scanned); call again
with that cursor until `next` is null. Cursors are catalog positions, so they stay valid while
items before them are deleted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from studiolab.domain.blobkeys import item_prefix
from studiolab.domain.errors import NotFound
from studiolab.domain.models import Item, ItemFilter
from studiolab.domain.ports import BlobStore, Catalog, Clock, Page

SCAN_BUDGET = 5000
BULK_LIMIT = 500
ITEM_STAGES = ("raw", "uploads", "cutout", "thumb", "masks")
Urls = list[str | None]  # (ItemService.list shadows the builtin in its class body)


@dataclass(frozen=True)
class NearColour:
    hex: str  # "#rrggbb" or "rrggbb"
    radius: float  # CIEDE2000

    def lab(self) -> tuple[float, float, float]:
        import numpy as np

        from studiolab.vision.naming import srgb_to_lab

        value = self.hex.lstrip("#")
        rgb = np.array([[int(value[i : i + 2], 16) for i in (0, 2, 4)]], dtype=np.uint8)
        lab = srgb_to_lab(rgb)[0]
        return float(lab[0]), float(lab[1]), float(lab[2])

    def matcher(self) -> _NearMatcher:
        return _NearMatcher(self.lab(), self.radius)


@dataclass(frozen=True)
class _NearMatcher:
    lab: tuple[float, float, float]
    radius: float

    def __call__(self, item: Item) -> bool:
        if not item.palette:
            return False
        from studiolab.vision.naming import delta_e00

        distances = delta_e00([color.lab for color in item.palette], [self.lab])
        return bool((distances <= self.radius).any())


@dataclass(frozen=True)
class ItemUrls:
    raw: str | None
    cutout: str | None
    thumbnail: str | None
    masks: list[str]
    overview: str | None
    expires_at: datetime


@dataclass(frozen=True)
class BulkDeleteResult:
    deleted: int
    next: str | None


@dataclass(frozen=True)
class ItemService:
    catalog: Catalog
    blobs: BlobStore
    clock: Clock
    url_ttl_s: int

    def list(
        self,
        project_id: str,
        *,
        filters: ItemFilter,
        near: NearColour | None = None,
        limit: int,
        cursor: str | None,
    ) -> Page[Item]:
        self.catalog.get_project(project_id)
        if near is None:
            return self.catalog.list_items(project_id, filters=filters, limit=limit, cursor=cursor)
        match = near.matcher()
        found: list[Item] = []
        scanned = 0
        while True:
            want = limit - len(found)
            page = self.catalog.list_items(project_id, filters=filters, limit=want, cursor=cursor)
            scanned += len(page.items)
            found.extend(item for item in page.items if match(item))
            cursor = page.next
            if cursor is None or len(found) >= limit or scanned >= SCAN_BUDGET:
                return Page(found, cursor)

    def get(self, item_id: str) -> tuple[Item, ItemUrls]:
        item = self.catalog.get_item(item_id)
        return item, self.urls(item)

    def urls(self, item: Item) -> ItemUrls:
        ttl = self.url_ttl_s

        def sign(key: str | None) -> str | None:
            return self.blobs.signed_get_url(key, expires_in=ttl) if key else None

        blobs = item.blobs
        return ItemUrls(
            raw=sign(blobs.raw),
            cutout=sign(blobs.cutout),
            thumbnail=sign(blobs.thumbnail),
            masks=[self.blobs.signed_get_url(key, expires_in=ttl) for key in blobs.masks],
            overview=sign(blobs.overview),
            expires_at=_after(self.clock.now(), ttl),
        )

    def thumbnail_urls(self, items: Sequence[Item]) -> Urls:
        """Each item's signed thumbnail GET URL (the usual TTL), or None when it has none."""
        ttl = self.url_ttl_s
        sign = self.blobs.signed_get_url
        return [
            sign(item.blobs.thumbnail, expires_in=ttl) if item.blobs.thumbnail else None
            for item in items
        ]

    def delete(self, item_id: str) -> None:
        """The item record, then every blob of it (NotFound if there is no such item)."""
        item = self.catalog.get_item(item_id)
        self._delete(item)

    def bulk_delete(
        self,
        project_id: str,
        *,
        filters: ItemFilter,
        near: NearColour | None = None,
        limit: int = BULK_LIMIT,
        cursor: str | None = None,
    ) -> BulkDeleteResult:
        limit = max(1, min(limit, BULK_LIMIT))
        page = self.list(project_id, filters=filters, near=near, limit=limit, cursor=cursor)
        deleted = 0
        for item in page.items:
            try:
                self._delete(item)
            except NotFound:
                continue  # deleted meanwhile
            deleted += 1
        return BulkDeleteResult(deleted, page.next)

    def _delete(self, item: Item) -> None:
        self.catalog.delete_item(item.id)
        for stage in ITEM_STAGES:
            self.blobs.delete_prefix(item_prefix(stage, item.project_id, item.id))


def _after(now: datetime, seconds: int) -> datetime:
    from datetime import timedelta

    return now + timedelta(seconds=seconds)
