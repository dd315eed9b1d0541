"""Shared set-up for the export tests: local adapters, a fake clock, items with blobs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from studiolab.adapters.local.fs_blobstore import FilesystemBlobStore
from studiolab.adapters.local.sqlite_catalog import SqliteCatalog
from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.adapters.local.url_signer import UrlSigner
from studiolab.domain.blobkeys import item_key
from studiolab.domain.models import Item, ItemBlobs, PaletteColor, PersonTags, Project
from studiolab.domain.ports import BlobStore, Catalog

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class SeqIds:
    def __init__(self) -> None:
        self._n = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._n):026d}"


@dataclass
class RecordingJobs:
    submitted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def submit(self, topic: str, payload: Any) -> str:
        self.submitted.append((topic, dict(payload)))
        return f"job-{len(self.submitted)}"


@dataclass
class Env:
    catalog: SqliteCatalog
    blobs: FilesystemBlobStore
    clock: FakeClock
    ids: SeqIds
    jobs: RecordingJobs
    database: SqliteDatabase


def make_env(tmp_path: Path) -> Iterator[Env]:
    database = SqliteDatabase(tmp_path / "catalog.sqlite")
    clock = FakeClock()
    blobs = FilesystemBlobStore(
        tmp_path / "blobs", UrlSigner(b"k" * 32, "http://127.0.0.1:1", clock)
    )
    env = Env(SqliteCatalog(database), blobs, clock, SeqIds(), RecordingJobs(), database)
    yield env
    database.close()


def make_project(
    catalog: Catalog, project_id: str = "pr_1", *, data_type: str = "image", name: str = "Flare"
) -> Project:
    return catalog.create_project(
        Project(
            id=project_id,
            name=name,
            shop="shop",
            attribute="skirt.flare",
            data_type=data_type,
            created_at=NOW,
            updated_at=NOW,
        )
    )


PALETTE = [
    PaletteColor(
        hex="#1e3cc8",
        rgb=(30, 60, 200),
        lab=(32.0, 40.0, -75.0),
        fraction=0.7,
        name="vivid blue",
        basic="Blue",
        delta_e=1.5,
    ),
    PaletteColor(
        hex="#c81e1e",
        rgb=(200, 30, 30),
        lab=(43.0, 65.0, 45.0),
        fraction=0.3,
        name='=HYPERLINK("x")',
        basic="Red",
        delta_e=2.0,
    ),
]


def add_image_item(
    catalog: Catalog,
    blobs: BlobStore,
    item_id: str,
    data: bytes,
    *,
    project_id: str = "pr_1",
    attribute: str | None = "skirt.flare",
    ext: str = "jpg",
    cutout: bytes | None = None,
    palette: bool = False,
    person: bool | None = None,
    blob_id: str | None = None,
) -> Item:
    raw = item_key("raw", project_id, blob_id or item_id, f"image.{ext}")
    blobs.put(raw, data)
    cutout_key = None
    if cutout is not None:
        cutout_key = item_key("cutout", project_id, blob_id or item_id, "cutout.png")
        blobs.put(cutout_key, cutout)
    return catalog.create_item(
        Item(
            id=item_id,
            project_id=project_id,
            attribute=attribute,
            source_url=f"https://shop.example/img/{item_id}.{ext}",
            blobs=ItemBlobs(raw=raw, cutout=cutout_key),
            state="done" if palette else "pending",
            palette=PALETTE if palette else [],
            person=None if person is None else PersonTags(present=person, confidence=0.9),
            created_at=NOW,
            updated_at=NOW,
        )
    )
