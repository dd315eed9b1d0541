"""Uploads: a signed PUT URL for one image; the write to raw/<project>/<item>/<name> emits the
same object-created event as a crawled image, so the image pipeline processes it.

The item is created `pending` before the upload; if nothing is ever PUT it stays pending
(delete it like any other item)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from studiolab.domain.blobkeys import item_key
from studiolab.domain.errors import InvalidInput, Unprocessable
from studiolab.domain.models import Item
from studiolab.domain.ports import BlobStore, Catalog, Clock, IdGenerator

CONTENT_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tiff",
}
MAX_NAME = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Upload:
    item: Item
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime
    key: str


def safe_filename(filename: str, content_type: str) -> str:
    """A blob-key-safe file name: the base name only, ASCII letters, digits, '.', '_', '-';
    the extension forced to match the content type."""
    base = PurePosixPath(filename.replace("\\", "/")).name
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    stem = _UNSAFE.sub("_", PurePosixPath(ascii_name).stem).strip("._-")[:MAX_NAME] or "upload"
    return stem + CONTENT_TYPES[content_type]


@dataclass(frozen=True)
class UploadService:
    catalog: Catalog
    blobs: BlobStore
    clock: Clock
    ids: IdGenerator
    url_ttl_s: int

    def create_upload(self, project_id: str, filename: str, content_type: str) -> Upload:
        content_type = content_type.strip().lower()
        if content_type not in CONTENT_TYPES:
            raise InvalidInput(
                f"unsupported content type {content_type!r}",
                fields={"content_type": f"one of {sorted(CONTENT_TYPES)}"},
            )
        project = self.catalog.get_project(project_id)
        if project.data_type != "image":
            raise Unprocessable(
                f"project {project_id} holds {project.data_type} data; uploads are images",
                fields={"project_id": "not an image project"},
            )
        now = self.clock.now()
        item = Item(
            id=self.ids.new_id("it"),
            project_id=project.id,
            kind="image",
            attribute=project.attribute,
            created_at=now,
            updated_at=now,
        )
        key = item_key("raw", project.id, item.id, safe_filename(filename, content_type))
        item = self.catalog.create_item(item)
        url = self.blobs.signed_put_url(key, expires_in=self.url_ttl_s, content_type=content_type)
        return create_upload_reply(item, url, content_type, now, self.url_ttl_s, key)


def create_upload_reply(
    item: Item, url: str, content_type: str, now: datetime, ttl: int, key: str
) -> Upload:
    return Upload(
        item=item,
        url=url,
        method="PUT",
        headers={"Content-Type": content_type},
        expires_at=now + timedelta(seconds=ttl),
        key=key,
    )
