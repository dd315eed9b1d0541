"""The DownloadImage step: one image of a crawled product into the blob store under `raw/`
(which starts the image pipeline), with cross-run dedup.

An image URL stored before (services/crawl_memory.py's image records) is fetched with its
validators (304 = unchanged, nothing downloaded) or, without validators, not fetched at all;
a body whose content hash is already stored in the project is a duplicate, not stored twice.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Literal

from studiolab.crawl.fetch_errors import FetchError, OffsiteRedirect
from studiolab.crawl.fetch_types import Fetcher
from studiolab.crawl.urls import content_hash
from studiolab.domain.blobkeys import item_key
from studiolab.domain.ports import BlobStore, Catalog
from studiolab.services.crawl_memory import ImageRecord, load_image_record, save_image_record
from studiolab.services.crawl_state import ImageTask

log = logging.getLogger(__name__)

Outcome = Literal["saved", "duplicate", "unchanged", "failed", "skipped"]
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/pjpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/avif": "avif",
    "image/bmp": "bmp",
    "image/tiff": "tif",
    "image/heic": "heic",
    "image/heif": "heif",
}


def download_image(
    catalog: Catalog, blobs: BlobStore, fetcher: Fetcher, task: ImageTask
) -> dict[str, Any]:
    """{"outcome": Outcome, "key": raw blob key or None, "bytes": n[, "error": code]}"""
    known = load_image_record(blobs, task.project_id, task.url)
    if known is not None and not known.conditional:
        return _unchanged(catalog, task)  # same URL, no way to ask: stored is current
    try:
        result = fetcher.fetch(
            task.url,
            accept="image",
            etag=known.etag if known else None,
            last_modified=known.last_modified if known else None,
        )
    except FetchError as error:
        log.info("run %s: image %s", task.run_id, error)
        if isinstance(error, OffsiteRedirect):
            catalog.update_run(task.run_id, add={"redirects_refused": 1})
        return {"outcome": "failed", "key": None, "bytes": 0, "error": error.code}
    if result.not_modified:
        if known is None:  # a 304 nobody asked for: nothing to keep
            return {"outcome": "failed", "key": None, "bytes": 0, "error": "not_modified"}
        return _unchanged(catalog, task)
    digest = content_hash(result.body)
    record = ImageRecord("", digest, result.etag, result.last_modified)
    if known is not None and known.content == digest:
        save_image_record(blobs, task.project_id, task.url, replace(record, key=known.key))
        return _unchanged(catalog, task)
    marker = f"state/images/{task.project_id}/{digest}"
    if blobs.exists(marker):
        stored_key = blobs.get(marker).decode()
        save_image_record(blobs, task.project_id, task.url, replace(record, key=stored_key))
        return {"outcome": "duplicate", "key": None, "bytes": 0}
    extension = _EXTENSIONS.get(result.content_type or "", "img")
    key = item_key("raw", task.project_id, task.item_id, f"{task.n}.{extension}")
    blobs.put(key, result.body, content_type=result.content_type)
    blobs.put(marker, key.encode(), content_type="text/plain")
    save_image_record(blobs, task.project_id, task.url, replace(record, key=key))
    catalog.update_run(task.run_id, add={"images": 1, "bytes": len(result.body)})
    return {"outcome": "saved", "key": key, "bytes": len(result.body)}


def _unchanged(catalog: Catalog, task: ImageTask) -> dict[str, Any]:
    catalog.update_run(task.run_id, add={"images_unchanged": 1})
    return {"outcome": "unchanged", "key": None, "bytes": 0}
