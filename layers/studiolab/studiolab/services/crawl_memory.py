"""What earlier runs of a crawler learned, so that a new run skips what did not change.

Two records, both in the blob store beside the runs' persisted state (the same port the
frontier uses, so it works alike on S3 and on the local filesystem, and the catalog schema
is untouched):

- `state/crawlers/<crawler_id>/memory.json` — one `PageRecord` per product page that yielded
  an item: its ETag / Last-Modified (for a conditional GET), the Shopify `updated_at` it was
  listed with, the product it made and its image URL hashes. It is read once per run (cached
  by the engine for the run's lifetime) and replaced when a run ends (done or stopped), merged
  with what that run saw. A crawler has at most one open run, so there is no concurrent writer.
- `state/image-urls/<project_id>/<url_hash>` — one `ImageRecord` per stored image URL: the
  blob it went to, its content hash and validators. A changed product's images are fetched
  conditionally; an image URL stored without validators is not fetched again.

A page record is only kept when every image it listed is stored, so a failed image download
makes the next run fetch the page again and retry the image: nothing is silently skipped.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from studiolab.crawl.urls import url_hash
from studiolab.domain.errors import NotFound
from studiolab.domain.ports import BlobStore

log = logging.getLogger(__name__)

MEMORY_VERSION = 1
_MAX_VALIDATOR = 256  # a hostile server's 8 KB ETag is not worth remembering


def _short(url: str) -> str:
    return url_hash(url)[:16]


def _validator(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_VALIDATOR else None


@dataclass
class PageRecord:
    product: str  # short hash of the canonical product URL the page made an item for
    etag: str | None = None
    last_modified: str | None = None
    updated_at: str | None = None  # the Shopify products.json `updated_at` it was listed with
    images: list[str] = field(default_factory=list)  # short hashes of its image URLs

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"p": self.product}
        for key, value in (("e", self.etag), ("m", self.last_modified), ("u", self.updated_at)):
            if value:
                data[key] = value
        if self.images:
            data["i"] = self.images
        return data

    @classmethod
    def from_dict(cls, data: Any) -> PageRecord | None:
        if not isinstance(data, dict) or not isinstance(data.get("p"), str):
            return None
        images = data.get("i", [])
        return cls(
            product=data["p"],
            etag=_validator(data.get("e")),
            last_modified=_validator(data.get("m")),
            updated_at=_validator(data.get("u")),
            images=[i for i in images if isinstance(i, str)] if isinstance(images, list) else [],
        )

    @property
    def conditional(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass
class CrawlMemory:
    pages: dict[str, PageRecord] = field(default_factory=dict)  # page URL hash -> record

    def to_json(self) -> bytes:
        data = {
            "version": MEMORY_VERSION,
            "pages": {key: record.to_dict() for key, record in sorted(self.pages.items())},
        }
        return json.dumps(data, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> CrawlMemory:
        """A damaged memory is an empty one (the next run fetches everything): never fatal."""
        try:
            data = json.loads(raw)
            pages = data["pages"] if isinstance(data, dict) else None
        except (ValueError, KeyError):
            pages = None
        if not isinstance(pages, dict):
            log.warning("crawl memory unreadable: starting afresh")
            return cls()
        records = {key: PageRecord.from_dict(value) for key, value in pages.items()}
        return cls({key: record for key, record in records.items() if record is not None})


def memory_key(crawler_id: str) -> str:
    return f"state/crawlers/{crawler_id}/memory.json"


def load_memory(blobs: BlobStore, crawler_id: str) -> CrawlMemory:
    try:
        return CrawlMemory.from_json(blobs.get(memory_key(crawler_id)))
    except NotFound:
        return CrawlMemory()


def remember(
    blobs: BlobStore,
    crawler_id: str,
    project_id: str,
    previous: CrawlMemory,
    seen: dict[str, PageRecord],
) -> CrawlMemory:
    """The run's page records merged over the previous memory, and saved. A record whose
    images are not all stored is dropped (its page is fetched in full next time)."""
    stored = (
        stored_image_hashes(blobs, project_id) if any(r.images for r in seen.values()) else set()
    )
    pages = dict(previous.pages)
    for key, record in seen.items():
        if all(image in stored for image in record.images):
            pages[key] = record
        else:
            pages.pop(key, None)
    memory = CrawlMemory(pages)
    blobs.put(memory_key(crawler_id), memory.to_json(), content_type="application/json")
    return memory


# -- images -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRecord:
    key: str  # the raw blob the image went to (or the one it duplicates)
    content: str  # content hash
    etag: str | None = None
    last_modified: str | None = None

    @property
    def conditional(self) -> bool:
        return bool(self.etag or self.last_modified)


def image_prefix(project_id: str) -> str:
    return f"state/image-urls/{project_id}/"


def image_hash(url: str) -> str:
    return _short(url)


def load_image_record(blobs: BlobStore, project_id: str, url: str) -> ImageRecord | None:
    try:
        data = json.loads(blobs.get(image_prefix(project_id) + image_hash(url)))
    except (NotFound, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("key"), str):
        return None
    return ImageRecord(
        key=data["key"],
        content=str(data.get("content", "")),
        etag=_validator(data.get("etag")),
        last_modified=_validator(data.get("last_modified")),
    )


def save_image_record(blobs: BlobStore, project_id: str, url: str, record: ImageRecord) -> None:
    data = {
        "key": record.key,
        "content": record.content,
        "etag": _validator(record.etag),
        "last_modified": _validator(record.last_modified),
    }
    blobs.put(
        image_prefix(project_id) + image_hash(url),
        json.dumps(data, separators=(",", ":")).encode("utf-8"),
        content_type="application/json",
    )


def stored_image_hashes(blobs: BlobStore, project_id: str) -> set[str]:
    prefix = image_prefix(project_id)
    return {info.key[len(prefix) :] for info in blobs.list(prefix)}


def has_image(blobs: BlobStore, project_id: str, url: str) -> bool:
    return blobs.exists(image_prefix(project_id) + image_hash(url))
