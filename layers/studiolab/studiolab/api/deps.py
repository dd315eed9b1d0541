"""Services over the current context's ports, and domain -> reply model shaping, for the
Chalice handlers in functions/api/app.py."""

from __future__ import annotations

import json
import weakref
from typing import Any

from pydantic import TypeAdapter

from studiolab.api.models import (
    CrawlerOut,
    ExportIn,
    ItemOut,
    ItemUrlsOut,
    ProjectOut,
    RunOut,
)
from studiolab.domain.models import Item, Run
from studiolab.runtime.wiring import get_context, run_control
from studiolab.services import exports
from studiolab.services.crawlers import CrawlerService, CrawlerView
from studiolab.services.items import ItemService, ItemUrls
from studiolab.services.projects import ProjectService, ProjectView
from studiolab.services.uploads import UploadService


def token() -> str | None:
    secret = get_context().settings.token
    return secret.get_secret_value() if secret is not None else None


def cors_origins() -> frozenset[str]:
    return get_context().settings.cors_origin_set


def projects() -> ProjectService:
    c = get_context()
    return ProjectService(c.catalog, c.blobs, c.clock, c.ids, c.taxonomy)


def crawlers() -> CrawlerService:
    c = get_context()
    return CrawlerService(c.catalog, c.clock, c.ids)


def items() -> ItemService:
    c = get_context()
    return ItemService(c.catalog, c.blobs, c.clock, c.settings.signed_url_ttl_s)


def uploads() -> UploadService:
    c = get_context()
    return UploadService(c.catalog, c.blobs, c.clock, c.ids, c.settings.signed_url_ttl_s)


def request_export(project_id: str, body: ExportIn) -> dict[str, Any]:
    c = get_context()
    export = exports.request_export(
        c.catalog,
        c.jobs,
        c.ids,
        c.clock,
        project_id,
        body.item_filter(),
        near=body.near_filter(),
        include_cutouts=body.include_cutouts,
    )
    return export_view(export.id)


def export_view(export_id: str) -> dict[str, Any]:
    c = get_context()
    ttl = c.settings.signed_url_ttl_s
    return exports.get_export_view(c.catalog, c.blobs, export_id, url_ttl_s=ttl, clock=c.clock)


def list_exports(project_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    c = get_context()
    c.catalog.get_project(project_id)
    page = exports.list_exports(c.catalog, project_id, limit=limit, cursor=cursor)
    return {"items": [export_view(export.id) for export in page.items], "next": page.next}


def project_out(view: ProjectView) -> ProjectOut:
    return ProjectOut.model_validate(view.project.model_dump() | {"counts": view.counts})


def crawler_out(view: CrawlerView) -> CrawlerOut:
    return CrawlerOut.model_validate(view.crawler.model_dump() | {"counts": view.counts})


def run_out(run: Run) -> RunOut:
    progress = run_control().run_status(run)
    return RunOut.model_validate(
        run.model_dump()
        | {
            "elapsed_s": progress.elapsed_s,
            "items_per_min": progress.items_per_min,
            "remaining": progress.remaining,
            "eta_s": progress.eta_s,
        }
    )


def item_out(item: Item, urls: ItemUrls | None = None) -> ItemOut:
    data = item.model_dump()
    if urls is not None:
        data["urls"] = ItemUrlsOut.model_validate(urls, from_attributes=True)
        data["thumbnail_url"] = urls.thumbnail
    return ItemOut.model_validate(data)


def item_page_json(
    items: list[Item], next_cursor: str | None, thumbnails: list[str | None] | None = None
) -> str:
    """The `{"items": [...], "next": ...}` reply of an item listing as JSON (the hot path of
    GET .../items). The items were validated when the catalog loaded them, so they are
    serialized as they are: no per-item dump to dicts, re-validation or model construction.
    Each item's JSON is kept while the item object lives (the local catalog hands out the
    same validated object for an unchanged stored document, see _ItemJson), so a page of
    items served before is a join. Without `thumbnails` an item has no `urls` and no
    `thumbnail_url` key (both default to null in ItemOut); with them (?thumbnails=true: each
    item's signed URL, in order) every item carries `thumbnail_url`."""
    if thumbnails is None:
        dump = _ITEM_JSON.dump
        body = b"[" + b",".join([dump(item) for item in items]) + b"]"
    else:
        body = _ITEM_OUT_LIST.dump_json(
            [
                ItemOut.model_construct(**dict(item), urls=None, thumbnail_url=url)
                for item, url in zip(items, thumbnails, strict=True)
            ]
        )
    tail = "null" if next_cursor is None else json.dumps(next_cursor)
    return f'{{"items":{body.decode()},"next":{tail}}}'


class _ItemJson:
    """Item object -> its JSON (pydantic-core, as `TypeAdapter(list[Item])` writes each
    element), remembered while the object lives: entries are keyed by id() and hold a weak
    reference, whose callback drops the entry when the item is collected. Items are frozen
    (DomainModel; changes make a copy with `model_copy(update=...)`), so an object's JSON does
    not change while it lives."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.KeyedRef[int, Item], bytes]] = {}
        self._dump = TypeAdapter(Item).dump_json

    def dump(self, item: Item) -> bytes:
        key = id(item)
        entry = self._entries.get(key)
        if entry is not None and entry[0]() is item:
            return entry[1]
        data = self._dump(item)
        self._entries[key] = (weakref.KeyedRef(item, self._collected, key), data)
        return data

    def _collected(self, ref: weakref.KeyedRef[int, Item]) -> None:
        entry = self._entries.get(ref.key)
        if entry is not None and entry[0] is ref:  # not a newer object's entry
            self._entries.pop(ref.key, None)


_ITEM_JSON = _ItemJson()
_ITEM_OUT_LIST = TypeAdapter(list[ItemOut])
